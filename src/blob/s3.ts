/**
 * Blobs in any S3-compatible service (`BLOB=s3`: AWS S3, MinIO, Ceph, S3Proxy, ...) through
 * the minio client. Uploads and downloads go to presigned URLs (SigV4), so file bytes never
 * pass through the shard; the shard itself reads and writes only what it processes.
 * The minio client is used through the few calls below (S3Calls), so the rest of the module
 * does not depend on its full surface.
 */
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import type { BlobInfo, BlobStore, PresignedGetOptions } from './index';
import { attachmentDisposition } from './disposition';
import { BlobNotFoundError, checkExpiry, checkKey } from './keys';

export interface S3BlobStoreOptions {
  /** e.g. http://127.0.0.1:9000 or https://s3.eu-west-1.amazonaws.com; no path (the client cannot use one). */
  endpoint: string;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  /** Path-style URLs (endpoint/bucket/key): what most self-hosted services need. */
  pathStyle: boolean;
}

/** The minio calls this engine makes. */
export interface S3Calls {
  bucketExists(bucket: string): Promise<boolean>;
  makeBucket(bucket: string, region?: string): Promise<void>;
  presignedPutObject(bucket: string, key: string, expires?: number): Promise<string>;
  presignedGetObject(bucket: string, key: string, expires?: number, respHeaders?: Record<string, string>): Promise<string>;
  statObject(bucket: string, key: string): Promise<{ size: number; metaData: Record<string, unknown> }>;
  getObject(bucket: string, key: string): Promise<Readable>;
  putObject(bucket: string, key: string, data: Buffer, size?: number, meta?: Record<string, string>): Promise<unknown>;
  removeObject(bucket: string, key: string): Promise<void>;
}

export class S3BlobStore implements BlobStore {
  private constructor(
    private readonly s3: S3Calls,
    private readonly bucket: string,
  ) {}

  /** Connects and creates the bucket when it is missing. */
  static async open(opts: S3BlobStoreOptions): Promise<S3BlobStore> {
    const url = new URL(opts.endpoint);
    // The minio client takes a host and port only: a path would be dropped silently and every
    // request would go elsewhere than configured.
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      throw new RangeError(`S3 endpoint must have no path, query or fragment: ${JSON.stringify(opts.endpoint)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`S3 endpoint must be http or https: ${JSON.stringify(opts.endpoint)}`);
    const useSSL = url.protocol === 'https:';
    const client: S3Calls = new Client({
      endPoint: url.hostname,
      port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port),
      useSSL,
      region: opts.region,
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      pathStyle: opts.pathStyle,
    });
    if (!(await client.bucketExists(opts.bucket))) {
      try {
        await client.makeBucket(opts.bucket, opts.region);
      } catch (err) {
        // Another shard created it between the two calls.
        if (!(await client.bucketExists(opts.bucket))) throw err;
      }
    }
    return new S3BlobStore(client, opts.bucket);
  }

  async presignPut(key: string, expiresInSeconds: number): Promise<string> {
    checkKey(key);
    return this.s3.presignedPutObject(this.bucket, key, checkExpiry(expiresInSeconds));
  }

  async presignGet(key: string, expiresInSeconds: number, opts: PresignedGetOptions = {}): Promise<string> {
    checkKey(key);
    const headers: Record<string, string> = {};
    if (opts.filename !== undefined) headers['response-content-disposition'] = attachmentDisposition(opts.filename);
    return this.s3.presignedGetObject(this.bucket, key, checkExpiry(expiresInSeconds), headers);
  }

  async stat(key: string): Promise<BlobInfo | null> {
    checkKey(key);
    try {
      const s = await this.s3.statObject(this.bucket, key);
      const type = s.metaData['content-type'];
      return { size: s.size, contentType: typeof type === 'string' ? type : 'application/octet-stream' };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(key: string): Promise<Readable> {
    checkKey(key);
    try {
      return await this.s3.getObject(this.bucket, key);
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(`no blob ${key}`);
      throw err;
    }
  }

  async write(key: string, data: Buffer, contentType: string): Promise<void> {
    checkKey(key);
    await this.s3.putObject(this.bucket, key, data, data.length, { 'Content-Type': contentType });
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.s3.removeObject(this.bucket, key); // S3 answers a missing key with success
  }

  async close(): Promise<void> {}
}

function isNotFound(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 'NotFound' || code === 'NoSuchKey';
}

/**
 * Whether an S3 error means the service cannot answer now (it asks to slow down, is
 * unavailable, or timed out): `unavailable` with a retry hint for the client, not a bug.
 */
export function isS3Outage(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && s3OutageCodes.has(code);
}

const s3OutageCodes = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'RequestTimeTooSkewed', 'OperationAborted']);

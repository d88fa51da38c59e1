/**
 * Blobs as files under one directory (`BLOB=local`, the embedded default), with presigned
 * URLs the shard serves itself at `/blobs/<key>`. A URL is signed with an HMAC over the
 * method, the key, the expiry and the offered file name, so it grants exactly that; it
 * carries no user token. Objects are written to a temporary file and renamed into place,
 * so a reader sees a whole object or none.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobInfo, BlobStore, PresignedGetOptions } from './index';
import { BlobNotFoundError, checkExpiry, checkKey } from './keys';

export interface LocalBlobStoreOptions {
  /** Root directory (DATA_DIR/blobs). */
  dir: string;
  /** HMAC key of the URLs: at least 32 bytes, kept secret by the shard. */
  secret: Buffer;
  /** How clients reach this shard, e.g. http://localhost:8080 (no trailing slash). */
  publicUrl: string;
  /** Largest body a presigned PUT accepts; more is answered 413 and nothing is stored. */
  maxPutBytes: number;
}

/** Path prefix of the URLs this engine serves. */
export const blobPathPrefix = '/blobs/';
const defaultType = 'application/octet-stream';

export class LocalBlobStore implements BlobStore {
  private readonly objects: string;
  private readonly types: string;
  private readonly tmp: string;

  constructor(private readonly opts: LocalBlobStoreOptions) {
    if (opts.secret.length < 32) throw new RangeError('blob URL secret must be at least 32 bytes');
    this.objects = join(opts.dir, 'objects');
    this.types = join(opts.dir, 'types');
    this.tmp = join(opts.dir, 'tmp');
  }

  async presignPut(key: string, expiresInSeconds: number): Promise<string> {
    return this.sign('PUT', key, expiresInSeconds, undefined);
  }

  async presignGet(key: string, expiresInSeconds: number, opts: PresignedGetOptions = {}): Promise<string> {
    return this.sign('GET', key, expiresInSeconds, opts.filename);
  }

  async stat(key: string): Promise<BlobInfo | null> {
    checkKey(key);
    try {
      const s = await stat(join(this.objects, key));
      if (!s.isFile()) return null;
      return { size: s.size, contentType: await this.typeOf(key) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(key: string): Promise<Readable> {
    checkKey(key);
    const stream = createReadStream(join(this.objects, key));
    // Open errors surface here rather than on the first read of the caller's pipeline.
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (err) => reject(isNotFound(err) ? new BlobNotFoundError(`no blob ${key}`) : err));
    });
    return stream;
  }

  async write(key: string, data: Buffer, contentType: string): Promise<void> {
    checkKey(key);
    const temp = await this.tempFile();
    await writeFile(temp, data);
    await this.publish(key, temp, contentType);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await rm(join(this.objects, key), { force: true });
    await rm(join(this.types, key), { force: true });
  }

  async close(): Promise<void> {}

  /**
   * Serves a presigned URL when the request's path is under /blobs/; returns false for any
   * other path. Mounted by the server in front of the REST API (bodies are streamed here,
   * never parsed as JSON).
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://local');
    if (!url.pathname.startsWith(blobPathPrefix)) return false;
    void this.serve(req, res, url).catch((err: unknown) => {
      if (!res.headersSent) answer(res, 500, 'internal', 'blob request failed');
      else res.destroy(err instanceof Error ? err : undefined);
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const key = decodeURIComponent(url.pathname.slice(blobPathPrefix.length));
    const method = req.method === 'PUT' ? 'PUT' : req.method === 'GET' ? 'GET' : null;
    const expires = Number(url.searchParams.get('expires'));
    const name = url.searchParams.get('name') ?? undefined;
    const sig = url.searchParams.get('sig') ?? '';
    if (method === null) return answer(res, 405, 'bad_request', 'only GET and PUT');
    try {
      checkKey(key);
    } catch {
      return answer(res, 403, 'forbidden', 'invalid signature');
    }
    if (!Number.isSafeInteger(expires) || !this.verify(method, key, expires, name, sig)) return answer(res, 403, 'forbidden', 'invalid signature');
    if (expires * 1000 < Date.now()) return answer(res, 403, 'forbidden', 'URL expired');
    if (method === 'PUT') return this.receive(req, res, key);
    return this.send(res, key, name);
  }

  private async receive(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.opts.maxPutBytes) {
      req.resume();
      return answer(res, 413, 'too_large', `at most ${this.opts.maxPutBytes} bytes`);
    }
    const temp = await this.tempFile();
    let received = 0;
    // Past the limit, the rest of the body is read and dropped (not an error: an error would
    // destroy the socket before the 413 could be sent).
    const cap = new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        received += chunk.length;
        done(null, received > this.opts.maxPutBytes ? undefined : chunk);
      },
    });
    try {
      await pipeline(req, cap, createWriteStream(temp));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    if (received > this.opts.maxPutBytes) {
      await rm(temp, { force: true });
      return answer(res, 413, 'too_large', `at most ${this.opts.maxPutBytes} bytes`);
    }
    await this.publish(key, temp, headerType(req.headers['content-type']));
    res.writeHead(200, { 'content-length': '0' }).end();
  }

  private async send(res: ServerResponse, key: string, name: string | undefined): Promise<void> {
    const info = await this.stat(key);
    if (info === null) return answer(res, 404, 'not_found', 'no such object');
    const headers: Record<string, string> = {
      'content-type': info.contentType,
      'content-length': String(info.size),
      'cache-control': 'private, max-age=300',
      'x-content-type-options': 'nosniff',
    };
    if (name !== undefined) headers['content-disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(name)}`;
    res.writeHead(200, headers);
    await pipeline(createReadStream(join(this.objects, key)), res);
  }

  private sign(method: 'GET' | 'PUT', key: string, expiresInSeconds: number, name: string | undefined): string {
    checkKey(key);
    const expires = Math.floor(Date.now() / 1000) + checkExpiry(expiresInSeconds);
    const query = new URLSearchParams({ expires: String(expires) });
    if (name !== undefined) query.set('name', name);
    query.set('sig', this.mac(method, key, expires, name));
    return `${this.opts.publicUrl}${blobPathPrefix}${key}?${query.toString()}`;
  }

  private mac(method: string, key: string, expires: number, name: string | undefined): string {
    // The name is signed too (a changed name would otherwise pass), with a marker for "none".
    return createHmac('sha256', this.opts.secret).update(`${method}\n${key}\n${expires}\n${name === undefined ? '-' : '+' + name}`).digest('base64url');
  }

  private verify(method: string, key: string, expires: number, name: string | undefined, sig: string): boolean {
    const want = Buffer.from(this.mac(method, key, expires, name));
    const got = Buffer.from(sig);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private async typeOf(key: string): Promise<string> {
    try {
      return (await readFile(join(this.types, key), 'utf8')) || defaultType;
    } catch (err) {
      if (isNotFound(err)) return defaultType;
      throw err;
    }
  }

  private async tempFile(): Promise<string> {
    await mkdir(this.tmp, { recursive: true });
    return join(this.tmp, randomBytes(12).toString('hex'));
  }

  /** Moves a finished temp file into place: its type first, so a visible object has one. */
  private async publish(key: string, temp: string, contentType: string): Promise<void> {
    const object = join(this.objects, key);
    const type = join(this.types, key);
    await mkdir(dirname(object), { recursive: true });
    await mkdir(dirname(type), { recursive: true });
    const typeTemp = await this.tempFile();
    await writeFile(typeTemp, contentType);
    await rename(typeTemp, type);
    await rename(temp, object);
  }
}

function headerType(value: string | undefined): string {
  // A header value is one line of visible ASCII; anything else is stored as the default.
  return value !== undefined && /^[\x20-\x7e]{1,200}$/.test(value) ? value : defaultType;
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ENOTDIR');
}

function answer(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }).end(body);
}

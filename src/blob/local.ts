/**
 * Blobs as files under one directory (`BLOB=local`, the embedded default), with presigned
 * URLs the shard serves itself at `/blobs/<key>`. A URL is signed with an HMAC over the
 * method, the key, the expiry and the offered file name, so it grants exactly that; it
 * carries no user token.
 *
 * One file per object in one flat directory (`/` in the key becomes `~`, outside the key
 * alphabet, so `p/q` and `p/q/r` coexist and no key names a directory). The file is a first
 * line with the content type, then the bytes. It is written to a temporary file and published
 * by one rename, so a reader sees one whole PUT (bytes and type together) or none; stat, read
 * and GET each work from one open file descriptor, so a concurrent replace cannot mix two.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { attachmentDisposition, isInlineSafe } from './disposition';
import type { BlobInfo, BlobStore, PresignedGetOptions } from './index';
import { BlobNotFoundError, checkExpiry, checkKey } from './keys';

export interface LocalBlobStoreOptions {
  /** Root directory (DATA_DIR/blobs). */
  dir: string;
  /** HMAC key of the URLs: at least 32 bytes, kept secret by the shard. */
  secret: Buffer;
  /**
   * How clients reach this shard, e.g. http://localhost:8080 (no trailing slash); a function
   * when it is known only once the server listens (port 0).
   */
  publicUrl: string | (() => string);
  /** Largest body a presigned PUT accepts; more is answered 413 and nothing is stored. */
  maxPutBytes: number;
}

/** Path prefix of the URLs this engine serves. */
export const blobPathPrefix = '/blobs/';
const defaultType = 'application/octet-stream';
/** The type line is at most 200 visible ASCII characters (headerType) plus its newline. */
const maxTypeLine = 201;
/** Sent with every object: even a type on the inline list must not run anything on our origin. */
const objectCsp = "sandbox; default-src 'none'";

/** An object opened once: everything about it comes from this descriptor. */
interface OpenObject {
  file: FileHandle;
  contentType: string;
  /** Where the bytes start (after the type line). */
  offset: number;
  size: number;
}

export class LocalBlobStore implements BlobStore {
  private readonly objects: string;
  private readonly tmp: string;

  constructor(private readonly opts: LocalBlobStoreOptions) {
    if (opts.secret.length < 32) throw new RangeError('blob URL secret must be at least 32 bytes');
    this.objects = join(opts.dir, 'objects');
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
    const obj = await this.openObject(key);
    if (obj === null) return null;
    await obj.file.close();
    return { size: obj.size, contentType: obj.contentType };
  }

  async read(key: string): Promise<Readable> {
    checkKey(key);
    const obj = await this.openObject(key);
    if (obj === null) throw new BlobNotFoundError(`no blob ${key}`);
    return bodyStream(obj);
  }

  async write(key: string, data: Buffer, contentType: string): Promise<void> {
    checkKey(key);
    if (!isHeaderType(contentType)) throw new RangeError('blob content type must be 1 to 200 visible ASCII characters');
    const temp = await this.tempFile();
    try {
      await writeFile(temp, Buffer.concat([typeLine(contentType), data]));
      await this.publish(key, temp);
    } finally {
      await rm(temp, { force: true });
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await rm(this.pathOf(key), { force: true });
  }

  async close(): Promise<void> {}

  /**
   * Serves a presigned URL when the request's path is under /blobs/; returns false for any
   * other path. A request target no URL parser accepts is answered 400 here (true): no other
   * handler could serve it either. Mounted by the server in front of the REST API (bodies are
   * streamed here, never parsed as JSON).
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    let url: URL;
    try {
      // Throws on absolute-form targets such as `http://[`.
      url = new URL(req.url ?? '/', 'http://local');
    } catch {
      answer(res, 400, 'bad_request', 'malformed request target', true);
      return true;
    }
    if (!url.pathname.startsWith(blobPathPrefix)) return false;
    void this.serve(req, res, url).catch((err: unknown) => {
      if (!res.headersSent) answer(res, 500, 'internal', 'blob request failed', true);
      else res.destroy(err instanceof Error ? err : undefined);
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // A refused request's body is never read: close the connection rather than drain it.
    const close = req.method !== 'GET';
    const method = req.method === 'PUT' ? 'PUT' : req.method === 'GET' ? 'GET' : null;
    if (method === null) {
      res.setHeader('allow', 'GET, PUT');
      return answer(res, 405, 'bad_request', 'only GET and PUT', close);
    }
    let key: string;
    try {
      key = decodeURIComponent(url.pathname.slice(blobPathPrefix.length));
      checkKey(key);
    } catch (err) {
      return answer(res, 400, 'bad_request', err instanceof URIError ? 'malformed path' : 'invalid blob key', close);
    }
    const expires = Number(url.searchParams.get('expires'));
    const name = url.searchParams.get('name') ?? undefined;
    const sig = url.searchParams.get('sig') ?? '';
    if (!Number.isSafeInteger(expires) || !this.verify(method, key, expires, name, sig)) return answer(res, 403, 'forbidden', 'invalid signature', close);
    if (expires * 1000 < Date.now()) return answer(res, 403, 'forbidden', 'URL expired', close);
    if (method === 'PUT') return this.receive(req, res, key);
    return this.send(res, key, name);
  }

  private async receive(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    const max = this.opts.maxPutBytes;
    const tooLarge = () => answer(res, 413, 'too_large', `at most ${max} bytes`, true);
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) return tooLarge();
    const temp = await this.tempFile();
    let whole: boolean;
    try {
      await writeFile(temp, typeLine(headerType(req.headers['content-type'])));
      whole = await receiveCapped(req, createWriteStream(temp, { flags: 'a' }), max);
      if (whole) await this.publish(key, temp);
    } finally {
      // Before any answer, so a client that sees one finds no temp file left.
      await rm(temp, { force: true });
    }
    if (!whole) return tooLarge();
    res.writeHead(200, { 'content-length': '0' }).end();
  }

  private async send(res: ServerResponse, key: string, name: string | undefined): Promise<void> {
    const obj = await this.openObject(key);
    if (obj === null) return answer(res, 404, 'not_found', 'no such object');
    const inline = name === undefined && isInlineSafe(obj.contentType);
    res.writeHead(200, {
      'content-type': obj.contentType,
      'content-length': String(obj.size),
      'cache-control': 'private, max-age=300',
      'x-content-type-options': 'nosniff',
      'content-security-policy': objectCsp,
      'content-disposition': inline ? 'inline' : attachmentDisposition(name),
    });
    await pipeline(bodyStream(obj), res);
  }

  private sign(method: 'GET' | 'PUT', key: string, expiresInSeconds: number, name: string | undefined): string {
    checkKey(key);
    const expires = Math.floor(Date.now() / 1000) + checkExpiry(expiresInSeconds);
    const query = new URLSearchParams({ expires: String(expires) });
    if (name !== undefined) query.set('name', name);
    query.set('sig', this.mac(method, key, expires, name));
    const base = typeof this.opts.publicUrl === 'string' ? this.opts.publicUrl : this.opts.publicUrl();
    return `${base}${blobPathPrefix}${key}?${query.toString()}`;
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

  /** The object's one file: `/` in the key becomes `~` (outside the key alphabet). */
  private pathOf(key: string): string {
    return join(this.objects, key.split('/').join('~'));
  }

  /** Opens the object's file once and reads its type line; null when there is no object. */
  private async openObject(key: string): Promise<OpenObject | null> {
    let file: FileHandle;
    try {
      file = await open(this.pathOf(key), 'r');
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    try {
      const s = await file.stat();
      if (!s.isFile()) {
        await file.close();
        return null;
      }
      const head = Buffer.alloc(Math.min(maxTypeLine, s.size));
      const { bytesRead } = await file.read(head, 0, head.length, 0);
      const end = head.subarray(0, bytesRead).indexOf(0x0a);
      if (end < 1) throw new Error(`blob ${key}: object file without a type line`);
      return { file, contentType: head.toString('latin1', 0, end), offset: end + 1, size: s.size - end - 1 };
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  private async tempFile(): Promise<string> {
    await mkdir(this.tmp, { recursive: true });
    return join(this.tmp, randomBytes(12).toString('hex'));
  }

  /** Moves a finished temp file (type line and bytes) into place: one rename. */
  private async publish(key: string, temp: string): Promise<void> {
    await mkdir(this.objects, { recursive: true });
    await rename(temp, this.pathOf(key));
  }
}

/**
 * Streams `req` into `out` until `max` bytes; past it, stops reading (the request is left
 * unread, the caller answers 413 and closes the connection) and resolves false.
 */
async function receiveCapped(req: IncomingMessage, out: NodeJS.WritableStream, max: number): Promise<boolean> {
  let received = 0;
  let over = false;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (received <= max) return done(null, chunk);
      // Not an error: pipeline would destroy the request, and its socket, before the 413.
      over = true;
      req.unpipe(cap);
      req.pause();
      this.end();
      done();
    },
  });
  const onClose = () => {
    if (!req.complete && !over) cap.destroy(new Error('blob upload aborted'));
  };
  req.once('close', onClose);
  req.pipe(cap);
  try {
    await pipeline(cap, out);
  } finally {
    req.off('close', onClose);
  }
  return !over;
}

/** The object's bytes from its open descriptor; the stream closes the descriptor. */
function bodyStream(obj: OpenObject): Readable {
  return obj.file.createReadStream({ start: obj.offset });
}

function typeLine(contentType: string): Buffer {
  return Buffer.from(`${contentType}\n`, 'latin1');
}

function isHeaderType(value: string | undefined): value is string {
  // A header value is one line of visible ASCII (no newline: it ends the type line).
  return value !== undefined && /^[\x20-\x7e]{1,200}$/.test(value);
}

function headerType(value: string | undefined): string {
  return isHeaderType(value) ? value : defaultType;
}

function isNotFound(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function answer(res: ServerResponse, status: number, code: string, message: string, close = false): void {
  const body = JSON.stringify({ error: { code, message } });
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers).end(body);
}

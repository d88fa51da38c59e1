/**
 * The local blob engine: the BlobStore contract over the shard's own signed URLs (served by
 * a real HTTP server here, as server.ts mounts it), plus what only this engine does.
 */
import { createServer, IncomingMessage, ServerResponse, type Server } from 'node:http';
import { connect, Socket, type AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlobNotFoundError, LocalBlobStore } from '../../src/blob';
import { blobContract } from './contract';

let http: Server;
let store: LocalBlobStore;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'blobs-'));
  http = createServer((req, res) => {
    if (!store.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const { port } = http.address() as AddressInfo;
  store = new LocalBlobStore({ dir, secret: randomBytes(32), publicUrl: `http://127.0.0.1:${port}`, maxPutBytes: 8 * 1024 * 1024 });
});
afterAll(() => new Promise<void>((r) => http.close(() => r())));

blobContract('local files, URLs signed by the shard', { store: () => store });

test('a PUT over the size limit is answered 413 and stores nothing, declared or not', async () => {
  const k = `test/too-big-${Date.now()}`;
  const big = Buffer.alloc(8 * 1024 * 1024 + 1, 1);
  const declared = await fetch(await store.presignPut(k, 60), { method: 'PUT', body: big });
  expect(declared.status).toBe(413);
  expect(await declared.json()).toEqual({ error: { code: 'too_large', message: expect.any(String) } });
  // Streamed without a length: the limit is counted as the bytes arrive.
  const chunks = (async function* () {
    for (let i = 0; i < 9; i++) yield Buffer.alloc(1024 * 1024, 2);
  })();
  const streamed = await fetch(await store.presignPut(k, 60), { method: 'PUT', body: chunks as unknown as BodyInit, duplex: 'half' } as RequestInit);
  expect(streamed.status).toBe(413);
  expect(await store.stat(k)).toBeNull();
  expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
});

/** Sends `head` (and `body`) as raw bytes; resolves with all the server sent before it closed (or 3 s). */
function raw(head: string, body = Buffer.alloc(0)): Promise<{ text: string; closed: boolean }> {
  const { port } = http.address() as AddressInfo;
  return new Promise((resolve) => {
    const sock: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => done(false), 3000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => {});
    sock.on('close', () => done(true));
    sock.write(head.replace(/\n/g, '\r\n') + '\r\n');
    sock.write(body);
  });
}

async function errorOf(r: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await r.json()) as { error: { code: string; message: string } };
  return { status: r.status, ...body.error };
}

test('a PUT over the limit is answered 413 with Connection: close and the rest is not read', async () => {
  const url = new URL(await store.presignPut(`test/too-big-raw-${Date.now()}`, 60));
  // Declares 1 GB and sends 64 KB: the answer comes at once and the connection is closed.
  const declared = await raw(`PUT ${url.pathname}${url.search} HTTP/1.1\nHost: x\nContent-Length: 1000000000\n`, Buffer.alloc(65536));
  expect(declared.text).toMatch(/^HTTP\/1.1 413/);
  expect(declared.text.toLowerCase()).toContain('connection: close');
  expect(declared.closed).toBe(true);
  // Chunked, past the limit and never ending: still answered and closed.
  const chunk = Buffer.alloc(1024 * 1024, 3);
  const frames = Buffer.concat(Array.from({ length: 9 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])));
  const streamed = await raw(`PUT ${url.pathname}${url.search} HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n`, frames);
  expect(streamed.text).toMatch(/^HTTP\/1.1 413/);
  expect(streamed.text.toLowerCase()).toContain('connection: close');
  expect(streamed.closed).toBe(true);
  expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
});

test('every object is served with a sandbox CSP and nosniff; only passive media inline', async () => {
  const cases: [string, string][] = [
    ['image/png', 'inline'],
    ['video/mp4; codecs="avc1"', 'inline'],
    ['text/html', 'attachment'],
    ['image/svg+xml', 'attachment'],
    ['application/pdf', 'attachment'],
    ['application/octet-stream', 'attachment'],
  ];
  for (const [type, disposition] of cases) {
    const k = `test/csp-${Date.now()}-${type.replace(/[^a-z0-9]/g, '')}`;
    await store.write(k, Buffer.from('<script>alert(1)</script>'), type);
    const r = await fetch(await store.presignGet(k, 60));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect([type, r.headers.get('content-disposition')]).toEqual([type, disposition]);
  }
  // With a name, even an image is an attachment.
  const k = `test/csp-named-${Date.now()}`;
  await store.write(k, Buffer.from('x'), 'image/png');
  const named = await fetch(await store.presignGet(k, 60, { filename: 'a.png' }));
  expect(named.headers.get('content-disposition')).toBe(`attachment; filename="a.png"; filename*=UTF-8''a.png`);
  expect(named.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
});

test('a URL signed by another secret is refused 403', async () => {
  const other = new LocalBlobStore({ dir, secret: randomBytes(32), publicUrl: 'http://x', maxPutBytes: 10 });
  const forged = new URL(await other.presignGet('test/anything', 60));
  const real = new URL(await store.presignGet('test/anything', 60));
  expect((await fetch(`${real.origin}${forged.pathname}${forged.search}`)).status).toBe(403);
});

test('the offered name is signed: changed, removed or added, the URL is refused', async () => {
  const k = `test/name-${Date.now()}`;
  await store.write(k, Buffer.from('x'), 'text/plain');
  const named = new URL(await store.presignGet(k, 60, { filename: 'a.txt' }));
  expect((await fetch(named)).status).toBe(200);
  const changed = new URL(named);
  changed.searchParams.set('name', 'a.html');
  expect(await errorOf(await fetch(changed))).toEqual({ status: 403, code: 'forbidden', message: 'invalid signature' });
  const removed = new URL(named);
  removed.searchParams.delete('name');
  expect((await fetch(removed)).status).toBe(403);
  const plain = new URL(await store.presignGet(k, 60));
  plain.searchParams.set('name', 'a.html');
  expect((await fetch(plain)).status).toBe(403);
});

test('a missing, empty or truncated signature is refused 403', async () => {
  const k = `test/sig-${Date.now()}`;
  await store.write(k, Buffer.from('x'), 'text/plain');
  const url = new URL(await store.presignGet(k, 60));
  const sig = url.searchParams.get('sig')!;
  for (const bad of [null, '', sig.slice(0, -1), sig.slice(0, 10)]) {
    const u = new URL(url);
    if (bad === null) u.searchParams.delete('sig');
    else u.searchParams.set('sig', bad);
    expect(await errorOf(await fetch(u))).toEqual({ status: 403, code: 'forbidden', message: 'invalid signature' });
  }
});

test('paths that are no valid key are refused 400 by the key check, even with a valid signature', async () => {
  const real = new URL(await store.presignGet('test/anything', 60));
  const refused = async (path: string) => errorOf(await fetch(`${real.origin}${path}${real.search}`));
  const invalidKey = { status: 400, code: 'bad_request', message: 'invalid blob key' };
  expect(await refused('/blobs/..%2F..%2Fetc%2Fpasswd')).toEqual(invalidKey);
  expect(await refused('/blobs/test%2F..%2F..%2Fetc%2Fpasswd')).toEqual(invalidKey);
  expect(await refused('/blobs/test/.%2Fanything')).toEqual(invalidKey);
  expect(await refused('/blobs/test/%E0%A4%A')).toEqual({ status: 400, code: 'bad_request', message: 'malformed path' });
  expect(await refused('/blobs/test/%zz')).toEqual({ status: 400, code: 'bad_request', message: 'malformed path' });
});

test('the method is checked first: DELETE is 405 whatever the path', async () => {
  const real = new URL(await store.presignGet('test/anything', 60));
  for (const path of ['/blobs/test/anything', '/blobs/%zz', '/blobs/..%2Fx']) {
    const r = await fetch(`${real.origin}${path}${real.search}`, { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, PUT');
  }
});

test('a request target no URL parser accepts is answered 400, not thrown', () => {
  const req = new IncomingMessage(new Socket());
  req.url = 'http://[';
  req.method = 'GET';
  const res = new ServerResponse(req);
  expect(() => store.handle(req, res)).not.toThrow();
  expect(res.statusCode).toBe(400);
});

test('when publishing fails the temp file is removed, and the key still reads as missing', async () => {
  const k = `test/blocked-${Date.now()}`;
  // A directory where the object's file would go makes the rename fail.
  mkdirSync(join(dir, 'objects', k.replace(/\//g, '~')), { recursive: true });
  await expect(store.write(k, Buffer.from('x'), 'text/plain')).rejects.toThrow();
  const r = await fetch(await store.presignPut(k, 60), { method: 'PUT', body: 'y' });
  expect(r.status).toBe(500);
  expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  expect(await store.stat(k)).toBeNull();
  await expect(store.read(k)).rejects.toBeInstanceOf(BlobNotFoundError);
  expect((await fetch(await store.presignGet(k, 60))).status).toBe(404);
});

test('`p/q` and `p/q/r` are two objects side by side (flat files)', async () => {
  const p = `test/tree-${Date.now()}`;
  await store.write(`${p}/q`, Buffer.from('q'), 'text/plain');
  await store.write(`${p}/q/r`, Buffer.from('r'), 'text/plain');
  expect(await store.stat(`${p}/q`)).toEqual({ size: 1, contentType: 'text/plain' });
  expect(await store.stat(`${p}/q/r`)).toEqual({ size: 1, contentType: 'text/plain' });
  expect(await store.stat(p)).toBeNull();
  await expect(store.read(p)).rejects.toBeInstanceOf(BlobNotFoundError);
});

test('requests outside /blobs/ are not taken', async () => {
  const base = new URL(await store.presignGet('test/x', 60)).origin;
  expect((await fetch(`${base}/api/v1/x`)).status).toBe(404);
});

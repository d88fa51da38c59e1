/**
 * The local blob engine: the BlobStore contract over the shard's own signed URLs (served by
 * a real HTTP server here, as server.ts mounts it), plus what only this engine does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LocalBlobStore } from '../../src/blob';
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

test('a URL signed by another secret is refused; the path cannot climb out of the store', async () => {
  const other = new LocalBlobStore({ dir, secret: randomBytes(32), publicUrl: 'http://x', maxPutBytes: 10 });
  const forged = new URL(await other.presignGet('test/anything', 60));
  const real = new URL(await store.presignGet('test/anything', 60));
  expect((await fetch(`${real.origin}${forged.pathname}${forged.search}`)).status).toBe(403);
  const climb = await fetch(`${real.origin}/blobs/..%2F..%2Fetc%2Fpasswd${real.search}`);
  expect(climb.status).toBe(403);
  expect((await fetch(`${real.origin}/blobs/test/anything${real.search}`, { method: 'DELETE' })).status).toBe(405);
});

test('requests outside /blobs/ are not taken', async () => {
  const base = new URL(await store.presignGet('test/x', 60)).origin;
  expect((await fetch(`${base}/api/v1/x`)).status).toBe(404);
});

/**
 * The BlobStore contract (src/blob/index.ts), written once and run against every engine:
 * local files with the shard's own signed URLs (test/blob/local.test.ts) and a real S3 API
 * (test/integration/blob-s3.test.ts, S3Proxy in CI). Every URL is exercised over real HTTP.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BlobKeyError, BlobNotFoundError, type BlobStore } from '../../src/blob';

export interface BlobContext {
  store: () => BlobStore;
  /**
   * Whether GETs racing concurrent PUTs of one key are checked to see one PUT whole. S3
   * guarantees it; S3Proxy's filesystem provider (our S3 double) writes the type and the bytes
   * separately, so its run checks only the state after the PUTs.
   */
  racingReads?: boolean;
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let n = 0;
const key = (prefix = 'k') => `test/${prefix}-${process.pid}-${Date.now()}-${++n}`;

async function put(url: string, body: Buffer, type = 'image/jpeg'): Promise<Response> {
  return fetch(url, { method: 'PUT', body: new Uint8Array(body), headers: { 'content-type': type } });
}

export function blobContract(name: string, ctx: BlobContext): void {
  describe(`BlobStore contract: ${name}`, () => {
    test('a presigned PUT stores the body and its type; stat, read and a presigned GET see it', async () => {
      const s = ctx.store();
      const k = key('put');
      const body = randomBytes(70_000);
      expect((await put(await s.presignPut(k, 60), body, 'image/png')).status).toBe(200);
      expect(await s.stat(k)).toEqual({ size: body.length, contentType: 'image/png' });
      expect(sha(await bytesOf(await s.read(k)))).toBe(sha(body));
      const got = await fetch(await s.presignGet(k, 60));
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe('image/png');
      expect(sha(Buffer.from(await got.arrayBuffer()))).toBe(sha(body));
    });

    test('a GET URL can offer a file name; the bytes are the same', async () => {
      const s = ctx.store();
      const k = key('named');
      await s.write(k, Buffer.from('%PDF-1.4 hello'), 'application/pdf');
      const got = await fetch(await s.presignGet(k, 60, { filename: 'Report 2026 ✓.pdf' }));
      expect(got.status).toBe(200);
      expect(got.headers.get('content-disposition')).toContain(encodeURIComponent('Report 2026 ✓.pdf'));
      expect(await got.text()).toBe('%PDF-1.4 hello');
    });

    test("the offered name is RFC 5987 encoded (also `'()*`) with an ASCII fallback", async () => {
      const s = ctx.store();
      const k = key('named5987');
      await s.write(k, Buffer.from('x'), 'application/octet-stream');
      const got = await fetch(await s.presignGet(k, 60, { filename: `it's (draft)*"é".txt` }));
      expect(got.status).toBe(200);
      expect(got.headers.get('content-disposition')).toBe(`attachment; filename="it's (draft)*___.txt"; filename*=UTF-8''it%27s%20%28draft%29%2A%22%C3%A9%22.txt`);
    });

    test('concurrent PUTs of one key end with exactly one of them, bytes and type together', async () => {
      const s = ctx.store();
      const puts = Array.from({ length: 16 }, (_, i) => ({ type: `image/x-test-${i}`, body: Buffer.alloc(1000 + i * 4099, i + 1) }));
      const consistent = (type: string | null, body: Buffer) => puts.some((p) => p.type === type && p.body.equals(body));
      // Several rounds: the window for a mix is narrow, one round rarely hits it.
      for (let round = 0; round < 4; round++) {
        const k = key('race');
        const urls = await Promise.all(puts.map(() => s.presignPut(k, 60)));
        const getUrl = await s.presignGet(k, 60);
        // GETs race the PUTs until they are all answered: each GET that finds an object must
        // see one PUT whole (its type, its bytes, its length).
        let putting = ctx.racingReads !== false;
        const gets = Array.from({ length: 4 }, async () => {
          while (putting) {
            const r = await fetch(getUrl);
            if (r.status === 404) {
              await r.arrayBuffer();
              continue;
            }
            expect(r.status).toBe(200);
            const body = Buffer.from(await r.arrayBuffer());
            expect(Number(r.headers.get('content-length'))).toBe(body.length);
            expect(consistent(r.headers.get('content-type'), body)).toBe(true);
          }
        });
        const statuses = await Promise.all(puts.map(async (p, i) => (await put(urls[i]!, p.body, p.type)).status)).finally(() => (putting = false));
        await Promise.all(gets);
        expect(statuses).toEqual(puts.map(() => 200));
        const info = await s.stat(k);
        const body = await bytesOf(await s.read(k));
        expect(info?.size).toBe(body.length);
        expect(consistent(info?.contentType ?? null, body)).toBe(true);
      }
    });

    test('a URL grants one method on one key: another method, key or expiry is refused 403', async () => {
      const s = ctx.store();
      const k = key('scope');
      const other = key('scope-other');
      await s.write(k, Buffer.from('secret'), 'text/plain');
      await s.write(other, Buffer.from('other secret'), 'text/plain');
      const getUrl = await s.presignGet(k, 60);
      const putUrl = await s.presignPut(k, 60);
      // A GET URL does not upload, a PUT URL does not download.
      expect((await put(getUrl, Buffer.from('overwritten'))).status).toBe(403);
      expect((await fetch(putUrl)).status).toBe(403);
      // Another key with the same signature, or a moved expiry.
      expect((await fetch(getUrl.replace(k, other))).status).toBe(403);
      const u = new URL(getUrl);
      for (const name of ['expires', 'X-Amz-Expires']) {
        const v = u.searchParams.get(name);
        if (v !== null) u.searchParams.set(name, String(Number(v) + 1000));
      }
      expect((await fetch(u)).status).toBe(403);
      // Nothing above changed the object.
      expect((await bytesOf(await s.read(k))).toString()).toBe('secret');
    });

    test('an expired URL is refused 403', async () => {
      const s = ctx.store();
      const k = key('expiry');
      await s.write(k, Buffer.from('soon gone'), 'text/plain');
      const url = await s.presignGet(k, 1);
      const putUrl = await s.presignPut(key('expiry-put'), 1);
      await new Promise((r) => setTimeout(r, 2100));
      expect((await fetch(url)).status).toBe(403);
      expect((await put(putUrl, Buffer.from('late'))).status).toBe(403);
    });

    test('a second PUT replaces the object; delete removes it, twice without error', async () => {
      const s = ctx.store();
      const k = key('replace');
      expect((await put(await s.presignPut(k, 60), Buffer.from('one'), 'text/plain')).status).toBe(200);
      expect((await put(await s.presignPut(k, 60), Buffer.from('second'), 'text/markdown')).status).toBe(200);
      expect(await s.stat(k)).toEqual({ size: 6, contentType: 'text/markdown' });
      await s.delete(k);
      await s.delete(k);
      expect(await s.stat(k)).toBeNull();
      await expect(s.read(k)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect((await fetch(await s.presignGet(k, 60))).status).toBe(404);
    });

    test('stat of a key never written is null; read rejects with BlobNotFoundError', async () => {
      const s = ctx.store();
      expect(await s.stat(key('none'))).toBeNull();
      await expect(s.read(key('none'))).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    test('a "directory" of a stored key is no object: stat null, read BlobNotFoundError', async () => {
      const s = ctx.store();
      const p = key('tree');
      await s.write(`${p}/q/r`, Buffer.from('r'), 'text/plain');
      for (const dir of [p, `${p}/q`]) {
        expect(await s.stat(dir)).toBeNull();
        await expect(s.read(dir)).rejects.toBeInstanceOf(BlobNotFoundError);
      }
      expect((await bytesOf(await s.read(`${p}/q/r`))).toString()).toBe('r');
    });

    test('keys outside the contract are refused before any I/O', async () => {
      const s = ctx.store();
      for (const bad of ['../etc/passwd', 'a/../../b', 'a/./b', 'a/.', '/abs', 'UPPER', 'a//b', 'a/', 'a~b', '', 'x'.repeat(201), 'sp ace', 'é']) {
        await expect(s.presignPut(bad, 60)).rejects.toBeInstanceOf(BlobKeyError);
        await expect(s.presignGet(bad, 60)).rejects.toBeInstanceOf(BlobKeyError);
        await expect(s.stat(bad)).rejects.toBeInstanceOf(BlobKeyError);
        await expect(s.write(bad, Buffer.from('x'), 'text/plain')).rejects.toBeInstanceOf(BlobKeyError);
      }
      await expect(s.presignGet(key('expiry-range'), 0)).rejects.toBeInstanceOf(RangeError);
    });

    test('server-side writes of several megabytes read back whole', async () => {
      const s = ctx.store();
      const k = key('big');
      const body = randomBytes(5 * 1024 * 1024);
      await s.write(k, body, 'image/webp');
      expect(await s.stat(k)).toEqual({ size: body.length, contentType: 'image/webp' });
      expect(sha(await bytesOf(await s.read(k)))).toBe(sha(body));
    });
  });
}

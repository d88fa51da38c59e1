/**
 * The upload's browser path: with an XMLHttpRequest on globalThis (as in browsers and React
 * Native) the PUT goes through it, its upload progress reaches `onProgress`, and failures
 * become ApiErrors. The XHR here is scripted; the Node path runs against the real server in
 * test/e2e/sdk-attachments.test.ts. Also the hash and the data shapes accepted.
 */
import { createHash } from 'node:crypto';
import { ApiError } from '../../src/client';
import { bytesOf, putBytes, sha256Hex } from '../../src/client/upload';

interface Script {
  progress: number[];
  status?: number;
  responseText?: string;
  /** 'error' fires onerror instead of onload. */
  fail?: 'error';
}

/** A scripted XMLHttpRequest: records what was sent, then plays `script`. */
function installXhr(script: Script) {
  const seen = { method: '', url: '', headers: {} as Record<string, string>, body: null as unknown, aborted: false };
  class FakeXhr {
    status = 0;
    responseText = '';
    upload: { onprogress: ((e: { loaded: number }) => void) | null } = { onprogress: null };
    onload: (() => void) | null = null;
    onerror: (() => void) | null = null;
    onabort: (() => void) | null = null;
    open(method: string, url: string) {
      seen.method = method;
      seen.url = url;
    }
    setRequestHeader(name: string, value: string) {
      seen.headers[name] = value;
    }
    abort() {
      seen.aborted = true;
      this.onabort?.();
    }
    send(body: unknown) {
      seen.body = body;
      setTimeout(() => {
        for (const loaded of script.progress) this.upload.onprogress?.({ loaded });
        if (script.fail === 'error') return this.onerror?.();
        this.status = script.status ?? 200;
        this.responseText = script.responseText ?? '';
        this.onload?.();
      }, 1);
    }
  }
  (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = FakeXhr;
  return seen;
}

afterEach(() => {
  delete (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest;
});

const bytes = new Uint8Array(1000).fill(7);

test('PUTs through XMLHttpRequest with the slot headers; progress is monotonic and ends at the total', async () => {
  const seen = installXhr({ progress: [0, 300, 300, 200, 1000] });
  const progress: [number, number][] = [];
  await putBytes({ url: 'https://s3.example/b?sig=1', method: 'PUT', headers: { 'content-type': 'image/jpeg' }, bytes, onProgress: (s, t) => progress.push([s, t]) });
  expect(seen).toMatchObject({ method: 'PUT', url: 'https://s3.example/b?sig=1', headers: { 'content-type': 'image/jpeg' } });
  expect(seen.body).toBe(bytes);
  expect(progress).toEqual([[0, 1000], [300, 1000], [1000, 1000]]);
});

test('a progress stream that stops short still ends with (total, total) once the PUT succeeded', async () => {
  installXhr({ progress: [500] });
  const progress: number[] = [];
  await putBytes({ url: 'u', method: 'PUT', headers: {}, bytes, onProgress: (s) => progress.push(s) });
  expect(progress).toEqual([500, 1000]);
});

test('a refused PUT is an ApiError with the body\'s code, or the status\'s when the body names none (S3 answers XML)', async () => {
  installXhr({ progress: [], status: 403, responseText: JSON.stringify({ error: { code: 'forbidden', message: 'URL expired' } }) });
  await expect(putBytes({ url: 'u', method: 'PUT', headers: {}, bytes })).rejects.toMatchObject({ status: 403, code: 'forbidden', message: 'URL expired' });
  installXhr({ progress: [], status: 413, responseText: '<Error><Code>EntityTooLarge</Code></Error>' });
  const err = await putBytes({ url: 'u', method: 'PUT', headers: {}, bytes }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect(err).toMatchObject({ status: 413, code: 'too_large' });
});

test('a network failure is ApiError status 0, unavailable; an abort signal aborts the request', async () => {
  installXhr({ progress: [], fail: 'error' });
  await expect(putBytes({ url: 'u', method: 'PUT', headers: {}, bytes })).rejects.toMatchObject({ status: 0, code: 'unavailable' });
  const seen = installXhr({ progress: [] });
  const ctl = new AbortController();
  const put = putBytes({ url: 'u', method: 'PUT', headers: {}, bytes, signal: ctl.signal });
  ctl.abort();
  await expect(put).rejects.toMatchObject({ status: 0, code: 'unavailable', message: expect.stringMatching(/aborted/) });
  expect(seen.aborted).toBe(true);
});

test('sha256Hex matches node:crypto; Blob, ArrayBuffer, Buffer and a Buffer slice are read alike', async () => {
  const data = Buffer.from('hello attachments');
  const want = createHash('sha256').update(data).digest('hex');
  expect(await sha256Hex(data)).toBe(want);
  const padded = Buffer.concat([Buffer.from('xx'), data]).subarray(2); // a view at an offset
  expect(await sha256Hex(await bytesOf(padded))).toBe(want);
  expect(await sha256Hex(await bytesOf(new Blob([data])))).toBe(want);
  expect(await sha256Hex(await bytesOf(new Uint8Array(data).buffer))).toBe(want);
  await expect(bytesOf('text' as never)).rejects.toMatchObject({ code: 'bad_request' });
});

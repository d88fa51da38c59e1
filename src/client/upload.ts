/**
 * The bytes of an upload: reading them (Blob or bytes), their SHA-256 (WebCrypto, in
 * browsers and Node 20 alike) and the PUT to a presigned URL with progress. Browsers (and
 * React Native) PUT through XMLHttpRequest, the only API with upload progress there; Node
 * has no XMLHttpRequest and PUTs through the global fetch with a streamed body whose chunks
 * are counted as fetch pulls them. No Node module is imported, so the web bundle stays clean.
 */
import { ApiError, parseJson, toApiError } from './errors';

/** What `uploadAttachment` takes: a Blob or File (browsers), or bytes (a Uint8Array or Node Buffer, any typed array or DataView, an ArrayBuffer). */
export type UploadData = Blob | ArrayBufferView | ArrayBuffer;

/** Called as bytes go out: `sent` grows to `total` (the last call is `(total, total)` once the PUT succeeded). */
export type ProgressListener = (sent: number, total: number) => void;

export interface PutRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  bytes: Uint8Array;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** Chunk size of the streamed body in Node: progress moves at most this far between calls. */
const chunkBytes = 64 * 1024;

/** The whole data as bytes (a Uint8Array is used as is). */
export async function bytesOf(data: UploadData): Promise<Uint8Array> {
  // isView and the tag, not instanceof: bytes made in another realm (an iframe, a vm context) count too.
  if (ArrayBuffer.isView(data)) return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') return new Uint8Array(data as ArrayBuffer);
  if (typeof (data as Blob).arrayBuffer === 'function') return new Uint8Array(await (data as Blob).arrayBuffer());
  throw new ApiError(0, 'bad_request', 'upload data must be a Blob, a File, a Uint8Array (Buffer) or an ArrayBuffer');
}

/** SHA-256 as 64 lowercase hex digits. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new ApiError(0, 'unavailable', 'no WebCrypto (crypto.subtle): a secure context (https) is needed in browsers');
  // TS 5.9 types BufferSource as ArrayBuffer-backed only; a Node Buffer view is one at run time.
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** PUTs the bytes; resolves on a 2xx, rejects with an ApiError (status 0 for the network, `unavailable`). */
export function putBytes(req: PutRequest): Promise<void> {
  const Xhr = (globalThis as { XMLHttpRequest?: typeof XMLHttpRequest }).XMLHttpRequest;
  const report = monotonic(req.bytes.byteLength, req.onProgress);
  const put = Xhr ? putXhr(Xhr, req, report) : putFetch(req, report);
  return put.then(() => report(req.bytes.byteLength));
}

/** A progress reporter that never goes backwards nor repeats a value. */
function monotonic(total: number, listener: ProgressListener | undefined): (sent: number) => void {
  let last = -1;
  return (sent) => {
    const n = Math.min(sent, total);
    if (!listener || n <= last) return;
    last = n;
    listener(n, total);
  };
}

function putXhr(Xhr: typeof XMLHttpRequest, req: PutRequest, report: (sent: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new Xhr();
    xhr.open(req.method, req.url);
    for (const [name, value] of Object.entries(req.headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => report(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(toApiError(xhr.status, parseJson(xhr.responseText), xhr.responseText));
    };
    xhr.onerror = () => reject(networkError('upload failed'));
    xhr.onabort = () => reject(networkError('upload aborted'));
    if (req.signal) {
      if (req.signal.aborted) return reject(networkError('upload aborted'));
      req.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(req.bytes as Uint8Array<ArrayBuffer>);
  });
}

async function putFetch(req: PutRequest, report: (sent: number) => void): Promise<void> {
  const fetchFn = (globalThis as { fetch?: typeof fetch }).fetch;
  if (!fetchFn) throw new ApiError(0, 'unavailable', 'no XMLHttpRequest and no global fetch to upload with');
  const { bytes } = req;
  let offset = 0;
  // highWaterMark 0: a chunk is read only when fetch asks for it, so the count follows the socket.
  const body = new ReadableStream<Uint8Array>(
    {
      pull(ctl) {
        if (offset >= bytes.byteLength) return ctl.close();
        const chunk = bytes.subarray(offset, offset + chunkBytes);
        offset += chunk.byteLength;
        ctl.enqueue(chunk);
        report(offset - chunk.byteLength);
      },
    },
    { highWaterMark: 0 },
  );
  // Node's fetch keeps an explicit content-length with a streamed body (S3 refuses chunked PUTs).
  const headers = { ...req.headers, 'content-length': String(bytes.byteLength) };
  let res: Response;
  let text: string;
  try {
    res = await fetchFn(req.url, { method: req.method, headers, body, duplex: 'half', signal: req.signal } as RequestInit);
    text = await res.text();
  } catch (err) {
    throw networkError(err instanceof Error ? err.message : String(err));
  }
  if (!res.ok) throw toApiError(res.status, parseJson(text), text);
}

function networkError(message: string): ApiError {
  return new ApiError(0, 'unavailable', `network error: ${message}`);
}

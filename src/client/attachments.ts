/**
 * Attachments for apps: the whole upload (slot, PUT, complete) in one call, download URLs
 * cached until shortly before they expire, and `attachment_ready` folded into a message.
 * Built on a RestClient; ChatClient exposes `uploadAttachment` and `attachmentUrl` from one.
 */
import type { Attachment, ConvEvent } from '../protocol/frames';
import type { AttachmentUrl, Rendition, RestClient } from './rest';
import { bytesOf, putBytes, sha256Hex, type ProgressListener, type UploadData } from './upload';

export interface UploadOptions {
  /** The file name shown to recipients and used as the download name of files. */
  name: string;
  /** The declared content type (e.g. `file.type`); the server sniffs the bytes and refuses a mismatch. */
  type: string;
  /** Called as the PUT goes out, up to `(total, total)`. */
  onProgress?: ProgressListener;
  /** Aborts the PUT (the upload slot is left to the server's collector). */
  signal?: AbortSignal;
}

export interface AttachmentsOptions {
  /** Most URLs kept; the oldest go first. Default 500. */
  maxCachedUrls?: number;
}

/**
 * A cached URL is reused until whichever comes first: `expires_at` less this margin, or
 * this long after it arrived. The second bound keeps a client whose clock is behind the
 * server's from handing out URLs that expired (`expires_at` is the server's clock); with the
 * default ATTACH_URL_TTL_SECONDS (an hour) it is the one that applies.
 */
const expiryMarginMs = 60_000;
const maxAgeMs = 10 * 60_000;

interface CachedUrl {
  url: Promise<AttachmentUrl>;
  /** Local ms until which the URL is reused; Infinity while the request is in flight. */
  freshUntil: number;
}

/** Uploads and download URLs of one user (the RestClient's token). All state is per instance. */
export class Attachments {
  private readonly urls = new Map<string, CachedUrl>();
  private readonly maxCachedUrls: number;

  constructor(
    private readonly rest: RestClient,
    opts: AttachmentsOptions = {},
  ) {
    this.maxCachedUrls = opts.maxCachedUrls ?? 500;
  }

  /**
   * Uploads `data` and resolves with the completed Attachment: send its `id` in
   * `send(conv, body, { attachments: [id] })`. Rejects with an ApiError carrying the
   * server's code (`bad_request` for a type not allowed or bytes not of the declared type,
   * `too_large`, ...); status 0 and `unavailable` when the network failed.
   */
  async upload(data: UploadData, opts: UploadOptions): Promise<Attachment> {
    const bytes = await bytesOf(data);
    const sha256 = await sha256Hex(bytes);
    const slot = await this.rest.createUpload({ name: opts.name, content_type: opts.type, size: bytes.byteLength, sha256 });
    await putBytes({
      url: slot.upload_url,
      method: slot.upload_method ?? 'PUT',
      headers: slot.upload_headers ?? {},
      bytes,
      onProgress: opts.onProgress,
      signal: opts.signal,
    });
    return this.rest.completeUpload(slot.attachment_id);
  }

  /**
   * A signed URL of one rendition, from the cache while it has more than a minute left
   * (and is at most 10 minutes old); concurrent asks for the same one share a request.
   * Failures are not cached: a display size still being made (503 `unavailable`) is asked
   * again next time.
   */
  url(attachmentId: string, rendition: Rendition = 'original'): Promise<AttachmentUrl> {
    const key = `${rendition} ${attachmentId}`;
    const now = Date.now();
    const hit = this.urls.get(key);
    if (hit && hit.freshUntil > now) return hit.url;
    const entry: CachedUrl = { url: this.rest.getAttachmentUrl(attachmentId, rendition), freshUntil: Infinity };
    this.urls.delete(key);
    this.urls.set(key, entry);
    this.evict();
    entry.url.then(
      (u) => {
        entry.freshUntil = Math.min(u.expires_at - expiryMarginMs, Date.now() + maxAgeMs);
      },
      () => {
        if (this.urls.get(key) === entry) this.urls.delete(key);
      },
    );
    return entry.url;
  }

  /** Forgets every cached URL (e.g. on logout). */
  clearUrlCache(): void {
    this.urls.clear();
  }

  private evict(): void {
    for (const key of this.urls.keys()) {
      if (this.urls.size <= this.maxCachedUrls) return;
      this.urls.delete(key);
    }
  }
}

/**
 * Folds an `attachment_ready` event into the message it targets: returns a copy of
 * `message` whose attachment with the event's attachment id is replaced, or `message`
 * itself when the event is of another kind, another message, or names no attachment it
 * holds (e.g. its message was deleted since). Safe to apply twice.
 */
export function foldAttachmentReady<M extends { conv_id?: string; seq: number | null; attachments?: Attachment[] }>(message: M, event: ConvEvent): M {
  const ready = event.attachment;
  if (event.kind !== 'attachment_ready' || !ready || event.target_seq !== message.seq || !message.attachments) return message;
  if (message.conv_id !== undefined && message.conv_id !== event.conv_id) return message;
  const at = message.attachments.findIndex((a) => a.id === ready.id);
  if (at < 0) return message;
  const attachments = message.attachments.slice();
  attachments[at] = ready;
  return { ...message, attachments };
}

/**
 * The attachment flow, from an upload slot to a signed download URL:
 *
 * 1. `createUpload`: the client declares name, type, size and sha256 and gets a PUT URL
 *    for `uploads/<id>` (short-lived; no token in it).
 * 2. `complete`: the server reads what was stored, computes its size and sha256 itself,
 *    sniffs its type, makes an image's preview (size, thumbnail, placeholder), and stores
 *    the checked bytes as `blobs/<sha256>`: a key no PUT URL was ever issued for, so no one
 *    can change them afterwards. One blob per content, reference counted in the store; the
 *    hash never grants anything (every uploader uploads the bytes themselves).
 * 3. SEND names completed attachments (the actor checks owner and state; the store posts
 *    them with the message). An image's display size is made by a job; when it finishes
 *    after the message was sent, an `attachment_ready` event tells every device.
 * 4. `urlFor`: members of the conversation the attachment was posted in (and its uploader)
 *    get a signed, expiring URL of one rendition.
 * 5. `collect`: uploads never sent within ATTACH_UNSENT_TTL_MS and blobs no attachment
 *    references any more are deleted.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ProtocolError, type Attachment, type AttachmentUrl, type AttachmentVariant, type Rendition, type UploadRequest, type UploadSlot } from '../protocol';
import type { AttachmentRecord, Store } from '../store';
import type { BlobStore } from '../blob';
import { MediaError, sniffType, type ImageVariant, type MediaPool } from '../media';
import type { Logger } from '../observability';
import type { Jobs } from '../jobs';
import type { AttachmentReadyCommand, ResultOf } from '../conversations';
import { checkDeclared, cleanName, maxBytesFor, normalType, resolveType, type AttachmentLimits } from './policy';

/**
 * How long a collector's claim on a blob is trusted (Store.listUnreferencedBlobs): an
 * older one was left by a collector that died or failed between claim and drop, and the
 * next pass takes it over. A pass deletes a blob's three objects in well under a second;
 * the lease is that times hundreds because a collector still deleting after its lease ran
 * out could delete a re-upload made once its successor dropped the blob (an object store
 * stalling through SDK retries is the slow case). Meanwhile uploads of that content are
 * refused (refBlob waits 5 s), for at most the lease plus one ATTACH_GC_INTERVAL_MS.
 */
const claimLeaseMs = 5 * 60_000;

/** The calls this module makes on the jobs engine. */
export type AttachmentJobs = Pick<Jobs, 'register' | 'add'>;

export interface AttachmentServiceOptions {
  store: Store;
  blobs: BlobStore;
  media: MediaPool;
  jobs: AttachmentJobs;
  /** Runs attachment_ready on the conversation's owner (the router). */
  route: (cmd: AttachmentReadyCommand) => Promise<ResultOf<AttachmentReadyCommand>>;
  logger: Logger;
  limits: AttachmentLimits;
  maxPixels: number;
  uploadTtlSeconds: number;
  urlTtlSeconds: number;
  unsentTtlMs: number;
  gcIntervalMs: number;
  /**
   * Bytes of uploads being checked at once (each is held in memory while hashed, sniffed
   * and stored); one upload larger than this is checked alone. Default 256 MiB.
   */
  completeBudgetBytes?: number;
}

const displayQueue = 'attachment-display';
/** Removes `uploads/<id>` once its PUT URL expired: a URL may be used again after completion or refusal. */
const uploadCleanupQueue = 'attachment-upload-cleanup';

/** Blob keys: uploads (PUT URLs are issued for these only), checked content, renditions. */
export const blobKeys = {
  upload: (id: string) => `uploads/${id}`,
  content: (sha: string) => `blobs/${sha}`,
  rendition: (sha: string, which: 'thumbnail' | 'display') => `renditions/${sha}/${which}`,
};

export class AttachmentService {
  private timer: NodeJS.Timeout | null = null;
  private collecting: Promise<void> | null = null;
  /** Completions running in this process, by attachment id. */
  private readonly completing = new Map<string, Promise<Attachment>>();
  /** Attachments whose display size cannot be made (a permanent refusal): not asked again here. */
  private readonly displayFailed = new Set<string>();
  /** Bytes of the completions running now, and those waiting for room, in arrival order. */
  private inFlightBytes = 0;
  private readonly waiting: { bytes: number; start: () => void }[] = [];

  constructor(private readonly opts: AttachmentServiceOptions) {
    // As many display sizes at once as there are workers (the pool holds them back while previews run).
    opts.jobs.register<{ attachment_id: string }>(displayQueue, (data) => this.makeDisplay(data.attachment_id), { concurrency: opts.media.threads });
    opts.jobs.register<{ attachment_id: string }>(uploadCleanupQueue, (data) => this.removeStaleUpload(data.attachment_id));
  }

  start(): void {
    this.timer = setInterval(() => void this.collect(), this.opts.gcIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.collecting;
  }

  async createUpload(userId: string, req: UploadRequest): Promise<UploadSlot> {
    const { store, blobs, limits, uploadTtlSeconds } = this.opts;
    if (!/^[0-9a-fA-F]{64}$/.test(req.sha256)) throw new ProtocolError('bad_request', 'sha256 must be 64 hex digits');
    if (!Number.isSafeInteger(req.size) || req.size < 1) throw new ProtocolError('bad_request', 'size must be a positive integer (empty files are not attachments)');
    checkDeclared(req.content_type, req.size, limits);
    // Hex: blob keys are lowercase.
    const id = `a_${randomBytes(16).toString('hex')}`;
    const type = normalType(req.content_type);
    await store.createAttachment({
      attachment_id: id,
      owner_id: userId,
      name: cleanName(req.name),
      declared_type: type,
      declared_size: req.size,
      declared_sha256: req.sha256.toLowerCase(),
      created_at: Date.now(),
    });
    const url = await blobs.presignPut(blobKeys.upload(id), uploadTtlSeconds);
    // Once the URL expired (plus a margin for the storage service's clock, up to a minute),
    // whatever it stored is removed unless the slot is still pending.
    const graceSeconds = Math.min(60, uploadTtlSeconds);
    await this.opts.jobs.add(uploadCleanupQueue, { attachment_id: id }, { jobId: `u-${id}`, delayMs: (uploadTtlSeconds + graceSeconds) * 1000 });
    return { attachment_id: id, upload_url: url, upload_method: 'PUT', upload_headers: { 'content-type': type }, expires_at: Date.now() + uploadTtlSeconds * 1000 };
  }

  /**
   * Checks the upload and makes it an attachment. A retry after success answers the same
   * attachment; a refusal removes the upload and its slot (the client starts again), except
   * when nothing was uploaded yet.
   */
  async complete(userId: string, id: string): Promise<Attachment> {
    const rec = await this.owned(userId, id);
    if (rec.state === 'ready') return rec.meta as Attachment;
    // A retry while the first completion runs shares it (one read, one decode).
    let running = this.completing.get(id);
    if (!running) {
      running = this.completeOnce(userId, id, rec.declared_size).finally(() => this.completing.delete(id));
      this.completing.set(id, running);
    }
    return running;
  }

  private async completeOnce(userId: string, id: string, declaredSize: number): Promise<Attachment> {
    await this.room(declaredSize);
    try {
      // Read again: it may have been completed (on another shard) while this one waited.
      const rec = await this.owned(userId, id);
      if (rec.state === 'ready') return rec.meta as Attachment;
      return await this.check(rec);
    } finally {
      this.release(declaredSize);
    }
  }

  /** The attachment as its uploader, or a member of the conversation it was sent in, sees it. */
  async get(userId: string, id: string): Promise<Attachment> {
    const rec = await this.readable(userId, id);
    if (rec.meta === null) throw new ProtocolError('bad_request', 'attachment not completed');
    return rec.meta;
  }

  /**
   * A signed URL of one rendition. Images are served as their renditions only (the
   * original may carry EXIF and GPS); `original` of an image is its display size.
   */
  async urlFor(userId: string, id: string, want: Rendition): Promise<AttachmentUrl> {
    const { blobs, urlTtlSeconds } = this.opts;
    const rec = await this.readable(userId, id);
    const meta = rec.meta;
    if (meta === null || rec.sha256 === null) throw new ProtocolError('bad_request', 'attachment not completed');
    let key: string;
    let type: string;
    if (meta.kind === 'image') {
      const which = want === 'thumbnail' || this.displayFailed.has(id) ? 'thumbnail' : 'display';
      const variant = meta[which];
      if (variant === null) {
        // Its job may have been lost (an embedded server restarted): ask again; ids dedup.
        await this.opts.jobs.add(displayQueue, { attachment_id: id }, { jobId: id });
        throw new ProtocolError('unavailable', `the ${which} size is not ready yet; retry shortly`);
      }
      key = blobKeys.rendition(rec.sha256, which);
      type = variant.content_type;
    } else {
      if (want !== 'original') throw new ProtocolError('bad_request', `a ${meta.kind} has no ${want}`);
      key = blobKeys.content(rec.sha256);
      type = meta.content_type;
    }
    const url = await blobs.presignGet(key, urlTtlSeconds, { filename: meta.kind === 'image' ? undefined : meta.name });
    return { url, expires_at: Date.now() + urlTtlSeconds * 1000, content_type: type };
  }

  /**
   * After a message with attachments was stored: renditions finished between the SEND's
   * read of its attachments and its commit are announced now (the job, seeing the
   * attachment not yet posted, left that to this call). A repeat is a no-op in the actor.
   */
  async posted(convId: string, seq: number, sent: readonly Attachment[]): Promise<void> {
    const recs = await this.opts.store.getAttachments(sent.map((a) => a.id));
    for (const rec of recs) {
      const before = sent.find((a) => a.id === rec.attachment_id);
      if (rec.meta !== null && before !== undefined && before.display === null && rec.meta.display !== null) {
        await this.announce(convId, seq, rec.owner_id, rec.meta);
      }
    }
  }

  /** One pass of the collector; passes never overlap. */
  collect(): Promise<void> {
    this.collecting ??= this.collectOnce().finally(() => (this.collecting = null));
    return this.collecting;
  }

  // ------------------------------------------------------------------ internals

  private async owned(userId: string, id: string): Promise<AttachmentRecord> {
    const [rec] = await this.opts.store.getAttachments([id]);
    // Someone else's upload is answered as a missing one: ids are not probed.
    if (!rec || rec.owner_id !== userId) throw new ProtocolError('not_found', 'no such attachment');
    return rec;
  }

  private async readable(userId: string, id: string): Promise<AttachmentRecord> {
    const [rec] = await this.opts.store.getAttachments([id]);
    if (rec && rec.owner_id === userId) return rec;
    if (rec && rec.conv_id !== null && (await this.opts.store.getMember(rec.conv_id, userId)) !== null) return rec;
    throw new ProtocolError('not_found', 'no such attachment');
  }

  private async check(rec: AttachmentRecord): Promise<Attachment> {
    const { store, blobs, media, limits, maxPixels } = this.opts;
    const id = rec.attachment_id;
    const uploaded = await blobs.stat(blobKeys.upload(id));
    if (uploaded === null) throw new ProtocolError('bad_request', 'nothing was uploaded for this attachment (or its upload URL expired)');
    const max = maxBytesFor(rec.declared_type, limits);
    let bytes: Buffer;
    try {
      if (uploaded.size > max) throw new ProtocolError('too_large', `the upload is ${uploaded.size} bytes; at most ${max}`);
      if (uploaded.size !== rec.declared_size) throw new ProtocolError('bad_request', `size mismatch: declared ${rec.declared_size} bytes, uploaded ${uploaded.size}`);
      // The budget counted the declared size: a bigger object replaced since the stat is refused unread.
      const read = await readAll(await blobs.read(blobKeys.upload(id)), rec.declared_size);
      bytes = read.bytes;
      // Read again, not trusted from the stat: a PUT may have replaced the object between them.
      if (bytes.length !== rec.declared_size) throw new ProtocolError('bad_request', `size mismatch: declared ${rec.declared_size} bytes, uploaded ${bytes.length}`);
      const sha = read.sha256;
      if (sha !== rec.declared_sha256) throw new ProtocolError('bad_request', 'hash mismatch: the uploaded bytes do not have the declared sha256');
      const { kind, contentType } = resolveType(rec.declared_type, sniffType(bytes.subarray(0, 4096)), limits);
      let meta: Attachment = { id, kind, content_type: contentType, size: bytes.length, name: rec.name, width: null, height: null, placeholder: null, thumbnail: null, display: null };
      let thumbnail: ImageVariant | null = null;
      if (kind === 'image') {
        const preview = await media.preview(bytes, { maxPixels }).catch((err: unknown) => {
          throw refusalOf(err);
        });
        thumbnail = preview.thumbnail;
        meta = { ...meta, width: preview.width, height: preview.height, placeholder: preview.placeholder, thumbnail: variantOf(preview.thumbnail) };
      }
      // The reference first: from here on no collector deletes the blob under us.
      await store.refBlob(sha).catch((err: unknown) => {
        this.opts.logger.warn('blob reference not taken', { attachment_id: id, err });
        throw new ProtocolError('unavailable', 'the same content is being collected; retry shortly');
      });
      try {
        const stored = await blobs.stat(blobKeys.content(sha));
        if (stored === null || stored.size !== bytes.length) await blobs.write(blobKeys.content(sha), bytes, contentType);
        if (thumbnail !== null) await blobs.write(blobKeys.rendition(sha, 'thumbnail'), thumbnail.bytes, thumbnail.contentType);
        if (!(await store.completeAttachment(id, sha, meta))) {
          // A concurrent completion of the same upload won: keep its answer, drop our reference.
          await store.unrefBlob(sha);
          const [now] = await store.getAttachments([id]);
          if (now?.meta) return now.meta;
          throw new ProtocolError('not_found', 'no such attachment');
        }
      } catch (err) {
        if (!(err instanceof ProtocolError)) await store.unrefBlob(sha).catch(() => undefined);
        throw err;
      }
      if (kind === 'image') await this.opts.jobs.add(displayQueue, { attachment_id: id }, { jobId: id });
      await blobs.delete(blobKeys.upload(id)).catch((err: unknown) => this.opts.logger.warn('upload not removed', { attachment_id: id, err }));
      return meta;
    } catch (err) {
      if (err instanceof ProtocolError && err.code !== 'unavailable') {
        // Refused: nothing of it stays (the upload, the slot); the client asks for a new one.
        // A completion elsewhere may have won meanwhile: its record stays.
        await blobs.delete(blobKeys.upload(id)).catch(() => undefined);
        const [now] = await store.getAttachments([id]).catch(() => [undefined]);
        if (now?.state === 'pending') await store.deleteAttachments([id]).catch(() => undefined);
      }
      throw err;
    }
  }

  /** The display job: idempotent (a retry or a second run rewrites the same rendition). */
  private async makeDisplay(id: string): Promise<void> {
    const { store, blobs, media, maxPixels } = this.opts;
    const [rec] = await store.getAttachments([id]);
    if (!rec || rec.meta === null || rec.sha256 === null || rec.meta.kind !== 'image') return; // unsent and collected, or deleted
    let meta = rec.meta;
    if (meta.display === null) {
      const { bytes } = await readAll(await blobs.read(blobKeys.content(rec.sha256)), Number.MAX_SAFE_INTEGER);
      let display: ImageVariant;
      try {
        display = await media.display(bytes, { maxPixels });
      } catch (err) {
        // The preview of the same bytes succeeded; a refusal now will not change on retry.
        if (err instanceof MediaError && err.code !== 'worker_failed') {
          this.opts.logger.warn('display size not made; the thumbnail stands in', { attachment_id: id, code: err.code });
          this.displayFailed.add(id);
          return;
        }
        throw err;
      }
      await blobs.write(blobKeys.rendition(rec.sha256, 'display'), display.bytes, display.contentType);
      meta = { ...meta, display: variantOf(display) };
      if (!(await store.updateAttachmentMeta(id, meta))) return;
    }
    // Posted meanwhile? Then every device learns of it; if not, posted() will tell them.
    const [now] = await store.getAttachments([id]);
    if (now?.conv_id != null && now.seq != null) await this.announce(now.conv_id, now.seq, now.owner_id, meta);
  }

  /** The upload job: a completed, refused or collected slot's `uploads/<id>` goes (idempotent). */
  private async removeStaleUpload(id: string): Promise<void> {
    const [rec] = await this.opts.store.getAttachments([id]);
    // Still pending: the collector removes it with the slot.
    if (rec?.state === 'pending') return;
    await this.opts.blobs.delete(blobKeys.upload(id));
  }

  private async announce(convId: string, seq: number, ownerId: string, attachment: Attachment): Promise<void> {
    await this.opts.route({ op: 'attachment_ready', conv_id: convId, user_id: ownerId, target_seq: seq, attachment });
  }

  private async collectOnce(): Promise<void> {
    const { store, blobs, unsentTtlMs, logger } = this.opts;
    try {
      for (;;) {
        const stale = await store.listUnposted(Date.now() - unsentTtlMs, 100);
        if (stale.length === 0) break;
        const removed = await store.deleteAttachments(stale.map((r) => r.attachment_id));
        // Every reference first: a record removed is never listed again, so an error later
        // in this pass must not leave its blob referenced forever.
        for (const rec of removed) if (rec.sha256 !== null) await store.unrefBlob(rec.sha256);
        for (const rec of removed) await blobs.delete(blobKeys.upload(rec.attachment_id)).catch((err: unknown) => logger.warn('upload not removed', { attachment_id: rec.attachment_id, err }));
        if (stale.length < 100) break;
      }
      for (;;) {
        const orphans = await store.listUnreferencedBlobs(Date.now(), 100, Date.now() - claimLeaseMs);
        if (orphans.length === 0) break;
        for (const blob of orphans) {
          // Claimed first (or a stale claim taken over): a completion of the same content waits until the blob is gone.
          if (!(await store.claimBlob(blob.sha256, blob.unreferenced_since, blob.claimed_at))) continue;
          await blobs.delete(blobKeys.content(blob.sha256));
          await blobs.delete(blobKeys.rendition(blob.sha256, 'thumbnail'));
          await blobs.delete(blobKeys.rendition(blob.sha256, 'display'));
          await store.dropBlob(blob.sha256);
        }
        if (orphans.length < 100) break;
      }
    } catch (err) {
      logger.error('attachment collection failed; the next pass retries', { err });
    }
  }

  /** Waits until `bytes` more fit the completion budget (first come, first served). */
  private async room(bytes: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.inFlightBytes += bytes;
      return;
    }
    await new Promise<void>((start) => this.waiting.push({ bytes, start }));
  }

  private fits(bytes: number): boolean {
    return this.inFlightBytes === 0 || this.inFlightBytes + bytes <= (this.opts.completeBudgetBytes ?? 256 * 1024 * 1024);
  }

  private release(bytes: number): void {
    this.inFlightBytes -= bytes;
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift() as { bytes: number; start: () => void };
      this.inFlightBytes += next.bytes;
      next.start();
    }
  }
}

function variantOf(v: ImageVariant): AttachmentVariant {
  return { width: v.width, height: v.height, size: v.bytes.length, content_type: v.contentType };
}

/** A refused image as the client is told; a crashed worker is a retryable failure. */
function refusalOf(err: unknown): unknown {
  if (!(err instanceof MediaError)) return err;
  switch (err.code) {
    case 'too_many_pixels':
      return new ProtocolError('too_large', 'the image has too many pixels');
    case 'truncated':
      return new ProtocolError('bad_request', 'the image is truncated');
    case 'not_image':
    case 'unsupported':
      return new ProtocolError('bad_request', `the image cannot be read: ${err.message}`);
    default:
      return new ProtocolError('unavailable', 'the image could not be processed; retry');
  }
}

/**
 * Reads a stream into memory, refusing more than `max` bytes, and hashes it as it comes:
 * one sha256 over a whole 12 MP photo at the end would hold the event loop for ~15 ms.
 */
async function readAll(stream: Readable, max: number): Promise<{ bytes: Buffer; sha256: string }> {
  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  let n = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > max) {
      stream.destroy();
      throw new ProtocolError('too_large', `the upload exceeds ${max} bytes`);
    }
    hash.update(b);
    chunks.push(b);
  }
  return { bytes: Buffer.concat(chunks, n), sha256: hash.digest('hex') };
}

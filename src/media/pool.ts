/**
 * Image processing off the event loop: a piscina pool of `image-worker.ts` threads. The loop
 * only sniffs the head, posts the bytes and receives the variants.
 */
import os from 'node:os';
import { Piscina, queueOptionsSymbol, type PiscinaTask, type TaskQueue } from 'piscina';
import { MediaError } from './errors';
import { sniffType } from './sniff';
import type { ImageOptions, ImagePreview, ImageStage, ImageTask, ImageTaskResult, ImageVariant, WireVariant } from './types';
import { compiledWorker } from '../worker-script';

export interface MediaPoolOptions extends ImageOptions {
  /** Worker threads; one per core by default (each runs libvips single-threaded). */
  threads?: number;
}

/** Longest a display size waits for previews to leave the pool: a steady stream of uploads must not starve it. */
const displayHoldMs = 2000;
/** 40 MP: above any phone camera's default output, far below what would exhaust memory. */
const defaultMaxPixels = 40_000_000;
const defaultThumbnailSize = 320;
const defaultDisplaySize = 1600;

/**
 * Processes uploaded images on worker threads. Every failure is a MediaError with a stable
 * code; a worker that dies fails only its own task (`worker_failed`) and is replaced.
 */
export class MediaPool {
  private readonly pool: Piscina<ImageTask, ImageTaskResult>;
  /** Worker threads in the pool. */
  readonly threads: number;
  /** Previews queued or running. */
  private previews = 0;
  private readonly defaults: Required<ImageOptions>;

  constructor(opts: MediaPoolOptions = {}) {
    const threads = opts.threads ?? os.availableParallelism();
    this.threads = threads;
    this.pool = new Piscina({ filename: workerScript(), minThreads: threads, maxThreads: threads, taskQueue: new PreviewsFirst() });
    this.defaults = {
      maxPixels: opts.maxPixels ?? defaultMaxPixels,
      thumbnailSize: opts.thumbnailSize ?? defaultThumbnailSize,
      displaySize: opts.displaySize ?? defaultDisplaySize,
    };
  }

  /**
   * The quick stage: auto-oriented size, a metadata-free thumbnail and the placeholder, or
   * a MediaError (not an image, truncated, too many pixels, ...).
   */
  async preview(bytes: Buffer, opts: ImageOptions = {}): Promise<ImagePreview> {
    this.previews++;
    let ran: Awaited<ReturnType<MediaPool['run']>>;
    try {
      ran = await this.run('preview', bytes, opts);
    } finally {
      this.previews--;
    }
    const { sourceType, result } = ran;
    if (result.stage !== 'preview') throw new MediaError('worker_failed', `worker answered ${result.stage} to a preview`);
    return { sourceType, width: result.width, height: result.height, thumbnail: toVariant(result.thumbnail), placeholder: result.placeholder };
  }

  /**
   * The display rendition (auto-oriented, metadata-free), or a MediaError. Waits while
   * previews are in the pool (at most `displayHoldMs`): a display started on every worker
   * would make the next previews wait for it, and previews are what recipients wait for.
   */
  async display(bytes: Buffer, opts: ImageOptions = {}): Promise<ImageVariant> {
    const until = Date.now() + displayHoldMs;
    while (this.previews > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const { result } = await this.run('display', bytes, opts);
    if (result.stage !== 'display') throw new MediaError('worker_failed', `worker answered ${result.stage} to a display`);
    return toVariant(result.display);
  }

  private async run(stage: ImageStage, bytes: Buffer, opts: ImageOptions): Promise<{ sourceType: string; result: ImageTaskResult & { ok: true } }> {
    // Refuse non-images here: the sniff reads a few bytes, cheaper than a thread hop.
    const sourceType = sniffType(bytes);
    if (sourceType.kind !== 'image') {
      throw new MediaError('not_image', `not an image (${sourceType.contentType})`);
    }
    // A small view into a large ArrayBuffer would clone the whole buffer to the worker.
    const owned = bytes.byteLength === bytes.buffer.byteLength ? bytes : Uint8Array.prototype.slice.call(bytes);
    const task: ImageTask & { [queueOptionsSymbol]: QueueOptions } = {
      stage,
      bytes: owned,
      ...this.defaults,
      ...definedOnly(opts),
      [queueOptionsSymbol]: { urgent: stage === 'preview' },
    };
    let result: ImageTaskResult;
    try {
      result = await this.pool.run(task);
    } catch (err) {
      throw new MediaError('worker_failed', err instanceof Error ? err.message : String(err));
    }
    if (!result.ok) throw new MediaError(result.code, result.message);
    return { sourceType: sourceType.contentType, result };
  }

  /** Waits for nothing: tasks still queued or running reject. */
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

interface QueueOptions {
  urgent: boolean;
}

/**
 * The pool's queue: previews go ahead of display sizes. A preview is what a recipient waits
 * for (the placeholder and thumbnail come with the message), costs a fraction of a display,
 * and would otherwise wait behind every display job already queued.
 */
class PreviewsFirst implements TaskQueue {
  private readonly urgent: PiscinaTask[] = [];
  private readonly later: PiscinaTask[] = [];

  get size(): number {
    return this.urgent.length + this.later.length;
  }

  push(task: PiscinaTask): void {
    const opts = task[queueOptionsSymbol as keyof PiscinaTask] as QueueOptions | null;
    (opts?.urgent ? this.urgent : this.later).push(task);
  }

  shift(): PiscinaTask | null {
    return this.urgent.shift() ?? this.later.shift() ?? null;
  }

  remove(task: PiscinaTask): void {
    for (const list of [this.urgent, this.later]) {
      const i = list.indexOf(task);
      if (i >= 0) list.splice(i, 1);
    }
  }
}

function definedOnly(opts: ImageOptions): ImageOptions {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as ImageOptions;
}

function toVariant(v: WireVariant): ImageVariant {
  return { ...v, bytes: Buffer.from(v.bytes.buffer, v.bytes.byteOffset, v.bytes.byteLength) };
}

/** The compiled worker next to this file, or in dist/ when running from src/ under ts-jest. */
function workerScript(): string {
  const found = compiledWorker('media/image-worker.js');
  if (found === null) throw new Error('media: compiled image worker not found (run npm run build)');
  return found;
}

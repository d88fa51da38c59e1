/** Shapes shared by the pool (event loop) and the image worker; no code, so both can import it. */
import type { MediaErrorCode } from './errors';

/** Limits and sizes for one image; every field has a default in `pool.ts`. */
export interface ImageOptions {
  /** Refuse images whose declared width × height exceeds this (decompression bombs). */
  maxPixels?: number;
  /** Longest side of the thumbnail box (fit inside, never enlarged). */
  thumbnailSize?: number;
  /** Longest side of the display box (fit inside, never enlarged). */
  displaySize?: number;
}

/** One encoded rendition: metadata-free bytes ready to store and serve. */
export interface ImageVariant {
  bytes: Buffer;
  width: number;
  height: number;
  contentType: string;
}

/** What the first, quick stage yields: enough to show the image small at once. */
export interface ImagePreview {
  /** The sniffed type of the original upload. */
  sourceType: string;
  /** Size of the original once auto-oriented (a portrait phone photo reports portrait). */
  width: number;
  height: number;
  thumbnail: ImageVariant;
  /** ThumbHash of the image, base64: a few dozen bytes the client blurs up at once. */
  placeholder: string;
}

/** Which stage a task runs: `preview` (size, thumbnail, placeholder) or `display`. */
export type ImageStage = 'preview' | 'display';

/** The task posted to the worker. */
export interface ImageTask {
  stage: ImageStage;
  bytes: Uint8Array;
  maxPixels: number;
  thumbnailSize: number;
  displaySize: number;
}

/** A variant as it crosses the thread boundary (structured clone turns Buffers into Uint8Arrays). */
export interface WireVariant {
  bytes: Uint8Array;
  width: number;
  height: number;
  contentType: string;
}

/**
 * The worker's answer. Refusals come back as values: an Error's custom `code` would not
 * survive the structured clone between threads.
 */
export type ImageTaskResult =
  | { ok: true; stage: 'preview'; width: number; height: number; thumbnail: WireVariant; placeholder: string }
  | { ok: true; stage: 'display'; display: WireVariant }
  | { ok: false; code: MediaErrorCode; message: string };

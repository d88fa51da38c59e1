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

/** What processing an upload yields. */
export interface ProcessedImage {
  /** The sniffed type of the original upload. */
  sourceType: string;
  /** Size of the original once auto-oriented (a portrait phone photo reports portrait). */
  width: number;
  height: number;
  thumbnail: ImageVariant;
  display: ImageVariant;
  /** ThumbHash of the image, base64: a few dozen bytes the client blurs up at once. */
  placeholder: string;
}

/** The task posted to the worker. */
export interface ImageTask {
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
  | { ok: true; width: number; height: number; thumbnail: WireVariant; display: WireVariant; placeholder: string }
  | { ok: false; code: MediaErrorCode; message: string };

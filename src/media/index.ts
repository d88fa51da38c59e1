/**
 * Media module: what an uploaded attachment is (`sniffType`, from magic bytes, on the loop)
 * and, for images, the variants to serve (`MediaPool`, sharp on worker threads).
 *
 * Contract:
 * - Only bytes whose magic says JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF are treated as images.
 * - Every served variant is auto-oriented and carries no metadata (no EXIF, no GPS).
 * - Failures are MediaError with a stable code; none is an untyped crash, none stops the pool.
 */
export { MediaError, type MediaErrorCode } from './errors';
export { MediaPool, type MediaPoolOptions } from './pool';
export { sniffLength, sniffType, type SniffResult } from './sniff';
export type { ImageOptions, ImagePreview, ImageVariant } from './types';

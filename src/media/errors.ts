/**
 * The one way media processing fails. Codes are stable (callers map them to protocol
 * errors); the message is for logs and may change.
 */
export type MediaErrorCode =
  /** The bytes are not an image: unknown magic bytes, empty input, or another kind (PDF, .exe). */
  | 'not_image'
  /** An image whose pixel data ends early (cut-off upload). */
  | 'truncated'
  /** Declared width × height over the pixel limit: refused before decoding (decompression bomb). */
  | 'too_many_pixels'
  /** An image format this build cannot decode (e.g. HEVC-coded HEIC), or a corrupt image. */
  | 'unsupported'
  /** The worker died or failed in a way the codes above do not name; the pool carries on. */
  | 'worker_failed';

/** A typed refusal: `code` is stable, `message` is sharp's or ours. */
export class MediaError extends Error {
  override readonly name = 'MediaError';
  constructor(
    readonly code: MediaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Whether the bytes lack the end marker their format requires. libpng reports a cut-off
 * PNG only as "libpng read error", the same words as a corrupt one; the missing IEND
 * chunk (or GIF trailer) tells the two apart.
 */
function lacksEndMarker(input: Buffer): boolean {
  if (input.subarray(0, 4).toString('latin1') === '\x89PNG') {
    return !input.subarray(-64).includes('IEND');
  }
  if (input.subarray(0, 3).toString('latin1') === 'GIF') return input[input.length - 1] !== 0x3b;
  return false;
}

/**
 * Maps libvips' messages (and, for formats whose decoder does not say "truncated", the
 * input's missing end marker) to codes. The worker runs it and sends a plain value back:
 * custom Error properties do not survive the structured clone between threads.
 */
export function classifySharpError(message: string, input: Buffer): MediaErrorCode {
  const m = message.toLowerCase();
  if (m.includes('pixel limit')) return 'too_many_pixels';
  if (
    m.includes('premature end') ||
    m.includes('truncated') ||
    m.includes('unexpected end') ||
    m.includes('not enough data') ||
    m.includes('out of data')
  ) {
    return 'truncated';
  }
  if (m.includes('unsupported image format')) return 'not_image';
  return lacksEndMarker(input) ? 'truncated' : 'unsupported';
}

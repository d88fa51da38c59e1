/**
 * Content type from magic bytes. Pure and cheap (it reads at most `sniffLength` bytes), so it
 * runs on the event loop; the client's declared type is never trusted.
 */

/** What a stored attachment is, as far as its first bytes tell. */
export interface SniffResult {
  kind: 'image' | 'video' | 'audio' | 'file';
  contentType: string;
}

/** Bytes of the head that sniffType looks at; passing more is harmless. */
export const sniffLength = 64;

const unknown: SniffResult = { kind: 'file', contentType: 'application/octet-stream' };

function ascii(head: Buffer, start: number, end: number): string {
  return head.length >= end ? head.toString('latin1', start, end) : '';
}

function startsWith(head: Buffer, bytes: readonly number[]): boolean {
  return head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
}

/** ISO base media (`ftyp` box): HEIC/HEIF, AVIF, MP4, MOV, M4A share the container. */
function isoBmff(head: Buffer): SniffResult | null {
  if (ascii(head, 4, 8) !== 'ftyp') return null;
  const boxSize = head.readUInt32BE(0);
  const major = ascii(head, 8, 12);
  // Compatible brands follow the minor version, up to the end of the ftyp box.
  const brands = [major];
  for (let at = 16; at + 4 <= Math.min(boxSize, head.length); at += 4) brands.push(ascii(head, at, at + 4));
  if (major === 'avif' || major === 'avis') return { kind: 'image', contentType: 'image/avif' };
  if (['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx'].includes(major)) return { kind: 'image', contentType: 'image/heic' };
  if (major === 'mif1' || major === 'msf1') {
    // A generic HEIF brand: AVIF files written by some encoders name avif only as compatible.
    if (brands.includes('avif')) return { kind: 'image', contentType: 'image/avif' };
    return { kind: 'image', contentType: 'image/heif' };
  }
  if (major === 'qt  ') return { kind: 'video', contentType: 'video/quicktime' };
  if (major === 'M4A ' || major === 'M4B ') return { kind: 'audio', contentType: 'audio/mp4' };
  if (major.startsWith('3g')) return { kind: 'video', contentType: 'video/3gpp' };
  // isom, iso2..iso9, mp41, mp42, avc1, dash, M4V, mmp4 and the rest of the MP4 family.
  return { kind: 'video', contentType: 'video/mp4' };
}

/** MPEG audio frame sync (11 set bits), layer not 00 (that is AAC's ADTS, not MP3). */
function isMpegAudioFrame(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0xff && (head[1] & 0xe0) === 0xe0 && (head[1] & 0x06) !== 0;
}

/**
 * What the head of a file is. Anything not recognised (an .exe's `MZ` included) is
 * `application/octet-stream` of kind `file`: only listed image magic makes an image.
 */
export function sniffType(head: Buffer): SniffResult {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: 'image', contentType: 'image/jpeg' };
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', contentType: 'image/png' };
  const six = ascii(head, 0, 6);
  if (six === 'GIF87a' || six === 'GIF89a') return { kind: 'image', contentType: 'image/gif' };
  if (ascii(head, 0, 4) === 'RIFF') {
    const form = ascii(head, 8, 12);
    if (form === 'WEBP') return { kind: 'image', contentType: 'image/webp' };
    if (form === 'WAVE') return { kind: 'audio', contentType: 'audio/wav' };
    return unknown;
  }
  const bmff = isoBmff(head);
  if (bmff) return bmff;
  // QuickTime files written without an ftyp box open with one of these atoms.
  if (['moov', 'mdat', 'wide'].includes(ascii(head, 4, 8))) return { kind: 'video', contentType: 'video/quicktime' };
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) {
    // EBML: the DocType element says WebM or Matroska; it sits in the first few dozen bytes.
    return head.includes('webm', 0, 'latin1')
      ? { kind: 'video', contentType: 'video/webm' }
      : { kind: 'video', contentType: 'video/x-matroska' };
  }
  if (ascii(head, 0, 3) === 'ID3' || isMpegAudioFrame(head)) return { kind: 'audio', contentType: 'audio/mpeg' };
  if (ascii(head, 0, 4) === 'OggS') return { kind: 'audio', contentType: 'audio/ogg' };
  if (ascii(head, 0, 5) === '%PDF-') return { kind: 'file', contentType: 'application/pdf' };
  if (head.length >= 4 && startsWith(head, [0x50, 0x4b]) && [0x0304, 0x0506, 0x0708].includes(head.readUInt16BE(2))) {
    return { kind: 'file', contentType: 'application/zip' };
  }
  return unknown;
}

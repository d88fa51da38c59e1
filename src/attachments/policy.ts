/**
 * What an upload may be: pure rules, no I/O. The type of an attachment is the one sniffed
 * from its bytes; the client's declared type must agree with it, so an executable named
 * `.jpg` and declared `image/jpeg` is refused, and an image is never served as anything else.
 */
import { ProtocolError, type AttachmentKind } from '../protocol';
import type { SniffResult } from '../media';

export interface AttachmentLimits {
  /** Content types allowed (lowercase), after sniffing. */
  types: readonly string[];
  maxImageBytes: number;
  maxFileBytes: number;
}

/** Containers the sniffer reports as zip although they are documents of their own type. */
const zipFamily = new Set([
  'application/zip',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.presentation',
  'application/epub+zip',
]);

/** Other spellings clients send for a type the sniffer names. */
const aliases: Readonly<Record<string, string>> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/heif': 'image/heic',
  'audio/mp3': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
};

/** Types the sniffer recognises: a declared one of these must be what the bytes are. */
function sniffable(type: string): boolean {
  return /^(image|video|audio)\//.test(type) || type === 'application/pdf' || zipFamily.has(type);
}

/** The declared type as compared: lowercase, parameters dropped, aliases resolved. */
export function normalType(type: string): string {
  const bare = type.split(';')[0].trim().toLowerCase();
  return aliases[bare] ?? bare;
}

function kindOf(type: string): AttachmentKind {
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  return 'file';
}

/** The largest upload of a declared (or sniffed) type. */
export function maxBytesFor(type: string, limits: AttachmentLimits): number {
  return kindOf(normalType(type)) === 'image' ? limits.maxImageBytes : limits.maxFileBytes;
}

/** Checked when a slot is asked for: the declared type is allowed and the size within its limit. */
export function checkDeclared(type: string, size: number, limits: AttachmentLimits): void {
  const t = normalType(type);
  if (!allowed(t, limits)) throw new ProtocolError('bad_request', `content type ${t} is not allowed`);
  const max = maxBytesFor(t, limits);
  if (size > max) throw new ProtocolError('too_large', `a ${kindOf(t)} may be at most ${max} bytes`);
}

function allowed(type: string, limits: AttachmentLimits): boolean {
  // HEIC and HEIF are one format: allowing either allows both.
  if (type === 'image/heic') return limits.types.includes('image/heic') || limits.types.includes('image/heif');
  return limits.types.includes(type);
}

/**
 * What the stored bytes are, given what the client declared and what the sniffer saw;
 * refuses a mismatch. Audio and video in MP4-family (ISO BMFF) or WebM/Matroska containers
 * may be declared as either; documents in zip containers keep their declared type.
 */
export function resolveType(declared: string, sniffed: SniffResult, limits: AttachmentLimits): { kind: AttachmentKind; contentType: string } {
  const d = normalType(declared);
  const s = normalType(sniffed.contentType);
  let type: string;
  if (s === 'application/octet-stream') {
    // Unrecognised bytes: fine for types we cannot sniff (text), never for one we can.
    if (sniffable(d)) throw mismatch(d, 'not recognised as that type');
    type = d;
  } else if (zipFamily.has(s) && zipFamily.has(d)) {
    type = d;
  } else if (d === s || (isBmff(d) && isBmff(s)) || (isMatroska(d) && isMatroska(s))) {
    type = d;
  } else {
    throw mismatch(d, `the bytes are ${s}`);
  }
  if (!allowed(type, limits)) throw new ProtocolError('bad_request', `content type ${type} is not allowed`);
  return { kind: kindOf(type), contentType: type };
}

/** WebM and Matroska hold audio or video: a voice note from MediaRecorder is audio/webm. */
function isMatroska(type: string): boolean {
  return type === 'video/webm' || type === 'audio/webm' || type === 'video/x-matroska';
}

function isBmff(type: string): boolean {
  return type === 'video/mp4' || type === 'audio/mp4' || type === 'video/quicktime';
}

function mismatch(declared: string, why: string): ProtocolError {
  return new ProtocolError('bad_request', `type mismatch: declared ${declared}, but ${why}`);
}

/** A file name safe to store and to offer back: no path, no control characters, at most 255 characters. */
export function cleanName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  const cut = [...clean].slice(0, 255).join('');
  return cut === '' || cut === '.' || cut === '..' ? 'file' : cut;
}

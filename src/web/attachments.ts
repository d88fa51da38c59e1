/**
 * Showing attachments: ThumbHash placeholders decoded to data: URLs, the size an image
 * takes in a message before any byte of it arrives, file icons and sizes, downloads.
 */
import { thumbHashToDataURL } from 'thumbhash';
import type { Attachment } from '../client';

/** Decoded placeholders by ThumbHash (a few dozen bytes each; a PNG of ~32 px once decoded). */
const placeholders = new Map<string, string | null>();

/** The placeholder as a data: URL (a blurred ~32 px PNG), or null when it does not decode. */
export function placeholderUrl(thumbHash: string): string | null {
  let url = placeholders.get(thumbHash);
  if (url === undefined) {
    try {
      url = thumbHashToDataURL(Uint8Array.from(atob(thumbHash), (c) => c.charCodeAt(0)));
    } catch {
      url = null;
    }
    if (placeholders.size > 500) placeholders.clear();
    placeholders.set(thumbHash, url);
  }
  return url;
}

/** The box an image takes in a message: its aspect ratio within `maxW` x `maxH`, never upscaled (unknown sizes: 4:3). */
export function fitBox(a: Pick<Attachment, 'width' | 'height'>, maxW: number, maxH: number): { width: number; height: number } {
  const w = a.width ?? 4;
  const h = a.height ?? 3;
  const scale = Math.min(maxW / w, maxH / h, a.width ? 1 : Infinity);
  return { width: Math.max(40, Math.round(w * scale)), height: Math.max(40, Math.round(h * scale)) };
}

/** "840 B", "12 KB", "3.4 MB". */
export function humanSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let n = bytes / 1000;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n < 10 ? n.toFixed(1).replace(/\.0$/, '') : Math.round(n)} ${units[i]}`;
}

/**
 * The label on a file's icon: its extension ("PDF", "ZIP"), else its kind ("VIDEO"), at
 * most 4 letters (text, not an emoji: it shows on systems without an emoji font).
 */
export function fileBadge(a: { kind?: Attachment['kind']; name: string }): string {
  const ext = /\.([a-z0-9]{1,4})$/i.exec(a.name)?.[1];
  if (ext) return ext.toUpperCase();
  if (a.kind === 'video') return 'VID';
  if (a.kind === 'audio') return 'AUD';
  return 'FILE';
}

/** Starts the download of a URL under `name` (the server's Content-Disposition names it too where `download` is ignored: another origin). */
export function startDownload(url: string, name: string): void {
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.rel = 'noopener';
  document.body.appendChild(link);
  link.click();
  link.remove();
}

/**
 * Long messages are clipped in the chat with "See more", as Messenger does: past a number
 * of characters or of lines, the start is shown cut at a word, never inside a link.
 */
import { linkify, type Piece } from './format';

/** A body longer than this many characters is clipped... */
export const clipChars = 600;
/** ...and so is one of more lines than this. */
export const clipLines = 12;

/** The body's pieces (text and links) to show before "See more", or null when it is short enough to show whole. */
export function clipBody(body: string): Piece[] | null {
  const lines = body.split('\n');
  if (body.length <= clipChars && lines.length <= clipLines) return null;
  // Clipping a body that is only a little over the limit would hide almost nothing.
  const limit = Math.min(clipChars * 0.8, lines.slice(0, clipLines - 2).join('\n').length);
  const out: Piece[] = [];
  let used = 0;
  for (const p of linkify(body)) {
    if (used + p.text.length <= limit) {
      out.push(p);
      used += p.text.length;
      continue;
    }
    if (!p.href) {
      const room = p.text.slice(0, limit - used);
      // Cut after the last whitespace when there is one not too far back.
      const space = room.search(/\s\S*$/);
      const cut = space > room.length * 0.6 ? room.slice(0, space) : room;
      if (cut) out.push({ text: cut.trimEnd() });
    }
    break;
  }
  return out;
}

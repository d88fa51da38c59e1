/**
 * Client text must be well-formed Unicode. JSON.parse turns an escaped lone surrogate
 * ("\ud800") into a JavaScript string that live frames carry as sent, while UTF-8 storage
 * (SQLite, Cassandra) cannot hold it and keeps U+FFFD instead: devices that got a message
 * live and devices that read it back would disagree. So such input is refused, once, over
 * the whole parsed value, rather than field by field. Pure: no I/O.
 */

// With the u flag a surrogate pair is one (astral) code point, so only lone halves match.
const loneSurrogate = /\p{Cs}/u;

/**
 * The first string of `value` (an object key included) that holds a lone UTF-16 surrogate,
 * named as a client would look for it ("body", "member_ids[2]", "webpush.keys.auth",
 * "a key of sync.convs", "the body" for the value itself); null when all text is well-formed.
 * Iterative, so no nesting depth can exhaust the stack.
 */
export function illFormedField(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, '']];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, path] = next;
    if (typeof v === 'string') {
      if (loneSurrogate.test(v)) return path === '' ? 'the body' : path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v);
      for (const [key] of entries) {
        if (loneSurrogate.test(key)) return path === '' ? 'a key of the body' : `a key of ${path}`;
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i];
        stack.push([child, path === '' ? key : `${path}.${key}`]);
      }
    }
  }
  return null;
}

/** The refusal's wording, after the field's name. */
export const illFormedMessage = 'must be well-formed Unicode text (it holds a lone UTF-16 surrogate)';

/** The first `maxChars` UTF-16 units of well-formed `text`, one fewer where the cut would split a surrogate pair. */
export function cutText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const last = text.charCodeAt(maxChars - 1);
  // A high surrogate last: its low half was cut off.
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars);
}

/**
 * A client_msg_id to echo as an ERROR's `ref`: cut to `maxChars` (cutText); null when it is
 * not a string or holds a lone surrogate. Server frames carry well-formed text only: strict
 * JSON decoders (Swift's among them) refuse a frame with a lone surrogate, so the ERROR
 * would be lost with the id.
 */
export function echoableRef(id: unknown, maxChars: number): string | null {
  if (typeof id !== 'string' || loneSurrogate.test(id)) return null;
  return cutText(id, maxChars);
}

/** Finding the URL a message links to, and deciding whether a URL may be fetched at all. */

/** Longest URL previewed; longer ones are more likely junk than pages. */
export const MAX_URL_LENGTH = 2048;

// A candidate runs from the scheme to the first character that cannot sit unescaped in a
// URL written in prose: whitespace, angle brackets, double quote, backtick.
const CANDIDATE = /https?:\/\/[^\s<>"`]+/gi;

// Prose punctuation that ends a sentence rather than a URL.
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', ']', '}', "'", '"']);

function count(text: string, ch: string): number {
  let n = 0;
  for (const c of text) if (c === ch) n++;
  return n;
}

/** Strips trailing punctuation, keeping a ")" that closes a "(" inside the URL (Wikipedia links). */
function trimTrailing(candidate: string): string {
  let s = candidate;
  for (;;) {
    const last = s.at(-1);
    if (last === undefined) return s;
    if (TRAILING.has(last) || (last === ')' && count(s, ')') > count(s, '('))) s = s.slice(0, -1);
    else return s;
  }
}

/** The URL, parsed, if it is an absolute http(s) URL with a host and at most MAX_URL_LENGTH long. */
export function parseHttpUrl(text: string): URL | null {
  if (text.length > MAX_URL_LENGTH) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.hostname === '' ? null : url;
}

/**
 * The first http:// or https:// URL in `body` (scheme case-insensitive) as written there,
 * trailing punctuation trimmed; candidates that do not parse or are too long are skipped.
 * Null when there is none.
 */
export function firstUrl(body: string): string | null {
  for (const match of body.matchAll(CANDIDATE)) {
    const candidate = trimTrailing(match[0]);
    if (parseHttpUrl(candidate) !== null) return candidate;
  }
  return null;
}

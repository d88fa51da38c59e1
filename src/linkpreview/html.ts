/**
 * Reads preview metadata out of HTML without a parser dependency. The scanner is tolerant
 * (attributes in any order, any quoting, unclosed tags at a truncated end) and skips
 * comments, scripts and styles so that markup quoted inside them is not mistaken for tags.
 * It only ever moves forward, so the cost is linear in the (byte-capped) input.
 */
import { MAX_URL_LENGTH } from './url';

/** Preview fields of one page; all null when the page says nothing usable. */
export interface PageMetadata {
  title: string | null;
  description: string | null;
  image_url: string | null;
  site_name: string | null;
}

const MAX_TITLE = 300;
const MAX_DESCRIPTION = 1000;
const MAX_SITE_NAME = 200;

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
};

// Named entities need their ";" (so "&copy=1" in a query string stays as written);
// numeric ones are accepted without it, as browsers do.
const ENTITY = /&(?:#(\d{1,8});?|#[xX]([0-9a-fA-F]{1,7});?|([a-zA-Z]+);)/g;

function codePoint(n: number): string {
  // NUL, surrogates and values past Unicode are what browsers replace, too.
  if (n === 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(n);
}

/** Decodes the entities the previews meet in practice; unknown named ones stay as written. */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (whole: string, dec?: string, hex?: string, name?: string) => {
    if (dec !== undefined) return codePoint(parseInt(dec, 10));
    if (hex !== undefined) return codePoint(parseInt(hex, 16));
    return NAMED_ENTITIES[(name ?? '').toLowerCase()] ?? whole;
  });
}

/** Whitespace collapsed and trimmed, cut to `max` code points (never inside a surrogate pair); null if empty. */
function clean(raw: string | undefined, max: number): string | null {
  if (raw === undefined) return null;
  const text = decodeEntities(raw).replace(/\s+/g, ' ').trim();
  if (text === '') return null;
  let out = '';
  let n = 0;
  for (const ch of text) {
    if (n++ === max) return out.trimEnd();
    out += ch;
  }
  return out;
}

/** The image URL made absolute against the page; kept only if http(s) and not absurdly long. */
function absoluteImage(raw: string | undefined, pageUrl: URL): string | null {
  if (raw === undefined) return null;
  const text = decodeEntities(raw).trim();
  if (text === '') return null;
  try {
    const url = new URL(text, pageUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    return url.href.length > MAX_URL_LENGTH ? null : url.href;
  } catch {
    return null;
  }
}

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';

/**
 * Attributes of a tag whose name ends at `from`, lower-cased names, raw (undecoded)
 * values; the first of a repeated attribute wins, as in HTML. `end` is the index after ">".
 */
function readAttributes(html: string, from: number): { attrs: Map<string, string>; end: number } {
  const attrs = new Map<string, string>();
  let i = from;
  const n = html.length;
  while (i < n) {
    while (i < n && (isSpace(html[i]) || html[i] === '/')) i++;
    if (i >= n) break;
    if (html[i] === '>') return { attrs, end: i + 1 };
    const nameStart = i;
    while (i < n && !isSpace(html[i]) && html[i] !== '/' && html[i] !== '>' && html[i] !== '=') i++;
    // A stray "=" where a name should start would otherwise stall the loop.
    if (i === nameStart) i++;
    const name = html.slice(nameStart, i).toLowerCase();
    while (i < n && isSpace(html[i])) i++;
    let value = '';
    if (html[i] === '=') {
      i++;
      while (i < n && isSpace(html[i])) i++;
      const quote = html[i];
      if (quote === '"' || quote === "'") {
        const close = html.indexOf(quote, i + 1);
        const stop = close === -1 ? n : close;
        value = html.slice(i + 1, stop);
        i = stop + 1;
      } else {
        const valueStart = i;
        while (i < n && !isSpace(html[i]) && html[i] !== '>') i++;
        value = html.slice(valueStart, i);
      }
    }
    if (name !== '' && !attrs.has(name)) attrs.set(name, value);
  }
  return { attrs, end: n };
}

/** Index just past the case-insensitive `needle` at or after `from`, or the end of input. */
function skipPast(html: string, lower: string, needle: string, from: number): number {
  const at = lower.indexOf(needle, from);
  return at === -1 ? html.length : at + needle.length;
}

/** Case-insensitive "<name" at `at`, followed by the end of the tag name. */
function tagAt(lower: string, at: number, name: string): boolean {
  if (!lower.startsWith(name, at + 1)) return false;
  const next = lower[at + 1 + name.length];
  return next === undefined || isSpace(next) || next === '>' || next === '/';
}

/**
 * Preview metadata of `html` fetched from `pageUrl` (the final URL after redirects, which
 * relative image URLs resolve against). Precedence: og:title > twitter:title > <title>;
 * og:description > twitter:description > meta description; og:image (or :url,
 * :secure_url) > twitter:image (or :src); og:site_name.
 */
export function parseMetadata(html: string, pageUrl: URL): PageMetadata {
  // ASCII-only lower-casing keeps indexes in `lower` valid in `html` (toLowerCase can
  // change the length, e.g. "İ" becomes two code units).
  const lower = html.replace(/[A-Z]+/g, (s) => s.toLowerCase());
  // First value per key: pages repeat og:image for alternates, the first is the main one.
  const meta = new Map<string, string>();
  let title: string | undefined;
  let i = lower.indexOf('<');
  while (i !== -1 && i < html.length) {
    let next: number;
    if (lower.startsWith('<!--', i)) {
      next = skipPast(html, lower, '-->', i + 4);
    } else if (tagAt(lower, i, 'script') || tagAt(lower, i, 'style')) {
      const name = tagAt(lower, i, 'script') ? 'script' : 'style';
      next = skipPast(html, lower, `</${name}`, i + 1 + name.length);
    } else if (tagAt(lower, i, 'meta')) {
      const { attrs, end } = readAttributes(html, i + 5);
      const key = (attrs.get('property') ?? attrs.get('name'))?.trim().toLowerCase();
      const content = attrs.get('content');
      if (key !== undefined && content !== undefined && !meta.has(key)) meta.set(key, content);
      next = end;
    } else if (tagAt(lower, i, 'title') && title === undefined) {
      // <title> holds text only (entities, no tags) up to </title>, or to the cut if truncated.
      const open = readAttributes(html, i + 6).end;
      const close = lower.indexOf('</title', open);
      title = html.slice(open, close === -1 ? html.length : close);
      next = close === -1 ? html.length : close;
    } else {
      next = i + 1;
    }
    i = lower.indexOf('<', next);
  }

  // The first key whose value survives cleaning wins, so an empty og:title falls back.
  const pick = <T>(keys: readonly string[], fallback: string | undefined, use: (raw: string | undefined) => T | null): T | null => {
    for (const k of keys) {
      const v = use(meta.get(k));
      if (v !== null) return v;
    }
    return use(fallback);
  };
  return {
    title: pick(['og:title', 'twitter:title'], title, (raw) => clean(raw, MAX_TITLE)),
    description: pick(['og:description', 'twitter:description', 'description'], undefined, (raw) => clean(raw, MAX_DESCRIPTION)),
    image_url: pick(['og:image', 'og:image:url', 'og:image:secure_url', 'twitter:image', 'twitter:image:src'], undefined, (raw) =>
      absoluteImage(raw, pageUrl),
    ),
    site_name: pick(['og:site_name'], undefined, (raw) => clean(raw, MAX_SITE_NAME)),
  };
}

/** Configuration and result shapes of the link previewer (re-exported by index.ts). */

export interface LinkPreviewConfig {
  /** CIDRs (IPv4 or IPv6, e.g. "127.0.0.2/32", "10.1.0.0/16", "::1/128") allowed even though they are private/loopback/etc. */
  allow: readonly string[];
  /** Budget for the whole fetch in ms: DNS, every redirect and the body read. */
  timeoutMs: number;
  /** Most body bytes read; reading stops (does not fail) at the cap and what arrived is parsed. */
  maxBytes: number;
  /** Redirects followed at most; one more means no preview. */
  maxRedirects: number;
  /** Most fetches at once; more wait in a queue (bounded: beyond 1000 queued, preview() resolves null). */
  concurrency: number;
}

/** What a page says about itself; every field but `url` may be null, never all three of title/description/image. */
export interface LinkPreviewResult {
  /** The URL as the message wrote it, not where redirects ended. */
  url: string;
  title: string | null;
  description: string | null;
  image_url: string | null;
  site_name: string | null;
}

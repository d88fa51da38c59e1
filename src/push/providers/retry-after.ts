/** The HTTP Retry-After header (RFC 9110 section 10.2.3), as push services send it with 429 and 503. */

/** Longest wait taken from a Retry-After; a larger one is clamped (a day is already "much later"). */
export const MAX_RETRY_AFTER_MS = 24 * 3600_000;

/**
 * Milliseconds to wait per `value` (delay-seconds or an HTTP-date, read at `now`),
 * clamped to [0, MAX_RETRY_AFTER_MS]; undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

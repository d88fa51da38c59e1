/**
 * Per-key token buckets (per-user send rate with a burst). Pure logic with the clock
 * passed in, so it is exact in tests; state is one small object per active key.
 */

interface Bucket {
  tokens: number;
  last: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** `perSecond` sustained, up to `burst` at once. */
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for `key`; false when the bucket is empty (the caller refuses). */
  take(key: string, now: number = Date.now()): boolean {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { tokens: this.burst, last: now }));
    else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.last) / 1000) * this.perSecond);
      b.last = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Drops buckets that are full again; call now and then to bound memory. */
  sweep(now: number = Date.now()): void {
    const fullAfterMs = (this.burst / this.perSecond) * 1000;
    for (const [key, b] of this.buckets) if (now - b.last > fullAfterMs) this.buckets.delete(key);
  }
}

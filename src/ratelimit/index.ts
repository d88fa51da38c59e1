/**
 * Rate limiting. Per-key token buckets (per-user send rate, per-address registration and
 * login, upload slots): pure logic with the clock passed in, so it is exact in tests;
 * state is one small object per active key. Per-account login backoff (login.ts, with a
 * Redis engine for clusters in login-redis.ts).
 */
export { MemoryLoginThrottle, backoffMs, defaultLoginBackoff, type LoginBackoffPolicy, type LoginThrottle } from './login';
export { RedisLoginThrottle, type LoginThrottleRedis } from './login-redis';

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

  /** How long until `key` has a token again (ms); 0 when it has one now. For a refusal's retry hint. */
  retryAfterMs(key: string, now: number = Date.now()): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.burst, b.tokens + ((now - b.last) / 1000) * this.perSecond);
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / this.perSecond) * 1000);
  }

  /** Drops buckets that are full again; call now and then to bound memory. */
  sweep(now: number = Date.now()): void {
    const fullAfterMs = (this.burst / this.perSecond) * 1000;
    for (const [key, b] of this.buckets) if (now - b.last > fullAfterMs) this.buckets.delete(key);
  }
}

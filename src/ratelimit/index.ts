/**
 * Per-key token buckets (per-user send rate with a burst, per-address registration and
 * login, upload slots), and the budgets every client frame type spends from
 * (docs/protocol.md, "Budgets"): pure logic with the clock passed in, so it is exact in
 * tests; state is one small object per active key. Per-account login backoff (login.ts,
 * with a Redis engine for clusters in login-redis.ts).
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
    readonly perSecond: number,
    readonly burst: number,
  ) {}

  /** Takes `cost` tokens for `key`; false (nothing taken) when there are fewer (the caller refuses). */
  take(key: string, now: number = Date.now(), cost = 1): boolean {
    const b = this.refill(key, now);
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  /** True while `key` has a token left (nothing is taken). */
  available(key: string, now: number = Date.now()): boolean {
    return this.refill(key, now).tokens >= 1;
  }

  /**
   * Takes `cost` tokens whether or not there are that many: for a cost known only after the
   * fact (the members a relay reached). The debt is paid back at the sustained rate before
   * `take` or `available` succeed again; it never exceeds one burst.
   */
  charge(key: string, cost: number, now: number = Date.now()): void {
    const b = this.refill(key, now);
    b.tokens = Math.max(-this.burst, b.tokens - cost);
  }

  /** Forgets `key` (its owner is gone: a closed session). */
  delete(key: string): void {
    this.buckets.delete(key);
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
    for (const [key, b] of this.buckets) {
      // A bucket in debt is full later than an empty one: forgetting it early would forgive the debt.
      if (now - b.last > ((this.burst - b.tokens) / this.perSecond) * 1000) this.buckets.delete(key);
    }
  }

  private refill(key: string, now: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { tokens: this.burst, last: now }));
    else {
      b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.last) / 1000) * this.perSecond);
      b.last = Math.max(b.last, now);
    }
    return b;
  }
}

/**
 * The budgets of the frame types that have no operator setting, as documented in
 * docs/protocol.md ("Budgets"); each is sustained per second, up to the burst at once.
 * They are meant never to bind a client that behaves as the docs (and the SDK) do.
 */
export const frameBudgets = {
  /**
   * READ and DELIVERED, per user. Forward-only markers: a client reports the newest seq it
   * has, and the burst covers a reconnect that reports every conversation it caught up on.
   */
  markers: { perSecond: 100, burst: 1000 },
  /** TYPING frames, per user: more than a client sending "started" on every keystroke. */
  typing: { perSecond: 10, burst: 20 },
  /**
   * Members TYPING was relayed to, per user: a relay to a 250-member group costs 249, to a
   * direct chat 1. Someone typing in a 250-member group and refreshing every 3 s spends
   * about 85 a second; the burst holds a few start/stop pairs there.
   */
  typingRelays: { perSecond: 500, burst: 2000 },
  /** PING, per session: a PONG is cheap, but apps ping for clock offsets, not in loops. */
  ping: { perSecond: 2, burst: 10 },
  /**
   * PRESENCE_SUB, per session, in full sets of MAX_PRESENCE_SUB users (each user named is a
   * presence read, a settings read and a PRESENCE answer): one a second, four at once.
   */
  presenceSub: { perSecond: 1, burst: 4 },
} as const;

/** The per-user budgets of conversation commands, shared by WebSocket, long-poll and REST. */
export class CommandBudgets {
  /** SEND, REACT, EDIT, DELETE, MUTE, MARK_UNREAD: RATE_LIMIT_PER_SECOND and RATE_LIMIT_BURST. */
  readonly writes: RateLimiter;
  readonly markers = new RateLimiter(frameBudgets.markers.perSecond, frameBudgets.markers.burst);
  readonly typing = new RateLimiter(frameBudgets.typing.perSecond, frameBudgets.typing.burst);
  readonly typingRelays = new RateLimiter(frameBudgets.typingRelays.perSecond, frameBudgets.typingRelays.burst);

  constructor(writesPerSecond: number, writesBurst: number) {
    this.writes = new RateLimiter(writesPerSecond, writesBurst);
  }

  sweep(now: number = Date.now()): void {
    this.writes.sweep(now);
    this.markers.sweep(now);
    this.typing.sweep(now);
    this.typingRelays.sweep(now);
  }
}

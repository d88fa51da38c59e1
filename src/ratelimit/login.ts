/**
 * Per-account login backoff: password attempts for one account slow down that account's
 * logins from every address, so spreading a guessing run over many addresses gains
 * nothing. Every attempt counts as a failure until it succeeds (so a burst of parallel
 * guesses cannot all pass before the first is counted); from the `freeAttempts`-th
 * attempt on, each one closes the account for `baseMs` doubled per further attempt, up
 * to `maxMs`. Attempts refused meanwhile are not counted (they tested nothing), so an
 * attacker cannot push the window past `maxMs`; a success forgets everything, and so does
 * `forgetMs` without an attempt. The cap is what keeps an attacker from locking the real
 * user out for long: at worst the account takes one try per `maxMs`.
 *
 * Engines: memory (one shard) and Redis (every shard of a cluster counts together).
 */

export interface LoginBackoffPolicy {
  /** Attempts allowed back to back; the next one waits `baseMs`. */
  freeAttempts: number;
  /** The first wait (ms); doubled per further attempt. */
  baseMs: number;
  /** The longest wait (ms). */
  maxMs: number;
  /** Attempts are forgotten after this long without one (ms). */
  forgetMs: number;
}

/** The defaults: 5 tries, then 1 s, 2 s, 4 s ... up to LOGIN_BACKOFF_MAX_SECONDS; forgotten after 15 minutes. */
export const defaultLoginBackoff: LoginBackoffPolicy = { freeAttempts: 5, baseMs: 1000, maxMs: 30_000, forgetMs: 15 * 60_000 };

export interface LoginThrottle {
  /**
   * Counts a password attempt for `account` and answers 0 (go on and check the password),
   * or, while the account is closed, answers how long it stays closed (ms) and counts nothing.
   */
  attempt(account: string): Promise<number>;
  /** The password was right: the account's attempts are forgotten. */
  succeeded(account: string): Promise<void>;
}

/** How long the `n`-th counted attempt closes the account (0 below `freeAttempts`). */
export function backoffMs(policy: LoginBackoffPolicy, n: number): number {
  if (n < policy.freeAttempts) return 0;
  return Math.min(policy.maxMs, policy.baseMs * 2 ** (n - policy.freeAttempts));
}

interface Entry {
  attempts: number;
  last: number;
  closedUntil: number;
}

/** One shard's throttle, in memory; bounded (the oldest accounts go first). */
export class MemoryLoginThrottle implements LoginThrottle {
  private readonly accounts = new Map<string, Entry>();
  private readonly now: () => number;
  /** Accounts attempted within `forgetMs` are kept; unknown usernames count too, so the map is bounded. */
  private readonly maxAccounts: number;

  constructor(
    private readonly policy: LoginBackoffPolicy,
    opts: { maxAccounts?: number; now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.maxAccounts = opts.maxAccounts ?? 100_000;
  }

  async attempt(account: string): Promise<number> {
    return this.attemptNow(account);
  }

  /** attempt(), synchronously (the memory engine needs no round trip). */
  attemptNow(account: string): number {
    const now = this.now();
    let e = this.accounts.get(account);
    if (e !== undefined && now - e.last >= this.policy.forgetMs) e = undefined;
    if (e !== undefined && e.closedUntil > now) return e.closedUntil - now;
    if (e === undefined) {
      e = { attempts: 0, last: now, closedUntil: 0 };
      this.accounts.delete(account);
      this.accounts.set(account, e);
      if (this.accounts.size > this.maxAccounts) {
        const oldest = this.accounts.keys().next();
        if (!oldest.done) this.accounts.delete(oldest.value);
      }
    }
    e.attempts++;
    e.last = now;
    const wait = backoffMs(this.policy, e.attempts);
    if (wait > 0) e.closedUntil = now + wait;
    return 0;
  }

  async succeeded(account: string): Promise<void> {
    this.accounts.delete(account);
  }

  /** Drops accounts whose attempts are forgotten; call now and then to bound memory. */
  sweep(): void {
    const now = this.now();
    for (const [account, e] of this.accounts) if (now - e.last >= this.policy.forgetMs) this.accounts.delete(account);
  }
}

/**
 * The per-shard cache of users' auth state (store: AuthState), so checking that a token
 * still counts costs a map lookup on every REST request and frame, not a store read.
 *
 * The store is the truth. A revocation made on any shard is applied here at once by the
 * bus message that announces it (gateway: `auth` on the users topic); the bus is
 * at-most-once, so an entry is also read again from the store once older than the TTL,
 * which bounds how long a lost message leaves a revoked token working (docs/protocol.md,
 * "Accounts and devices"). Bounded: the least recently stored entries go first.
 */
import type { AuthState } from '../store';
import { newerState } from './state';

/** What the cache reads from the store. */
export interface AuthStateSource {
  getAuthStates(userIds: readonly string[]): Promise<AuthState[]>;
}

export interface AuthCacheOptions {
  /** An entry older than this is read again before it is trusted (0: every check reads the store). */
  ttlMs: number;
  /** Most users held; beyond it the oldest entries are dropped. */
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  /** null: no such user (unknown ids are cached too, so a stream of their tokens reads once per TTL). */
  state: AuthState | null;
  at: number;
}

/** What the cache holds for a user, however old. */
export interface CachedAuth {
  state: AuthState | null;
  /** Older than the TTL: good for a verdict now, to be read again. */
  stale: boolean;
}

export class AuthCache {
  private readonly entries = new Map<string, Entry>();
  /** Store reads under way, so concurrent misses for one user read once. */
  private readonly loading = new Map<string, Promise<AuthState | null>>();
  private readonly now: () => number;

  constructor(
    private readonly source: AuthStateSource,
    private readonly opts: AuthCacheOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** The user's state: cached when younger than the TTL, else read from the store. */
  get(userId: string): Promise<AuthState | null> {
    const e = this.entries.get(userId);
    if (e !== undefined && this.now() - e.at < this.opts.ttlMs) return Promise.resolve(e.state);
    return this.load(userId);
  }

  /** What is cached, however old (undefined: nothing); never reads the store. */
  peek(userId: string): CachedAuth | undefined {
    const e = this.entries.get(userId);
    return e === undefined ? undefined : { state: e.state, stale: this.now() - e.at >= this.opts.ttlMs };
  }

  /** Reads the user's state from the store (one read for concurrent callers) and caches it. */
  load(userId: string): Promise<AuthState | null> {
    const pending = this.loading.get(userId);
    if (pending !== undefined) return pending;
    const done = this.source
      .getAuthStates([userId])
      .then((states) => this.store(userId, states[0] ?? null))
      .finally(() => this.loading.delete(userId));
    this.loading.set(userId, done);
    return done;
  }

  /** Reads the states of the users whose entries are missing or older than the TTL, in one store call; answers every user's. */
  async refresh(userIds: readonly string[]): Promise<Map<string, AuthState | null>> {
    const out = new Map<string, AuthState | null>();
    const now = this.now();
    const due: string[] = [];
    for (const id of userIds) {
      const e = this.entries.get(id);
      if (e !== undefined && now - e.at < this.opts.ttlMs) out.set(id, e.state);
      else due.push(id);
    }
    if (due.length === 0) return out;
    const found = new Map((await this.source.getAuthStates(due)).map((s) => [s.user_id, s]));
    for (const id of due) out.set(id, this.store(id, found.get(id) ?? null));
    return out;
  }

  /** A state learned from a revocation (made here, or announced on the bus): kept unless the cache has a newer one. */
  apply(state: AuthState): AuthState {
    // Never null: a state given is kept, or a newer one cached.
    return this.store(state.user_id, state) ?? state;
  }

  /** Forgets everything (after a bus outage: announcements may have been lost). */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Stores `state` unless a newer one is cached (a read that began before a revocation ends after it); returns what is kept. */
  private store(userId: string, state: AuthState | null): AuthState | null {
    const old = this.entries.get(userId);
    const kept = old?.state != null && state !== null ? newerState(old.state, state) : state;
    this.entries.delete(userId);
    this.entries.set(userId, { state: kept, at: this.now() });
    if (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return kept;
  }
}

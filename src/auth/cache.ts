/**
 * The per-shard cache of users' auth state (store: AuthState), so checking that a token
 * still counts costs a map lookup on every REST request and frame, not a store read.
 *
 * The store is the truth. A revocation made on any shard is applied here at once by the
 * bus message that announces it (gateway: `auth` on the users topic); the bus is
 * at-most-once, so an entry is also read again from the store, which bounds how long a
 * lost message leaves a revoked token working (docs/protocol.md, "How the check stays
 * cheap"), on two clocks:
 * - REST requests, CONNECT and frames read an entry again once older than the TTL
 *   (AUTH_CACHE_TTL_MS, 5 s by default): `get`, `peek(...).stale`.
 * - The heartbeat's re-check of sessions that send nothing (gateway recheck.ts) reads it
 *   again once per re-check interval (AUTH_RECHECK_MS, 5 min by default), at an offset
 *   fixed per user: `peek(...).recheckDue`, `reload`. Between the two an entry is trusted
 *   by the heartbeat and read again by the next frame or request only.
 * Bounded: the least recently stored entries go first.
 */
import type { AuthState } from '../store';
import { newerState } from './state';

/** What the cache reads from the store. */
export interface AuthStateSource {
  getAuthStates(userIds: readonly string[]): Promise<AuthState[]>;
}

export interface AuthCacheOptions {
  /** REST, CONNECT and frames: an entry older than this is read again before it is trusted (0: every check reads the store). */
  ttlMs: number;
  /**
   * The heartbeat's re-check: an entry is due at most this long after it was read, at the
   * user's own offset into the interval (see `nextRecheck`); 0 (or anything up to the
   * heartbeat): every re-check reads every user.
   */
  recheckMs: number;
  /** Most users held; beyond it the oldest entries are dropped. */
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  /** null: no such user (unknown ids are cached too, so a stream of their tokens reads once per TTL). */
  state: AuthState | null;
  /** When it was read from the store (or learned from a revocation). */
  at: number;
  /** From this time on the heartbeat's re-check reads it again. */
  recheckAt: number;
}

/** What the cache holds for a user, however old. */
export interface CachedAuth {
  state: AuthState | null;
  /** Older than the TTL: good for a verdict now, to be read again (REST, CONNECT, frames). */
  stale: boolean;
  /** Due for the heartbeat's re-check: the user's re-check time came since it was read. */
  recheckDue: boolean;
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
    if (e === undefined) return undefined;
    const now = this.now();
    return { state: e.state, stale: now - e.at >= this.opts.ttlMs, recheckDue: now >= e.recheckAt };
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

  /**
   * Reads these users' states from the store in one call and caches them, whatever their
   * entries' age (the caller chose them: the heartbeat's users due); answers every user's.
   */
  async reload(userIds: readonly string[]): Promise<Map<string, AuthState | null>> {
    const out = new Map<string, AuthState | null>();
    if (userIds.length === 0) return out;
    const found = new Map((await this.source.getAuthStates(userIds)).map((s) => [s.user_id, s]));
    for (const id of userIds) out.set(id, this.store(id, found.get(id) ?? null));
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
    const at = this.now();
    this.entries.delete(userId);
    this.entries.set(userId, { state: kept, at, recheckAt: nextRecheck(userId, at, this.opts.recheckMs) });
    if (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return kept;
  }
}

/**
 * The first time after `at` at which the heartbeat's re-check reads the user again: once
 * every `recheckMs`, at an offset into that interval fixed per user (a hash of the id). A
 * shard's users then fall due evenly over the interval, about HEARTBEAT_MS / `recheckMs` of
 * them per sweep, however they connected (all at once after a restart or a bus outage
 * included), and each is read every `recheckMs` in the steady state. Never more than
 * `recheckMs` after `at`, so the entry is read at the first sweep after that at the latest.
 * A read in between (a frame, a request) moves the next one to the following offset.
 */
function nextRecheck(userId: string, at: number, recheckMs: number): number {
  if (recheckMs <= 0) return at;
  const offset = hash(userId) % recheckMs;
  const into = (((at - offset) % recheckMs) + recheckMs) % recheckMs;
  return at + recheckMs - into;
}

/** FNV-1a, then murmur3's finaliser, so ids that differ in one character land far apart. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

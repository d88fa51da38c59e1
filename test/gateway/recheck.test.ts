/**
 * The heartbeat's auth re-check (src/gateway/recheck.ts) over an AuthCache with an
 * injected clock and a store whose getAuthStates calls are counted: a sweep reads only
 * the users due (once per AUTH_RECHECK_MS each), trusts the others' cached states without
 * reading them (older than the TTL included), and still ends a session whose revocation
 * announcement was lost within AUTH_RECHECK_MS + HEARTBEAT_MS.
 */
import { AuthCache, tokenCounts } from '../../src/auth';
import { AuthRecheck } from '../../src/gateway/recheck';
import type { AuthState } from '../../src/store';

const state = (userId: string, over: Partial<AuthState> = {}): AuthState => ({ user_id: userId, deleted: false, token_gen: 0, valid_from_gen: 0, revoked_devices: {}, ...over });

const heartbeatMs = 5000;
const recheckMs = 60_000;
const ttlMs = 100;

/** A cache over a store of states whose reads are counted, a clock the test moves, and a re-check recording what it enforced. */
function setup(userIds: string[], opts: { recheckMs?: number; maxEntries?: number } = {}) {
  const clock = { now: 0 };
  const states = new Map(userIds.map((id) => [id, state(id)]));
  const calls: string[][] = [];
  let gate: Promise<void> | null = null;
  const source = {
    async getAuthStates(ids: readonly string[]): Promise<AuthState[]> {
      calls.push([...ids]);
      const found = ids.flatMap((id) => (states.has(id) ? [states.get(id) as AuthState] : []));
      if (gate) await gate;
      return found;
    },
  };
  const cache = new AuthCache(source, { ttlMs, recheckMs: opts.recheckMs ?? recheckMs, maxEntries: opts.maxEntries ?? 10_000, now: () => clock.now });
  /** Every (user, state) the sweeps enforced, with the time. */
  const enforced: { at: number; userId: string; state: AuthState | null }[] = [];
  const recheck = new AuthRecheck(cache, (userId, s) => enforced.push({ at: clock.now, userId, state: s }));
  const hold = (): (() => void) => {
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    return () => {
      gate = null;
      open();
    };
  };
  const readsOf = (userId: string) => calls.filter((c) => c.includes(userId)).length;
  return { clock, states, calls, cache, enforced, recheck, hold, readsOf };
}

/** The session's token: generation 0, no device. */
const counts = (s: AuthState | null) => tokenCounts(s, 0, null, null);

test('each user is read once per interval, not at every sweep: entries past the TTL are trusted until their time', async () => {
  const ids = ['u_a', 'u_b', 'u_c'];
  const t = setup(ids);
  await t.cache.reload(ids); // read at CONNECT, t = 0
  expect(t.calls).toHaveLength(1);
  let read = 0;
  for (t.clock.now = heartbeatMs; t.clock.now <= recheckMs; t.clock.now += heartbeatMs) {
    // Past the TTL at every sweep: a frame would read the state again; the heartbeat does once per interval.
    for (const id of ids) expect(t.cache.peek(id)?.stale).toBe(true);
    read += await t.recheck.sweep(ids);
  }
  // Twelve sweeps, three users: each read once (at its own time in the interval), not 36 times.
  expect(read).toBe(3);
  for (const id of ids) expect(t.readsOf(id)).toBe(2);
  // Every sweep enforced every user's state all the same (from the cache when not read).
  expect(t.enforced).toHaveLength(12 * 3);
});

test('a revocation whose announcement was lost is enforced within AUTH_RECHECK_MS + HEARTBEAT_MS of the last read', async () => {
  const t = setup(['u_a']);
  await t.cache.reload(['u_a']); // read at t = 0
  t.clock.now = 1;
  t.states.set('u_a', state('u_a', { token_gen: 1, valid_from_gen: 1 })); // signed out everywhere; the bus lost it
  let endedAt = -1;
  for (t.clock.now = heartbeatMs; endedAt < 0 && t.clock.now <= 3 * recheckMs; t.clock.now += heartbeatMs) {
    await t.recheck.sweep(['u_a']);
    endedAt = t.enforced.find((e) => !counts(e.state))?.at ?? -1;
  }
  expect(endedAt).toBeGreaterThan(0);
  expect(endedAt).toBeLessThanOrEqual(recheckMs + heartbeatMs);
  // Until then the sweeps enforced the cached (old) state, without reading the store.
  expect(t.enforced.filter((e) => e.at < endedAt).every((e) => counts(e.state))).toBe(true);
  expect(t.calls).toHaveLength(2);
});

test('a revocation a request read into the cache ends the sessions at the next sweep, without another store read', async () => {
  const t = setup(['u_a']);
  await t.cache.reload(['u_a']);
  t.states.set('u_a', state('u_a', { deleted: true }));
  t.clock.now = 200; // past the TTL: a REST request reads the store again
  expect(await t.cache.get('u_a')).toMatchObject({ deleted: true });
  t.clock.now = 201;
  expect(t.cache.peek('u_a')?.recheckDue).toBe(false);
  expect(await t.recheck.sweep(['u_a'])).toBe(0);
  expect(t.enforced).toEqual([{ at: 201, userId: 'u_a', state: expect.objectContaining({ deleted: true }) }]);
  expect(t.calls).toHaveLength(2);
});

test('users without an entry (pushed out of the bounded cache, or cleared) are read at the next sweep, a chunk of 256 per store call', async () => {
  const ids = Array.from({ length: 600 }, (_, i) => `u_${i}`);
  const t = setup(ids, { maxEntries: 100 });
  t.clock.now = heartbeatMs;
  expect(await t.recheck.sweep(ids)).toBe(600);
  expect(t.calls.map((c) => c.length)).toEqual([256, 256, 88]);
  expect(t.cache.size).toBe(100);
  t.cache.clear();
  t.clock.now += heartbeatMs;
  expect(await t.recheck.sweep(ids.slice(0, 10))).toBe(10);
});

test('AUTH_RECHECK_MS 0 reads every user at every sweep (as before the interval existed)', async () => {
  const ids = ['u_a', 'u_b'];
  const t = setup(ids, { recheckMs: 0 });
  await t.cache.reload(ids);
  for (let i = 1; i <= 3; i++) {
    t.clock.now = i * heartbeatMs;
    expect(await t.recheck.sweep(ids)).toBe(2);
  }
  expect(t.calls).toHaveLength(4);
});

test('a sweep while one runs is skipped; stop() ends a sweep between store calls', async () => {
  const ids = Array.from({ length: 600 }, (_, i) => `u_${i}`);
  const t = setup(ids);
  t.clock.now = heartbeatMs;
  const open = t.hold();
  let stopped = false;
  const first = t.recheck.sweep(ids, () => stopped);
  expect(await t.recheck.sweep(ids)).toBe(0);
  stopped = true;
  open();
  expect(await first).toBe(256);
  expect(t.calls).toHaveLength(1);
});

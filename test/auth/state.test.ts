/** Whether a token counts (tokenCounts), and the per-shard cache of auth states (AuthCache). */
import { AuthCache, newerState, refusal, tokenCounts } from '../../src/auth';
import type { AuthState } from '../../src/store';

const state = (over: Partial<AuthState> = {}): AuthState => ({ user_id: 'u_1', deleted: false, token_gen: 0, valid_from_gen: 0, revoked_devices: {}, ...over });

describe('tokenCounts', () => {
  test('an unknown or deleted account counts no token', () => {
    expect(tokenCounts(null, 0, null, null)).toBe(false);
    expect(tokenCounts(state({ deleted: true }), 5, 'd', 'd')).toBe(false);
    expect([refusal(null), refusal(state({ deleted: true })), refusal(state())]).toEqual(['unknown user', 'account deleted', 'signed out']);
  });

  test('sign-out everywhere refuses tokens below valid_from_gen, whatever device', () => {
    const s = state({ token_gen: 3, valid_from_gen: 3 });
    expect(tokenCounts(s, 2, 'phone', 'phone')).toBe(false);
    expect(tokenCounts(s, 0, null, null)).toBe(false);
    expect(tokenCounts(s, 3, 'phone', 'phone')).toBe(true);
  });

  test('a signed-out device refuses its tokens up to its generation, by the device named or used', () => {
    const s = state({ token_gen: 4, revoked_devices: { phone: 2 } });
    expect(tokenCounts(s, 2, 'phone', null)).toBe(false); // REST with the phone's token
    expect(tokenCounts(s, 1, 'phone', 'phone')).toBe(false);
    expect(tokenCounts(s, 3, 'phone', 'phone')).toBe(true); // signed in again since
    expect(tokenCounts(s, 2, 'laptop', 'laptop')).toBe(true); // another device
    expect(tokenCounts(s, 2, 'laptop', 'phone')).toBe(false); // the laptop's older token used as the phone
    expect(tokenCounts(s, 2, null, 'phone')).toBe(false); // a token naming no device, used as the phone
    expect(tokenCounts(s, 0, null, null)).toBe(true); // an old token, used on REST
  });

  test('the newer state is the deleted one, else the higher generation', () => {
    expect(newerState(state({ token_gen: 2 }), state({ token_gen: 1 })).token_gen).toBe(2);
    expect(newerState(state({ token_gen: 1 }), state({ token_gen: 2 })).token_gen).toBe(2);
    expect(newerState(state({ token_gen: 9 }), state({ deleted: true, token_gen: 1 })).deleted).toBe(true);
    expect(newerState(state({ deleted: true, token_gen: 1 }), state({ token_gen: 9 })).deleted).toBe(true);
  });
});

describe('AuthCache', () => {
  /** A store of states whose reads are counted and can be held open. */
  function source(initial: AuthState[]) {
    const states = new Map(initial.map((s) => [s.user_id, s]));
    const calls: string[][] = [];
    let gate: Promise<void> | null = null;
    return {
      states,
      calls,
      hold(): () => void {
        let open!: () => void;
        gate = new Promise((r) => (open = r));
        return () => {
          gate = null;
          open();
        };
      },
      async getAuthStates(ids: readonly string[]): Promise<AuthState[]> {
        calls.push([...ids]);
        const snapshot = ids.flatMap((id) => (states.has(id) ? [states.get(id) as AuthState] : []));
        if (gate) await gate;
        return snapshot;
      },
    };
  }

  test('reads once per TTL, then again; unknown users are cached too', async () => {
    let now = 1000;
    const src = source([state()]);
    const cache = new AuthCache(src, { ttlMs: 100, recheckMs: 10_000, maxEntries: 10, now: () => now });
    expect(await cache.get('u_1')).toEqual(state());
    expect(await cache.get('u_1')).toEqual(state());
    expect(await cache.get('u_x')).toBeNull();
    expect(await cache.get('u_x')).toBeNull();
    expect(src.calls).toEqual([['u_1'], ['u_x']]);
    src.states.set('u_1', state({ token_gen: 1, valid_from_gen: 1 }));
    now += 99;
    expect(cache.peek('u_1')).toMatchObject({ state: state(), stale: false });
    expect((await cache.get('u_1'))?.token_gen).toBe(0);
    now += 1; // the TTL bounds how long a change made elsewhere goes unseen
    expect(cache.peek('u_1')?.stale).toBe(true);
    expect((await cache.get('u_1'))?.token_gen).toBe(1);
    expect(src.calls).toHaveLength(3);
  });

  test('concurrent misses read once', async () => {
    const src = source([state()]);
    const cache = new AuthCache(src, { ttlMs: 100, recheckMs: 10_000, maxEntries: 10 });
    const open = src.hold();
    const reads = [cache.get('u_1'), cache.get('u_1'), cache.load('u_1')];
    open();
    expect(await Promise.all(reads)).toEqual([state(), state(), state()]);
    expect(src.calls).toEqual([['u_1']]);
  });

  test('a read that began before a revocation does not undo it', async () => {
    const src = source([state()]);
    const cache = new AuthCache(src, { ttlMs: 100, recheckMs: 10_000, maxEntries: 10 });
    const open = src.hold();
    const read = cache.get('u_1'); // reads generation 0...
    const revoked = state({ token_gen: 1, valid_from_gen: 1 });
    expect(cache.apply(revoked)).toEqual(revoked); // ...while the bus announces generation 1
    open();
    expect(await read).toEqual(revoked);
    expect(cache.peek('u_1')?.state).toEqual(revoked);
    // An older announcement arriving late changes nothing either.
    expect(cache.apply(state())).toEqual(revoked);
  });

  test('reload reads the users given in one call, whatever their entries\' age; unknown users are cached as null', async () => {
    let now = 0;
    const src = source([state(), state({ user_id: 'u_2' })]);
    const cache = new AuthCache(src, { ttlMs: 100, recheckMs: 10_000, maxEntries: 10, now: () => now });
    await cache.get('u_1');
    now = 50;
    const got = await cache.reload(['u_1', 'u_2', 'u_3']);
    expect([...got.keys()]).toEqual(['u_1', 'u_2', 'u_3']);
    expect(got.get('u_3')).toBeNull();
    expect(src.calls).toEqual([['u_1'], ['u_1', 'u_2', 'u_3']]);
    expect(await cache.reload([])).toEqual(new Map());
    expect(src.calls).toHaveLength(2);
  });

  /** The first time from `from` on at which the cache calls the user's entry due for the heartbeat's re-check (-1: not within `within`). */
  function dueTime(cache: AuthCache, userId: string, setNow: (t: number) => void, from: number, within = 100_000): number {
    for (let t = from; t <= from + within; t++) {
      setNow(t);
      if (cache.peek(userId)?.recheckDue) return t;
    }
    return -1;
  }

  test('the heartbeat\'s re-check trusts an entry past the TTL until the user\'s re-check time, then once per interval', async () => {
    let now = 0;
    const setNow = (t: number) => (now = t);
    const src = source([state()]);
    const cache = new AuthCache(src, { ttlMs: 100, recheckMs: 10_000, maxEntries: 10, now: () => now });
    await cache.get('u_1');
    // The first re-check comes at the user's offset into the interval: never later than the interval.
    const first = dueTime(cache, 'u_1', setNow, 1);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(10_000);
    await cache.reload(['u_1']);
    // Past the TTL (frames would read it again) but trusted by the heartbeat until a whole interval passed.
    now = first + 5000;
    expect(cache.peek('u_1')).toEqual({ state: state(), stale: true, recheckDue: false });
    now = first + 9_999;
    expect(cache.peek('u_1')?.recheckDue).toBe(false);
    now = first + 10_000;
    expect(cache.peek('u_1')?.recheckDue).toBe(true);
    // A frame's read after that counts for the re-check too: the next one is the following interval's.
    now = first + 13_000;
    await cache.get('u_1');
    expect(dueTime(cache, 'u_1', setNow, now)).toBe(first + 20_000);
    // A revocation applied from the bus is as fresh as a read.
    now = first + 20_000;
    cache.apply(state({ token_gen: 1, valid_from_gen: 1 }));
    expect(cache.peek('u_1')).toMatchObject({ stale: false, recheckDue: false });
    expect(src.calls).toEqual([['u_1'], ['u_1'], ['u_1']]);
  });

  test('users read together fall due evenly over the interval, each at its own time', async () => {
    // A shard's users all reconnected at once (after a restart): one read each at t = 0.
    let now = 0;
    const ids = Array.from({ length: 1000 }, (_, i) => `u_${String(i).padStart(6, '0')}`);
    const src = source(ids.map((id) => state({ user_id: id })));
    const cache = new AuthCache(src, { ttlMs: 100, recheckMs: 80_000, maxEntries: 2000, now: () => now });
    await cache.reload(ids);
    // Heartbeats 5 s apart, for eight intervals, each reading the users due.
    const readPerSweep: number[] = [];
    for (now = 5000; now <= 8 * 80_000; now += 5000) {
      const due = ids.filter((id) => cache.peek(id)?.recheckDue);
      if (due.length > 0) await cache.reload(due);
      readPerSweep.push(due.length);
    }
    // Every user read once per interval...
    expect(readPerSweep.reduce((a, b) => a + b, 0)).toBe(8 * 1000);
    // ...about 1,000 x 5 s / 80 s = 62 per sweep, from the first interval on (without the
    // offsets each interval's reads would all land on one sweep: 1,000).
    expect(Math.max(...readPerSweep)).toBeLessThan(100);
    expect(Math.min(...readPerSweep)).toBeGreaterThan(30);
  });

  test('recheckMs 0: every entry is due for the re-check at once; the TTL still serves frames', async () => {
    let now = 0;
    const src = source([state()]);
    const cache = new AuthCache(src, { ttlMs: 100, recheckMs: 0, maxEntries: 10, now: () => now });
    await cache.get('u_1');
    expect(cache.peek('u_1')).toEqual({ state: state(), stale: false, recheckDue: true });
    now = 50;
    await cache.get('u_1');
    expect(src.calls).toHaveLength(1);
  });

  test('is bounded: the oldest entries go first; clear forgets everything', async () => {
    const src = source([]);
    const cache = new AuthCache(src, { ttlMs: 1000, recheckMs: 10_000, maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) cache.apply(state({ user_id: id }));
    expect(cache.size).toBe(3);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('d')).toBeDefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

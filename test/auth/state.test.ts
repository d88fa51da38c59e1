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
    const cache = new AuthCache(src, { ttlMs: 100, maxEntries: 10, now: () => now });
    expect(await cache.get('u_1')).toEqual(state());
    expect(await cache.get('u_1')).toEqual(state());
    expect(await cache.get('u_x')).toBeNull();
    expect(await cache.get('u_x')).toBeNull();
    expect(src.calls).toEqual([['u_1'], ['u_x']]);
    src.states.set('u_1', state({ token_gen: 1, valid_from_gen: 1 }));
    now += 99;
    expect(cache.peek('u_1')).toEqual({ state: state(), stale: false });
    expect((await cache.get('u_1'))?.token_gen).toBe(0);
    now += 1; // the TTL bounds how long a change made elsewhere goes unseen
    expect(cache.peek('u_1')?.stale).toBe(true);
    expect((await cache.get('u_1'))?.token_gen).toBe(1);
    expect(src.calls).toHaveLength(3);
  });

  test('concurrent misses read once', async () => {
    const src = source([state()]);
    const cache = new AuthCache(src, { ttlMs: 100, maxEntries: 10 });
    const open = src.hold();
    const reads = [cache.get('u_1'), cache.get('u_1'), cache.load('u_1')];
    open();
    expect(await Promise.all(reads)).toEqual([state(), state(), state()]);
    expect(src.calls).toEqual([['u_1']]);
  });

  test('a read that began before a revocation does not undo it', async () => {
    const src = source([state()]);
    const cache = new AuthCache(src, { ttlMs: 100, maxEntries: 10 });
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

  test('refresh reads only what is missing or stale, in one call', async () => {
    let now = 0;
    const src = source([state(), state({ user_id: 'u_2' })]);
    const cache = new AuthCache(src, { ttlMs: 100, maxEntries: 10, now: () => now });
    await cache.get('u_1');
    now = 50;
    const got = await cache.refresh(['u_1', 'u_2', 'u_3']);
    expect([...got.keys()].sort()).toEqual(['u_1', 'u_2', 'u_3']);
    expect(got.get('u_3')).toBeNull();
    expect(src.calls).toEqual([['u_1'], ['u_2', 'u_3']]);
  });

  test('is bounded: the oldest entries go first; clear forgets everything', async () => {
    const src = source([]);
    const cache = new AuthCache(src, { ttlMs: 1000, maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) cache.apply(state({ user_id: id }));
    expect(cache.size).toBe(3);
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('d')).toBeDefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });
});

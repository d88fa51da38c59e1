/**
 * The heartbeat's auth re-check over real sockets (docs/protocol.md, "How the check stays
 * cheap"): an idle session's user is read from the store about once per AUTH_RECHECK_MS,
 * not at every heartbeat, although the state is older than AUTH_CACHE_TTL_MS at every
 * sweep; and a session whose sign-out reached the store but whose bus announcement was
 * lost still ends within HEARTBEAT_MS + AUTH_RECHECK_MS. The store's getAuthStates calls
 * are counted through a wrapper.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Store } from '../../src/store';
import { TestSocket, registerUser, sleep, startTestServer, stopTestServer, type TestServer } from './harness';

/** The shortest heartbeat the config allows; the TTL well below it, so every sweep finds states past it. */
const heartbeatMs = 1000;
const ttlMs = 300;
const recheckMs = 4000;

/** Every getAuthStates call: when, and for which users. */
const reads: { at: number; ids: string[] }[] = [];

function counting(store: Store): Store {
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop !== 'getAuthStates') return value.bind(target);
      return (ids: readonly string[]) => {
        reads.push({ at: Date.now(), ids: [...ids] });
        return target.getAuthStates(ids);
      };
    },
  });
}

/** When the store was asked for the user's auth state, from `since` on. */
const readTimes = (userId: string, since: number) => reads.filter((r) => r.at >= since && r.ids.includes(userId)).map((r) => r.at);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(
    { HEARTBEAT_MS: String(heartbeatMs), AUTH_CACHE_TTL_MS: String(ttlMs), AUTH_RECHECK_MS: String(recheckMs) },
    { wrapStore: counting },
  );
});
afterAll(() => stopTestServer(server));

/** Signs the user out everywhere in the store only, as a sign-out whose bus announcement was lost. */
function signOutBehindTheBus(userId: string): void {
  const db = new Database(join(server.dataDir, 'chat.db'), { fileMustExist: true });
  try {
    db.prepare('UPDATE users SET token_gen = token_gen + 1, valid_from_gen = token_gen + 1 WHERE user_id = ?').run(userId);
  } finally {
    db.close();
  }
}

test('an idle session is read from the store once per AUTH_RECHECK_MS, not at every heartbeat', async () => {
  const users = await Promise.all([0, 1, 2].map(() => registerUser(server.url)));
  const socks = await Promise.all(users.map((u, i) => TestSocket.connect(server.wsUrl, u.token, `idle-${i}`)));
  const since = Date.now();
  // About ten heartbeats, each finding every state past the TTL.
  await sleep(2 * recheckMs + 2 * heartbeatMs);
  const elapsed = Date.now() - since;
  for (const u of users) {
    const times = readTimes(u.user_id, since);
    // Read again (the re-check runs), but once per AUTH_RECHECK_MS, not at each of the ~10
    // sweeps: at most one read per interval in the window, plus one the window cut in two.
    expect(times.length).toBeGreaterThanOrEqual(1);
    expect(times.length).toBeLessThanOrEqual(Math.ceil(elapsed / recheckMs) + 1);
  }
  for (const { sock } of socks) {
    expect(sock.closeCode).toBeNull();
    sock.close();
  }
});

test('a session whose sign-out announcement was lost ends within HEARTBEAT_MS + AUTH_RECHECK_MS', async () => {
  const user = await registerUser(server.url);
  const { sock } = await TestSocket.connect(server.wsUrl, user.token, 'idle');
  signOutBehindTheBus(user.user_id);
  // The bound, plus three heartbeats of slack for a timer late on a loaded machine.
  const code = await Promise.race([sock.closed, sleep(recheckMs + 4 * heartbeatMs).then(() => -1)]);
  expect(code).toBe(4001);
  expect(sock.frames.find((f) => f.type === 'ERROR')).toMatchObject({ code: 'unauthorized', message: 'signed out' });
});

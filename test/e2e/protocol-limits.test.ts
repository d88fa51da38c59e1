/**
 * Budgets and abuse limits over the socket (docs/protocol.md, "Budgets", "Close codes"):
 * what each frame type may cost, the answer past it, and what never counts against a
 * client. Runs over WebSocket, over long-poll (jest project e2e-longpoll) and over MQTT
 * (e2e-mqtt).
 */
import type { Store } from '../../src/store';
import { TestSocket, createConversation, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let conv: string;
/** While true the store refuses mutes, as a store that is down would. */
let storeDown = false;

/** The real store, but setMute fails while `storeDown`. */
function flakyStore(store: Store): Store {
  return new Proxy(store, {
    get(target, prop) {
      // As SQLite fails when it cannot answer: an outage (a bare Error would be a bug, `internal`).
      if (prop === 'setMute' && storeDown) return () => Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeAll(async () => {
  server = await startTestServer({}, { wrapStore: flakyStore });
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
  conv = await createConversation(server.url, alice, 'direct', [bob]);
});
afterAll(async () => {
  await stopTestServer(server);
});

test("refusals that are the server's fault (store down) never close the session", async () => {
  const { sock } = await TestSocket.connect(server.wsUrl, alice.token, 'outage');
  storeDown = true;
  try {
    // Well past the 20 refused frames that close a misbehaving client.
    for (let i = 0; i < 30; i++) sock.send({ type: 'MUTE', conv_id: conv, until: null });
    for (let i = 0; i < 30; i++) expect(await sock.next((f) => f.type === 'ERROR')).toMatchObject({ code: 'unavailable' });
  } finally {
    storeDown = false;
  }
  sock.send({ type: 'PING' });
  await sock.next((f) => f.type === 'PONG');
  sock.send({ type: 'MUTE', conv_id: conv, until: -1 });
  expect(await sock.next((f) => f.type === 'MUTE_SYNC')).toMatchObject({ conv_id: conv, muted_until: -1 });
  expect(sock.closeCode).toBeNull();
  sock.close();
});

/** Two fresh users (fresh budgets) in a direct conversation, both connected. */
async function pair(): Promise<{ a: TestSocket; b: TestSocket; conv: string }> {
  const u1 = await registerUser(server.url);
  const u2 = await registerUser(server.url);
  const c = await createConversation(server.url, u1, 'direct', [u2]);
  const a = (await TestSocket.connect(server.wsUrl, u1.token, 'a')).sock;
  const b = (await TestSocket.connect(server.wsUrl, u2.token, 'b')).sock;
  return { a, b, conv: c };
}

const countOf = (sock: TestSocket, type: string, code?: string) => sock.frames.filter((f) => f.type === type && (code === undefined || f.code === code)).length;

test('TYPING: an unchanged state is relayed once; a flood is refused past its budget, then closed with 4008', async () => {
  const { a, b, conv: c } = await pair();
  for (let i = 0; i < 15; i++) a.send({ type: 'TYPING', conv_id: c, state: 'started' });
  await sleep(400);
  expect(countOf(b, 'TYPING')).toBe(1);
  expect(countOf(a, 'ERROR')).toBe(0);
  // Keeps going, changing state each time: past the budget each frame is refused.
  for (let i = 0; i < 100; i++) a.send({ type: 'TYPING', conv_id: c, state: i % 2 ? 'started' : 'stopped' });
  expect(await a.closed).toBe(4008);
  expect(countOf(a, 'ERROR', 'rate_limited')).toBeGreaterThan(50);
  await sleep(200);
  // What got through: no more than the budget's burst of 20 frames (and what refilled
  // during the 400 ms wait), not 115.
  expect(countOf(b, 'TYPING')).toBeLessThanOrEqual(20);
  b.close();
});

test('READ and DELIVERED: past the per-user marker budget they are refused, then closed with 4008', async () => {
  const { a, b, conv: c } = await pair();
  for (let i = 0; i < 1300; i++) a.send({ type: 'DELIVERED', conv_id: c, seq: 1 });
  expect(await a.closed).toBe(4008);
  expect(countOf(a, 'ERROR', 'rate_limited')).toBeGreaterThan(50);
  b.close();
});

test('PING and PRESENCE_SUB have per-session budgets', async () => {
  const { a, b } = await pair();
  for (let i = 0; i < 15; i++) a.send({ type: 'PING' });
  await a.next((f) => f.type === 'ERROR' && f.code === 'rate_limited');
  await sleep(200);
  expect(countOf(a, 'PONG')).toBeGreaterThanOrEqual(10);
  expect(countOf(a, 'PONG')).toBeLessThan(15);
  // Four full subscriptions (256 users each) at once, not five.
  const ids = Array.from({ length: 256 }, (_, i) => `u_nobody_${i}`);
  for (let i = 0; i < 5; i++) a.send({ type: 'PRESENCE_SUB', user_ids: ids });
  expect(await a.next((f) => f.type === 'ERROR')).toMatchObject({ code: 'rate_limited', ref: null });
  // Another session of the same user has budgets of its own.
  b.send({ type: 'PING' });
  await b.next((f) => f.type === 'PONG');
  expect(a.closeCode).toBeNull();
  a.close();
  b.close();
});

/**
 * Budgets and abuse limits over the socket (docs/protocol.md, "Budgets", "Close codes"):
 * what each frame type may cost, the answer past it, and what never counts against a
 * client. Runs over WebSocket and over long-poll (jest project e2e-longpoll).
 */
import type { Store } from '../../src/store';
import { TestSocket, createConversation, registerUser, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

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
      if (prop === 'setMute' && storeDown) return () => Promise.reject(new Error('store down'));
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

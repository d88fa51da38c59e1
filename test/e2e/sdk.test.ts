/**
 * The client SDK against the real server: saved sync state, resend after reconnect, dedup,
 * unread. Runs over WebSocket, or over long-poll with E2E_TRANSPORT=longpoll (jest project
 * e2e-longpoll); test/e2e/sdk-transport.test.ts mixes the two and covers the fallback.
 */
import WebSocket from 'ws';
import { ChatClient, RestClient } from '../../src/client';
import type { ConvEvent } from '../../src/protocol/frames';
import { createConversation, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import { breakableNet, type Net } from './sdk-net';

const longPoll = process.env.E2E_TRANSPORT === 'longpoll';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startTestServer({ REPLAY_LIMIT: '5' });
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
});
afterAll(() => stopTestServer(server));

/** Each client's network, so a test can break it (long-poll runs). */
const nets = new WeakMap<ChatClient, Net>();

function client(user: TestUser, deviceId: string, state?: ChatClient['state']): ChatClient {
  const net = breakableNet();
  const c = new ChatClient({
    baseUrl: server.url,
    token: user.token,
    deviceId,
    state,
    WebSocketImpl: WebSocket as never,
    reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    fetch: net.fetch,
    ...(longPoll ? { transport: 'longpoll' as const } : {}),
  });
  nets.set(c, net);
  return c;
}

/** Drops the client's connection as a network failure would: the socket is terminated, or long-poll's requests fail until the client notices. */
function dropConnection(c: ChatClient): void {
  if (!longPoll) {
    (c as unknown as { ws: WebSocket | null }).ws?.terminate();
    return;
  }
  const net = nets.get(c)!;
  void c.once('disconnected').then(() => net.restore());
  net.cut();
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

test('REST client registers, logs in and creates conversations', async () => {
  const rest = new RestClient({ baseUrl: server.url });
  const username = `sdk${Date.now()}`;
  const reg = await rest.register({ username, password: 'long enough pw' });
  expect(reg.username).toBe(username);
  const login = await rest.login({ username, password: 'long enough pw' });
  expect(login.user_id).toBe(reg.user_id);
  await expect(rest.login({ username, password: 'wrong password' })).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
});

test('sends resend after a dropped connection and land exactly once; the peer drops duplicates', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const a = client(alice, 'sdk-a');
  const b = client(bob, 'sdk-b');
  const received: ConvEvent[] = [];
  b.on('event', (e) => {
    if (e.kind === 'message') received.push(e);
  });
  a.connect();
  b.connect();
  await Promise.all([a.once('connected'), b.once('connected')]);
  expect([a.transport, b.transport]).toEqual(longPoll ? ['longpoll', 'longpoll'] : ['websocket', 'websocket']);
  const sends = [];
  for (let i = 0; i < 20; i++) {
    sends.push(a.send(conv, `sdk-${i}`));
    if (i === 10) dropConnection(a); // under the client, as a network failure would
  }
  const acks = await Promise.all(sends);
  const seqs = acks.map((x) => x.seq);
  expect(new Set(seqs).size).toBe(20);
  await until(() => received.length >= 20);
  await sleep(200);
  expect(received.map((e) => e.body)).toEqual(Array.from({ length: 20 }, (_, i) => `sdk-${i}`));
  expect(received.map((e) => e.seq)).toEqual([...seqs].sort((x, y) => x - y));
  expect(b.unreadCount(conv)).toBe(20);
  b.markRead(conv, Math.max(...seqs));
  await until(() => b.unreadCount(conv) === 0);
  a.close();
  b.close();
});

test('saved sync state: a device that was away catches up exactly, paging past the replay cap', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'sdk-group');
  const b1 = client(bob, 'sdk-b2');
  const got: number[] = [];
  b1.on('event', (e) => {
    if (e.conv_id === conv) got.push(e.seq);
  });
  b1.connect();
  await b1.once('connected');
  const a = client(alice, 'sdk-a2');
  a.connect();
  await a.once('connected');
  await a.send(conv, 'first');
  await until(() => got.length >= 1); // 'first' (member_added came before this device connected)
  const saved = b1.state;
  b1.close();

  const missed = [];
  for (let i = 0; i < 12; i++) missed.push((await a.send(conv, `away-${i}`)).seq);
  const b2 = client(bob, 'sdk-b2', saved);
  const got2: number[] = [];
  b2.on('event', (e) => {
    if (e.conv_id === conv) got2.push(e.seq);
  });
  b2.connect();
  await b2.once('synced');
  await until(() => got2.length >= 12);
  expect(got2).toEqual(missed);
  expect(b2.unreadCount(conv)).toBe(13);
  a.close();
  b2.close();
});

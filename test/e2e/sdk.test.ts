/**
 * The client SDK against the real server: saved sync state, resend after reconnect, dedup,
 * unread. Runs over WebSocket, over long-poll with E2E_TRANSPORT=longpoll (jest project
 * e2e-longpoll) or over MQTT with E2E_TRANSPORT=mqtt (e2e-mqtt);
 * test/e2e/sdk-transport.test.ts mixes the first two and covers the fallback,
 * test/e2e/sdk-mqtt.test.ts mixes MQTT and WebSocket.
 */
import WebSocket from 'ws';
import { ChatClient, RestClient, type ChatClientOptions, type ChatTransport, type OutboxFrame, type SendResult } from '../../src/client';
import type { ConvEvent } from '../../src/protocol/frames';
import { createConversation, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import { breakableNet, until, type Net } from './sdk-net';

const longPoll = process.env.E2E_TRANSPORT === 'longpoll';
const mqtt = process.env.E2E_TRANSPORT === 'mqtt';
const transport: ChatTransport = longPoll ? 'longpoll' : mqtt ? 'mqtt' : 'websocket';

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

function client(user: TestUser, deviceId: string, state?: ChatClient['state'], opts: Partial<ChatClientOptions> = {}): ChatClient {
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
    ...(mqtt ? { transport: 'mqtt' as const, mqttUrl: server.mqttUrl ?? undefined } : {}),
    ...opts,
  });
  nets.set(c, net);
  return c;
}

/** Drops the client's connection as a network failure would: the socket is terminated, or long-poll's requests fail until the client notices. */
function dropConnection(c: ChatClient): void {
  if (mqtt) {
    // The MQTT carrier (src/client/mqtt.ts) inside the open-deadline wrapper holds the `mqtt` client, whose stream is the TCP socket.
    const held = (c as unknown as { conn: { ws: { inner: { client: { stream: { destroy(): void } } | null } } | null } }).conn.ws;
    held?.inner.client?.stream.destroy();
    return;
  }
  if (!longPoll) {
    // ChatClient's Connection (src/client/connection.ts) holds the socket inside its open-deadline wrapper (src/client/open-timeout.ts).
    const held = (c as unknown as { conn: { ws: { inner?: WebSocket } | null } }).conn.ws;
    (held?.inner ?? (held as WebSocket | null))?.terminate();
    return;
  }
  const net = nets.get(c)!;
  void c.once('disconnected').then(() => net.restore());
  net.cut();
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
  expect([a.transport, b.transport]).toEqual([transport, transport]);
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

test('a restored outbox delivers a message sent before a restart exactly once, and a second restore only gets duplicate:true', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const b = client(bob, 'sdk-b4');
  const toB: ConvEvent[] = [];
  b.on('event', (e) => {
    if (e.conv_id === conv && e.kind === 'message') toB.push(e);
  });
  b.connect();
  await b.once('connected');

  // Run 1: offline, the app sends and persists what the `outbox` event hands it; then the app goes away.
  const a1 = client(alice, 'sdk-a4');
  let persisted: OutboxFrame[] = [];
  a1.on('outbox', (frames) => (persisted = JSON.parse(JSON.stringify(frames)) as OutboxFrame[]));
  void a1.send(conv, 'written before the reload', { client_msg_id: 'm_restored_1' }).catch(() => undefined);
  expect(persisted).toEqual(a1.pendingFrames());
  const state = a1.state;
  a1.close();
  expect(a1.pendingFrames()).toEqual(persisted);

  // Run 2: restored with the saved state; the message goes out after CONNACK.
  const a2 = client(alice, 'sdk-a4', state, { outbox: persisted });
  const acks: SendResult[] = [];
  const outboxes: OutboxFrame[][] = [];
  a2.on('restoredAck', (ack) => acks.push(ack));
  a2.on('restoredError', (err) => {
    throw err;
  });
  a2.on('outbox', (frames) => outboxes.push(frames));
  expect(a2.pendingSends).toBe(1);
  a2.connect();
  await until(() => acks.length === 1);
  expect(acks[0]).toMatchObject({ client_msg_id: 'm_restored_1', conv_id: conv });
  expect(acks[0].duplicate).toBeUndefined();
  expect(outboxes).toEqual([[]]);
  await until(() => toB.length === 1);
  expect(toB[0]).toMatchObject({ seq: acks[0].seq, body: 'written before the reload', sender_id: alice.user_id });
  a2.close();

  // Run 3: the app died before saving the empty outbox, so the same frame is restored again.
  const a3 = client(alice, 'sdk-a4', a2.state, { outbox: persisted });
  a3.connect();
  const [again] = await a3.once('restoredAck');
  expect(again).toEqual({ ...acks[0], duplicate: true });
  await sleep(200);
  expect(toB).toHaveLength(1);
  const history = await a3.rest.getMessages(conv, { limit: 50 });
  expect(history.filter((m) => m.body === 'written before the reload')).toHaveLength(1);
  a3.close();
  b.close();
});

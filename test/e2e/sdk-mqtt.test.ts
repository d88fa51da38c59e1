/**
 * ChatClient over MQTT against the real server: it chats with WebSocket clients (over TCP,
 * over WebSocket, in MQTT 5 and 3.1.1), reconnects after its connection drops and catches
 * up, sends what was queued offline exactly once, stops on a bad token, and comes back
 * after a restart (1012). The network between client and MQTT port is a TCP relay the
 * tests can cut, so a dropped connection is a real one.
 */
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { parser, type Packet } from 'mqtt-packet';
import WebSocket from 'ws';
import { ChatClient, ChatError, type ChatClientOptions } from '../../src/client';
import { createConversation, http, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import { chatBothWays, messagesOf, until } from './sdk-net';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
});
afterAll(() => stopTestServer(server));

/** A TCP relay to `target` that can be cut: open connections are destroyed and new ones refused until restore(). */
interface Relay {
  url: string;
  /** Connections accepted (refused ones included). */
  accepted: number;
  /** The MQTT packets that went through: client to server, and server to client (parsed as MQTT 5). */
  up: Packet[];
  down: Packet[];
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function relay(target: string): Promise<Relay> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let down = false;
  const tcp: Server = createServer((inbound) => {
    r.accepted++;
    if (down) {
      inbound.destroy();
      return;
    }
    const outbound = tcpConnect(Number(port), hostname);
    // What goes through is parsed too, so a test can see the packets themselves.
    const upParser = parser({ protocolVersion: 5 });
    const downParser = parser({ protocolVersion: 5 });
    upParser.on('packet', (p: Packet) => r.up.push(p));
    downParser.on('packet', (p: Packet) => r.down.push(p));
    inbound.on('data', (chunk: Buffer) => upParser.parse(chunk));
    outbound.on('data', (chunk: Buffer) => downParser.parse(chunk));
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const r: Relay = {
    url: `mqtt://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
    accepted: 0,
    up: [],
    down: [],
    cut: () => {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      down = false;
    },
    close: () => {
      r.cut();
      return new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
  return r;
}

function mqttUrlOf(srv: TestServer): string {
  if (srv.mqttUrl === null) throw new Error('the test server has no MQTT listener');
  return srv.mqttUrl;
}

const closing: ChatClient[] = [];
afterEach(() => {
  for (const c of closing.splice(0)) c.close();
});

function client(srv: TestServer, user: TestUser, deviceId: string, opts: Partial<ChatClientOptions> = {}): ChatClient {
  const c = new ChatClient({ baseUrl: srv.url, token: user.token, deviceId, WebSocketImpl: WebSocket as never, reconnect: { minDelayMs: 20, maxDelayMs: 100 }, ...opts });
  closing.push(c);
  return c;
}


describe.each([
  ['MQTT 5 over TCP', 5, 'tcp'],
  ['MQTT 3.1.1 over TCP', 4, 'tcp'],
  ['MQTT 5 over WebSocket (/mqtt), from Node', 5, 'ws'],
] as const)('%s', (_name, version, carrier) => {
  test('chats with a WebSocket client both ways: messages, typing, read receipts', async () => {
    // Users of their own: the direct conversation of a pair is one, and its typing is coalesced over 1.5 s.
    const [ann, ben] = await Promise.all([registerUser(server.url), registerUser(server.url)]);
    const conv = await createConversation(server.url, ann, 'direct', [ben]);
    const mqttUrl = carrier === 'tcp' ? mqttUrlOf(server) : `${server.url.replace('http', 'ws')}/mqtt`;
    const a = client(server, ann, 'mq-a1', { transport: 'mqtt', mqttUrl, mqttProtocolVersion: version });
    const b = client(server, ben, 'mq-b1', { transport: 'websocket' });
    await chatBothWays(a, b, conv, { a: ann.user_id, b: ben.user_id }, 'mqtt');
    expect([a.transport, b.transport]).toEqual(['mqtt', 'websocket']);
    expect(await a.ping()).toBeGreaterThan(0);
  });
});

test('frames come at QoS 0 once the first has named the topic: no PUBACK per message', async () => {
  // Users of their own: alice and bob's direct conversation is counted by other tests.
  const [ann, ben] = await Promise.all([registerUser(server.url), registerUser(server.url)]);
  const conv = await createConversation(server.url, ann, 'direct', [ben]);
  const net = await relay(mqttUrlOf(server));
  try {
    const a = client(server, ann, 'mq-a0', { transport: 'mqtt', mqttUrl: net.url });
    const got = messagesOf(a, conv);
    a.connect();
    await a.once('connected');
    for (let i = 0; i < 10; i++) {
      const res = await http(server.url, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: `mq_q0_${i}`, body: `q0 ${i}` }, ben.token);
      expect(res.status).toBe(201);
    }
    await until(() => got.length === 10);
    const subscribes = net.up.filter((p) => p.cmd === 'subscribe');
    expect(subscribes).toHaveLength(1);
    expect(subscribes[0]).toMatchObject({ subscriptions: [{ topic: `down/${ann.user_id}/mq-a0`, qos: 0 }] });
    const suback = net.down.findIndex((p) => p.cmd === 'suback');
    expect(net.down[suback]).toMatchObject({ granted: [0] });
    // Frames written before the SUBACK (the CONNACK, perhaps DELIVERs on a slow machine)
    // went at QoS 1 and were PUBACKed; every one after it went at QoS 0 and was not.
    const qos = (packets: Packet[]): number[] => packets.flatMap((p) => (p.cmd === 'publish' ? [p.qos] : []));
    const before = qos(net.down.slice(0, suback));
    const after = qos(net.down.slice(suback + 1));
    expect(before.length + after.length).toBeGreaterThanOrEqual(11); // the CONNACK frame and ten DELIVERs
    expect(after.every((q) => q === 0)).toBe(true);
    expect(net.up.filter((p) => p.cmd === 'puback')).toHaveLength(before.filter((q) => q === 1).length);
    expect(got.map((e) => e.body)).toEqual(Array.from({ length: 10 }, (_, i) => `q0 ${i}`));
  } finally {
    await net.close();
  }
});

test('a dropped connection reconnects and catches up what was sent meanwhile, once each', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const net = await relay(mqttUrlOf(server));
  try {
    const a = client(server, alice, 'mq-a2', { transport: 'mqtt', mqttUrl: net.url });
    const got = messagesOf(a, conv);
    const closes: number[] = [];
    a.on('disconnected', (code) => closes.push(code));
    a.connect();
    await a.once('connected');
    const before = await http(server.url, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: 'mq_before', body: 'before' }, bob.token);
    expect(before.status).toBe(201);
    await until(() => got.length === 1);

    net.cut();
    await until(() => closes.length === 1);
    expect(closes[0]).toBe(1006);
    const missed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await http(server.url, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: `mq_away${i}`, body: `away ${i}` }, bob.token);
      missed.push(res.body.seq);
    }
    await sleep(150); // reconnect attempts meet the cut network
    expect(a.status).not.toBe('ready');
    net.restore();
    await a.once('synced');
    await until(() => got.length === 4);
    await sleep(100);
    expect(got.map((e) => e.body)).toEqual(['before', 'away 0', 'away 1', 'away 2']);
    expect(got.slice(1).map((e) => e.seq)).toEqual(missed);
    expect(a.unreadCount(conv)).toBe(4);
    // The new connection asked for its frames at QoS 0 again.
    await until(() => net.up.filter((p) => p.cmd === 'subscribe').length === 2);
  } finally {
    await net.close();
  }
});

test('sends queued while offline go out after the reconnect and are acknowledged once', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const net = await relay(mqttUrlOf(server));
  try {
    const a = client(server, alice, 'mq-a3', { transport: 'mqtt', mqttUrl: net.url });
    const b = client(server, bob, 'mq-b3', { transport: 'websocket' });
    const toB = messagesOf(b, conv);
    a.connect();
    b.connect();
    await Promise.all([a.once('connected'), b.once('connected')]);

    net.cut();
    await a.once('disconnected');
    const acks: number[] = [];
    const sends = [0, 1, 2].map((i) => a.send(conv, `offline ${i}`).then((ack) => (acks.push(ack.seq), ack)));
    expect(a.pendingSends).toBe(3);
    await sleep(100);
    expect(acks).toEqual([]);
    net.restore();
    const results = await Promise.all(sends);
    expect(results.map((r) => r.duplicate ?? false)).toEqual([false, false, false]);
    await until(() => toB.length === 3);
    await sleep(200);
    expect(toB.map((e) => [e.seq, e.body])).toEqual(results.map((r, i) => [r.seq, `offline ${i}`]));
    expect(a.pendingSends).toBe(0);
    expect(acks).toHaveLength(3);
  } finally {
    await net.close();
  }
});

test('a bad token: the ERROR and 4001 of /ws, unauthorized, and no reconnect until setToken', async () => {
  const net = await relay(mqttUrlOf(server));
  try {
    const a = client(server, alice, 'mq-a4', { transport: 'mqtt', mqttUrl: net.url, token: 'not-a-token' });
    const seen: string[] = [];
    a.on('error', (err) => seen.push(`error ${err instanceof ChatError ? `${err.code} ${err.message}` : err.message}`));
    a.on('disconnected', (code, reason) => seen.push(`disconnected ${code} ${reason}`));
    a.on('unauthorized', (reason) => seen.push(`unauthorized ${reason}`));
    a.on('reconnecting', () => seen.push('reconnecting'));
    // The same token over /ws, for the error it gets there.
    const overWs = client(server, alice, 'mq-a4ws', { transport: 'websocket', token: 'not-a-token' });
    const wsError = overWs.once('error');
    overWs.connect();
    const [expected] = await wsError;
    expect(expected).toBeInstanceOf(ChatError);
    overWs.close();

    a.connect();
    await a.once('unauthorized');
    await sleep(300); // reconnect delays are 10-100 ms here: a loop would have shown by now
    expect(seen).toEqual([`error unauthorized ${expected.message}`, 'disconnected 4001 unauthorized', 'unauthorized unauthorized']);
    expect(net.accepted).toBe(1);
    expect(a.status).toBe('stopped');

    a.setToken(alice.token);
    a.connect();
    await a.once('connected');
    expect(net.accepted).toBe(2);
  } finally {
    await net.close();
  }
});

test('a restart (1012) reconnects to the new server and catches up', async () => {
  // A server of its own, restarted on the same data directory and ports.
  const first = await startTestServer();
  const carol = await registerUser(first.url);
  const dave = await registerUser(first.url);
  const conv = await createConversation(first.url, carol, 'direct', [dave]);
  const c = client(first, carol, 'mq-c1', { transport: 'mqtt', mqttUrl: mqttUrlOf(first), reconnect: { minDelayMs: 1500, maxDelayMs: 1500 } });
  const got = messagesOf(c, conv);
  const closes: [number, string][] = [];
  c.on('disconnected', (code, reason) => closes.push([code, reason]));
  c.connect();
  await c.once('connected');
  // A first message puts the conversation in the client's sync state, so the reconnect's CONNECT asks for it.
  const before = await http(first.url, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: 'mq_before_restart', body: 'before' }, dave.token);
  expect(before.status).toBe(201);
  await until(() => got.length === 1);

  await stopTestServer(first, true);
  await until(() => closes.length > 0);
  expect(closes[0]).toEqual([1012, 'shard restarting']);
  const mqttPort = new URL(mqttUrlOf(first)).port;
  const second = await startTestServer({ DATA_DIR: first.dataDir, PORT: String(first.port), MQTT_PORT: mqttPort });
  try {
    // The immediate retry after 1012 found no server; the next is ~1.5 s away.
    const res = await http(second.url, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: 'mq_restart', body: 'while away' }, dave.token);
    expect(res.status).toBe(201);
    expect(c.status).not.toBe('ready');
    await c.once('connected');
    expect(c.transport).toBe('mqtt');
    await until(() => got.length === 2);
    expect(got[1]).toMatchObject({ seq: res.body.seq, body: 'while away' });
  } finally {
    c.close();
    await stopTestServer(second);
  }
});

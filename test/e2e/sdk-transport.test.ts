/**
 * The SDK's carriers against the real server: long-poll and WebSocket clients talk to each
 * other, 'auto' falls back when the WebSocket is refused or its upgrade is never answered,
 * long-poll reconnects after a restart (1012) and catches up, the outbox resends over
 * long-poll exactly once, and a restored outbox delivers exactly once after a restart.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import WebSocket from 'ws';
import { ChatClient, type ChatClientOptions } from '../../src/client';
import { createConversation, http, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import { breakableNet, chatBothWays, messagesOf, until } from './sdk-net';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
});
afterAll(() => stopTestServer(server));

function client(srv: { url: string }, user: TestUser, deviceId: string, opts: Partial<ChatClientOptions> = {}): ChatClient {
  return new ChatClient({ baseUrl: srv.url, token: user.token, deviceId, WebSocketImpl: WebSocket as never, reconnect: { minDelayMs: 20, maxDelayMs: 100 }, ...opts });
}



test("a 'longpoll' client and a WebSocket client chat both ways: messages, typing, receipts", async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const a = client(server, alice, 'tr-a1', { transport: 'longpoll' });
  const b = client(server, bob, 'tr-b1', { transport: 'websocket' });
  await chatBothWays(a, b, conv, { a: alice.user_id, b: bob.user_id }, 'long-poll');
  expect([a.transport, b.transport]).toEqual(['longpoll', 'websocket']);
  a.close();
  b.close();
});

test("'auto' falls back to long-poll at once when the WebSocket upgrade is refused", async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const wsUrl = server.url.replace('http', 'ws') + '/not-a-socket'; // the server answers the upgrade with 404
  const a = client(server, alice, 'tr-a2', { wsUrl, reconnect: { minDelayMs: 5000, maxDelayMs: 5000 } });
  const b = client(server, bob, 'tr-b2');
  const log: string[] = [];
  a.on('disconnected', (code) => log.push(`disconnected ${code}`));
  a.on('reconnecting', () => log.push('reconnecting'));
  const toA = messagesOf(a, conv);
  const started = Date.now();
  a.connect();
  b.connect();
  await Promise.all([a.once('connected'), b.once('connected')]);
  // No backoff wait (5 s here) and no disconnect: the failed socket handed its attempt over.
  expect(Date.now() - started).toBeLessThan(3000);
  expect(log).toEqual([]);
  expect(a.transport).toBe('longpoll');
  expect(b.transport).toBe('websocket');

  const sent = await b.send(conv, 'reaches the fallback');
  await until(() => toA.length === 1);
  expect(toA[0].seq).toBe(sent.seq);
  await a.send(conv, 'and back');
  a.close();
  b.close();
});

/** A TCP server that accepts connections and never answers (an upgrade a proxy swallows). */
async function blackHole(): Promise<{ url: string; accepted: () => number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const srv: Server = createServer((sock) => {
    accepted++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    accepted: () => accepted,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

test("'auto' falls back to long-poll once wsOpenTimeoutMs passes when the upgrade is never answered", async () => {
  const hole = await blackHole();
  try {
    const conv = await createConversation(server.url, alice, 'direct', [bob]);
    const a = client(server, alice, 'tr-a5', { wsUrl: hole.url, wsOpenTimeoutMs: 500, reconnect: { minDelayMs: 5000, maxDelayMs: 5000 } });
    const b = client(server, bob, 'tr-b5');
    const log: string[] = [];
    a.on('disconnected', (code) => log.push(`disconnected ${code}`));
    a.on('reconnecting', () => log.push('reconnecting'));
    a.on('error', (err) => log.push(`error ${err.message}`));
    const toA = messagesOf(a, conv);
    const toB = messagesOf(b, conv);
    b.connect();
    await b.once('connected');
    const started = Date.now();
    a.connect();
    await a.once('connected');
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(2500);
    expect(hole.accepted()).toBe(1);
    expect(a.transport).toBe('longpoll');
    expect(log).toEqual([]);

    const sent = await b.send(conv, 'through the fallback');
    await until(() => toA.length === 1);
    expect(toA[0]).toMatchObject({ seq: sent.seq, body: 'through the fallback' });
    const back = await a.send(conv, 'and back over long-poll');
    await until(() => toB.length === 1);
    expect(toB[0].seq).toBe(back.seq);
    expect(log).toEqual([]); // the abandoned socket's end changed nothing
    a.close();
    b.close();
  } finally {
    await hole.stop();
  }
});

test("'websocket' counts an unanswered upgrade as a failed attempt and retries after backoff", async () => {
  const hole = await blackHole();
  try {
    const a = client(server, alice, 'tr-a6', { transport: 'websocket', wsUrl: hole.url, wsOpenTimeoutMs: 200, reconnect: { minDelayMs: 50, maxDelayMs: 50 } });
    const closes: string[] = [];
    a.on('disconnected', (code, reason) => closes.push(`${code} ${reason}`));
    a.connect();
    await a.once('reconnecting');
    await a.once('reconnecting');
    expect(closes).toEqual(['1006 open timeout', '1006 open timeout']);
    expect(hole.accepted()).toBe(2);
    expect(a.transport).toBe('websocket');
    a.close();
  } finally {
    await hole.stop();
  }
});

test("'auto' falls back when the WebSocket implementation errors before open", async () => {
  class BrokenSocket {
    readyState = 0;
    private onError: (() => void)[] = [];
    private onClose: ((e: { code: number; reason: string }) => void)[] = [];
    constructor() {
      setTimeout(() => {
        this.readyState = 3;
        for (const l of this.onError) l();
        for (const l of this.onClose) l({ code: 1006, reason: '' });
      }, 5);
    }
    send(): void {}
    close(): void {}
    addEventListener(type: string, l: never): void {
      if (type === 'error') this.onError.push(l);
      if (type === 'close') this.onClose.push(l);
    }
  }
  const a = client(server, alice, 'tr-a3', { WebSocketImpl: BrokenSocket as never });
  a.connect();
  await a.once('connected');
  expect(a.transport).toBe('longpoll');
  a.close();
});

test('long-poll reconnects after the server restarts (1012) and catches up what it missed', async () => {
  // A server of its own, restarted on the same data directory and port.
  const first = await startTestServer();
  const carol = await registerUser(first.url);
  const dave = await registerUser(first.url);
  const conv = await createConversation(first.url, carol, 'direct', [dave]);
  const c = client(first, carol, 'tr-c1', { transport: 'longpoll', reconnect: { minDelayMs: 1500, maxDelayMs: 1500 } });
  const got = messagesOf(c, conv);
  const closes: number[] = [];
  c.on('disconnected', (code) => closes.push(code));
  c.connect();
  await c.once('connected');
  const before = await http(first.url, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: 'm_before', body: 'before' }, dave.token);
  expect(before.status).toBe(201);
  await until(() => got.length === 1);

  await stopTestServer(first, true);
  // The poll answer carrying the close was sent before stop() resolved; the client may
  // still be reading it.
  await until(() => closes.length > 0);
  expect(closes[0]).toBe(1012);
  const second = await startTestServer({ DATA_DIR: first.dataDir, PORT: String(first.port) });
  try {
    // Carol's immediate retry found no server; her next try is ~1 s away: these are missed events.
    const missed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await http(second.url, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: `m_away${i}`, body: `away ${i}` }, dave.token);
      expect(res.status).toBe(201);
      missed.push(res.body.seq);
    }
    // Still disconnected: these three can only arrive through the reconnect's catch-up.
    expect(c.status).not.toBe('ready');
    await c.once('connected');
    expect(c.transport).toBe('longpoll');
    await until(() => got.length === 4);
    await sleep(100);
    expect(got.map((e) => e.body)).toEqual(['before', 'away 0', 'away 1', 'away 2']);
    expect(got.slice(1).map((e) => e.seq)).toEqual(missed);
    expect(c.unreadCount(conv)).toBe(4);
    c.close();
  } finally {
    await stopTestServer(second);
  }
});

test('the outbox resends a SEND whose ACK was lost over long-poll; it lands once', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const net = breakableNet();
  const a = client(server, alice, 'tr-a4', { transport: 'longpoll', fetch: net.fetch });
  const b = client(server, bob, 'tr-b4');
  const toB = messagesOf(b, conv);
  a.connect();
  b.connect();
  await Promise.all([a.once('connected'), b.once('connected')]);

  // The poll answer carrying the ACK is lost and the network stays down until Alice notices.
  net.cutOnAnswer((url, text) => url.includes('/poll') && text.includes('"type":"ACK"'));
  void a.once('disconnected').then(() => net.restore());
  const pending = a.send(conv, 'exactly once', { client_msg_id: 'm_lost_ack_1' });
  const [code] = await a.once('disconnected');
  expect(code).toBe(1006);
  expect(a.pendingSends).toBe(1);

  const ack = await pending; // resent after the reconnect, with the same client_msg_id
  expect(ack).toMatchObject({ client_msg_id: 'm_lost_ack_1', duplicate: true });
  expect(a.pendingSends).toBe(0);
  expect(a.transport).toBe('longpoll');
  await until(() => toB.length === 1);
  await sleep(200);
  expect(toB.map((e) => [e.seq, e.body])).toEqual([[ack.seq, 'exactly once']]);
  const history = await a.rest.getMessages(conv, { limit: 50 });
  expect(history.filter((m) => m.body === 'exactly once')).toHaveLength(1);
  a.close();
  b.close();
});

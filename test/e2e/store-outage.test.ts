/**
 * A store outage over the real protocol (docs/protocol.md, "Errors" and "Close codes"):
 * every failure of the store or the sequencer is answered `unavailable` with a retry hint
 * (503 with Retry-After over REST), logged a few times rather than per request, counted
 * in /metrics; a bug stays `internal` but is logged and counted too; /readyz says which
 * engine is down; CONNECT is refused with 1013 and the SDK waits before it tries again.
 * The embedded store is made to fail as SQLite does when it cannot answer (SQLITE_BUSY).
 */
import type { Store } from '../../src/store';
import type { Sequencer } from '../../src/sequencer';
import WebSocket from 'ws';
import { ChatClient } from '../../src/client';
import { TestSocket, createConversation, http, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

/** 'busy': every call fails as a locked database does; 'bug': as a programming error does. */
let storeFails: 'no' | 'busy' | 'bug' = 'no';
let sequencerFails = false;

const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

function failing<T extends object>(engine: T, fails: () => 'no' | 'busy' | 'bug'): T {
  return new Proxy(engine, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || prop === 'close') return value;
      return (...args: unknown[]) => {
        const mode = fails();
        if (mode === 'busy') return Promise.reject(busy());
        if (mode === 'bug') return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'seq')"));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let conv: string;
let logged: string[];

beforeAll(async () => {
  server = await startTestServer(
    {},
    {
      wrapStore: (store: Store) => failing(store, () => storeFails),
      wrapSequencer: (sequencer: Sequencer) => failing(sequencer, () => (sequencerFails ? 'busy' : 'no')),
    },
  );
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
  conv = await createConversation(server.url, alice, 'direct', [bob]);
  logged = [];
  // The logger is silent in tests; what it would write is recorded here.
  const logger = server.obs.logger;
  for (const level of ['warn', 'error'] as const) {
    const original = logger[level].bind(logger);
    logger[level] = ((message: unknown, ...rest: unknown[]) => {
      logged.push(`${level} ${String(message)}`);
      return (original as (...a: unknown[]) => unknown)(message, ...rest);
    }) as typeof logger.warn;
  }
});
afterAll(async () => {
  storeFails = 'no';
  sequencerFails = false;
  await stopTestServer(server);
});
afterEach(() => {
  storeFails = 'no';
  sequencerFails = false;
});

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = text.split('\n').filter((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

test('a SEND that needs a new seq range while the sequencer fails: unavailable with a retry hint, logged and counted', async () => {
  // Ranges are 64 seqs: creating the group took seq 1, these take the rest of the range.
  const fresh = await createConversation(server.url, alice, 'group', [bob], 'seq');
  const { sock } = await TestSocket.connect(server.wsUrl, alice.token, 'seq');
  for (let i = 2; i <= 64; i++) sock.send({ type: 'SEND', client_msg_id: `fill-${i}`, conv_id: fresh, body: 'fill' });
  for (let i = 2; i <= 64; i++) await sock.next((f) => f.type === 'ACK');
  logged.length = 0;
  sequencerFails = true;
  for (let i = 0; i < 30; i++) sock.send({ type: 'SEND', client_msg_id: `seq-${i}`, conv_id: fresh, body: 'hi' });
  for (let i = 0; i < 30; i++) {
    const err = await sock.next((f) => f.type === 'ERROR');
    expect(err).toMatchObject({ code: 'unavailable', ref: `seq-${i}` });
    expect(err.retry_after_ms).toBeGreaterThan(0);
  }
  // Logged, but not once per refused send.
  const lines = logged.filter((l) => l.includes('engine'));
  expect(lines.length).toBeGreaterThanOrEqual(1);
  expect(lines.length).toBeLessThanOrEqual(3);
  expect(await metric('chat_engine_failures_total', { engine: 'sequencer', code: 'unavailable' })).toBeGreaterThanOrEqual(30);
  sequencerFails = false;
  sock.send({ type: 'SEND', client_msg_id: 'seq-after', conv_id: fresh, body: 'back' });
  expect(await sock.next((f) => f.type === 'ACK')).toMatchObject({ client_msg_id: 'seq-after', seq: 65 });
  expect(sock.closeCode).toBeNull();
  sock.close();
});

test('a SEND whose commit fails: unavailable with a retry hint; the retry after the outage is ACKed once', async () => {
  const { sock } = await TestSocket.connect(server.wsUrl, alice.token, 'commit');
  sock.send({ type: 'SEND', client_msg_id: 'warm', conv_id: conv, body: 'loads the actor' });
  await sock.next((f) => f.type === 'ACK');
  storeFails = 'busy';
  sock.send({ type: 'SEND', client_msg_id: 'during', conv_id: conv, body: 'x' });
  const err = await sock.next((f) => f.type === 'ERROR');
  expect(err).toMatchObject({ code: 'unavailable', ref: 'during' });
  expect(err.retry_after_ms).toBeGreaterThan(0);
  storeFails = 'no';
  sock.send({ type: 'SEND', client_msg_id: 'during', conv_id: conv, body: 'x' });
  expect(await sock.next((f) => f.type === 'ACK')).toMatchObject({ client_msg_id: 'during' });
  sock.close();
});

test('REST while the store fails: history, /me and register answer 503 unavailable with Retry-After', async () => {
  storeFails = 'busy';
  const requests: [string, string, unknown, string | undefined][] = [
    ['GET', `/api/v1/conversations/${conv}/events`, undefined, alice.token],
    ['GET', '/api/v1/me', undefined, alice.token],
    ['POST', '/api/v1/auth/register', { username: `u${Date.now()}`, password: 'correct horse battery' }, undefined],
  ];
  for (const [method, path, body, token] of requests) {
    const res = await fetch(server.url + path, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect({ path, status: res.status }).toEqual({ path, status: 503 });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const json = (await res.json()) as { error: { code: string; retry_after_ms: number } };
    expect(json.error.code).toBe('unavailable');
    expect(json.error.retry_after_ms).toBeGreaterThan(0);
  }
  expect(await metric('chat_engine_failures_total', { engine: 'store', code: 'unavailable' })).toBeGreaterThanOrEqual(3);
});

test('a bug in a store call stays 500 internal, and is logged and counted', async () => {
  const before = await metric('chat_engine_failures_total', { engine: 'store', code: 'internal' });
  logged.length = 0;
  storeFails = 'bug';
  const res = await http(server.url, 'GET', `/api/v1/conversations/${conv}/events`, undefined, alice.token);
  expect(res.status).toBe(500);
  expect(res.body).toMatchObject({ error: { code: 'internal' } });
  expect(await metric('chat_engine_failures_total', { engine: 'store', code: 'internal' })).toBeGreaterThan(before);
  expect(logged.some((l) => l.startsWith('error') && l.includes('engine'))).toBe(true);
});

test('/readyz answers 503 naming the store while it fails, 200 once it answers again; /healthz stays 200', async () => {
  expect((await http(server.url, 'GET', '/readyz')).status).toBe(200);
  storeFails = 'busy';
  const down = await pollStatus('/readyz', 503);
  expect(down.body).toEqual({ status: 'not ready', down: ['store'] });
  expect((await http(server.url, 'GET', '/healthz')).status).toBe(200);
  storeFails = 'no';
  await pollStatus('/readyz', 200);
});

test('CONNECT while the store fails: ERROR unavailable with a retry hint, then close 1013 (not 1012)', async () => {
  storeFails = 'busy';
  const sock = await TestSocket.open(server.wsUrl);
  sock.send({ type: 'CONNECT', token: alice.token, device_id: 'outage' });
  expect(await sock.closed).toBe(1013);
  const err = sock.frames.find((f) => f.type === 'ERROR');
  expect(err).toMatchObject({ code: 'unavailable' });
  expect(err?.retry_after_ms).toBeGreaterThan(0);
});

test('the SDK waits after a 1013 and connects once the store is back', async () => {
  storeFails = 'busy';
  const client = new ChatClient({ baseUrl: server.url, token: alice.token, deviceId: 'sdk-outage', transport: 'websocket', WebSocketImpl: WebSocket as never, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
  const closes: number[] = [];
  const delays: number[] = [];
  client.on('disconnected', (code) => closes.push(code));
  client.on('reconnecting', (_attempt, delay) => delays.push(delay));
  client.on('error', () => undefined);
  try {
    client.connect();
    for (let i = 0; i < 100 && closes.length < 2; i++) await sleep(50);
    expect(closes.slice(0, 2)).toEqual([1013, 1013]);
    // The server's hint (2 s) is the floor: not the 50-200 ms of the SDK's own backoff.
    expect(delays[0]).toBeGreaterThanOrEqual(1000);
    storeFails = 'no';
    for (let i = 0; i < 100 && client.status !== 'ready'; i++) await sleep(50);
    expect(client.status).toBe('ready');
  } finally {
    client.close();
  }
});

async function pollStatus(path: string, status: number) {
  for (let i = 0; i < 60; i++) {
    const res = await http(server.url, 'GET', path);
    if (res.status === status) return res;
    await sleep(100);
  }
  throw new Error(`${path} never answered ${status}`);
}

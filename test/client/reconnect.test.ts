import { clientFor, connack, FakeServer, sleep, waitFor } from './fake-server';
import { backoffDelay, tryLaterDelay, type ChatClient } from '../../src/client';

let server: FakeServer;
let client: ChatClient | undefined;

beforeEach(async () => {
  server = await FakeServer.start();
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await server.stop();
});

test('close 4009 (another connection of this device took over) stops without unauthorized; connect resumes', async () => {
  const made = clientFor(server);
  client = made.client;
  client.connect();
  const conn = await server.nextConn();
  await conn.next();
  conn.close(4009, 'the device connected again');
  await waitFor(() => made.log.some((e) => e.name === 'disconnected'));
  await sleep(200); // reconnect delays are 10-50 ms here: a reconnect would have happened
  expect(server.conns).toHaveLength(1);
  expect(client.status).toBe('stopped');
  expect(made.log.map((e) => e.name)).not.toContain('reconnecting');
  expect(made.log.map((e) => e.name)).not.toContain('unauthorized');
  client.connect();
  await server.nextConn();
  expect(server.conns).toHaveLength(2);
});

test('close 4001 emits unauthorized and never reconnects; setToken + connect resumes', async () => {
  const made = clientFor(server);
  client = made.client;
  const pending = client.send('c1', 'kept for later');
  client.connect();
  const conn = await server.nextConn();
  await conn.next();
  conn.close(4001, 'token expired');
  await waitFor(() => made.log.some((e) => e.name === 'unauthorized'));
  await sleep(200); // reconnect delays are 10-50 ms here: a reconnect would have happened
  expect(server.conns).toHaveLength(1);
  expect(client.status).toBe('stopped');
  const names = made.log.map((e) => e.name);
  expect(names).not.toContain('reconnecting');
  expect(made.log.find((e) => e.name === 'disconnected')?.args).toEqual([4001, 'token expired']);
  expect(made.log.find((e) => e.name === 'unauthorized')?.args).toEqual(['token expired']);

  client.setToken('tok_2');
  client.connect();
  const conn2 = await server.nextConn();
  expect(await conn2.next()).toMatchObject({ type: 'CONNECT', token: 'tok_2' });
  conn2.send(connack());
  const resent = await conn2.nextOfType('SEND');
  conn2.send({ type: 'ACK', client_msg_id: resent.client_msg_id, conv_id: 'c1', seq: 1, ts: 1 });
  await expect(pending).resolves.toMatchObject({ seq: 1 });
});

test('close 1012 reconnects at once, not after the backoff delay', async () => {
  const made = clientFor(server, { reconnect: { minDelayMs: 10_000, maxDelayMs: 20_000 } });
  client = made.client;
  client.connect();
  const conn = await server.nextConn();
  await conn.next();
  conn.send(connack());
  await waitFor(() => client!.status === 'ready');
  const closedAt = Date.now();
  conn.close(1012, 'rebalancing');
  const conn2 = await server.nextConn(1000);
  expect(Date.now() - closedAt).toBeLessThan(1000);
  expect((await conn2.next()).type).toBe('CONNECT');
  expect(made.log.find((e) => e.name === 'reconnecting')?.args).toEqual([1, 0]);
});

test('other drops reconnect with backoff, and a healthy session resets it', async () => {
  const made = clientFor(server, { reconnect: { minDelayMs: 200, maxDelayMs: 400 } });
  client = made.client;
  client.connect();
  const conn = await server.nextConn();
  await conn.next();
  const droppedAt = Date.now();
  conn.kill(); // before CONNACK
  const conn2 = await server.nextConn();
  expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(90); // at least half the 200 ms ceiling
  await conn2.next();
  conn2.close(1012, 'restart'); // not immediate: the previous attempt never reached CONNACK
  const conn3 = await server.nextConn();
  await conn3.next();
  conn3.send(connack());
  await waitFor(() => client!.status === 'ready');
  const delays = made.log.filter((e) => e.name === 'reconnecting').map((e) => e.args as [number, number]);
  expect(delays.map(([attempt]) => attempt)).toEqual([1, 2]);
  expect(delays[0][1]).toBeGreaterThanOrEqual(100);
  expect(delays[1][1]).toBeGreaterThanOrEqual(200); // second attempt: ceiling doubled to 400
  expect(made.log.filter((e) => e.name === 'disconnected').map((e) => e.args[0])).toEqual([1006, 1012]);
});

test('with pingIntervalMs, a connection whose PINGs go unanswered is dropped and replaced', async () => {
  const made = clientFor(server, { pingIntervalMs: 100 });
  client = made.client;
  client.connect();
  const conn = await server.nextConn();
  conn.autoPong = false;
  await conn.next();
  conn.send(connack());
  expect((await conn.next()).type).toBe('PING');
  const conn2 = await server.nextConn();
  expect((await conn2.next()).type).toBe('CONNECT');
  expect(made.log.find((e) => e.name === 'disconnected')?.args).toEqual([4000, 'ping timeout']);
  // Answered PINGs keep the connection.
  conn2.send(connack());
  await conn2.nextOfType('PING');
  await conn2.nextOfType('PING');
  await conn2.nextOfType('PING');
  expect(server.conns).toHaveLength(2);
});

test('backoffDelay grows exponentially with jitter and stays under the cap', () => {
  const opts = { minDelayMs: 100, maxDelayMs: 1000 };
  expect(backoffDelay(0, opts, () => 0)).toBe(50);
  expect(backoffDelay(0, opts, () => 1)).toBe(100);
  expect(backoffDelay(1, opts, () => 1)).toBe(200);
  expect(backoffDelay(3, opts, () => 0)).toBe(400);
  expect(backoffDelay(10, opts, () => 1)).toBe(1000);
  expect(backoffDelay(10, opts, () => 0)).toBe(500);
  expect(backoffDelay(1e6, opts, () => 1)).toBe(1000);
});

test('close 1013 waits for the ERROR\'s retry_after_ms, then backs off with full jitter, growing and capped', async () => {
  const made = clientFor(server, { reconnect: { minDelayMs: 100, maxDelayMs: 400 } });
  client = made.client;
  client.connect();
  const closeWith1013 = async () => {
    const conn = await server.nextConn(5000);
    await conn.next();
    const closedAt = Date.now();
    conn.send({ type: 'ERROR', code: 'unavailable', message: 'the store is unavailable; retry', ref: null, retry_after_ms: 300 });
    conn.close(1013, 'try again later');
    return closedAt;
  };
  const first = await closeWith1013();
  const second = await closeWith1013();
  expect(second - first).toBeGreaterThanOrEqual(290); // never sooner than the hint, unlike 1012
  await closeWith1013();
  await closeWith1013();
  const conn = await server.nextConn(5000);
  await conn.next();
  conn.send(connack());
  await waitFor(() => client!.status === 'ready');
  const delays = made.log.filter((e) => e.name === 'reconnecting').map((e) => (e.args as [number, number])[1]);
  expect(delays).toHaveLength(4);
  // Hint + [0, min(400, 100 * 2^attempt)].
  expect(delays[0]).toBeGreaterThanOrEqual(300);
  expect(delays[0]).toBeLessThanOrEqual(400);
  for (const d of delays) expect(d).toBeLessThanOrEqual(700);
});

test('tryLaterDelay: full jitter over a growing, capped ceiling, after the floor', () => {
  const opts = { minDelayMs: 100, maxDelayMs: 1000 };
  expect(tryLaterDelay(0, 0, opts, () => 0)).toBe(0); // full jitter reaches down to the floor
  expect(tryLaterDelay(0, 2000, opts, () => 0)).toBe(2000); // the server's hint wins over the cap
  expect(tryLaterDelay(0, 3_600_000, opts, () => 0)).toBe(60_000); // up to a minute
  expect(tryLaterDelay(0, 250, opts, () => 1)).toBe(350);
  expect(tryLaterDelay(3, 250, opts, () => 1)).toBe(1050); // 100 * 2^3 = 800
  expect(tryLaterDelay(10, 250, opts, () => 1)).toBe(1250); // capped at 1000
  expect(tryLaterDelay(10, 0, opts, () => 0.5)).toBe(500);
});

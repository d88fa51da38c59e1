import { clientFor, connack, connectReady, FakeServer, sleep, waitFor, type FakeConn } from './fake-server';
import { ChatError, ClientClosedError, type ChatClient } from '../../src/client';
import type { SendFrame } from '../../src/protocol/frames';

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

/** Connects `c` to this file's server, CONNACK answered. */
const ready = (c: ChatClient): Promise<FakeConn> => connectReady(server, c);

async function nextSend(conn: FakeConn): Promise<SendFrame> {
  return conn.nextOfType('SEND');
}

test('send resolves with its ACK, carrying optional fields', async () => {
  client = clientFor(server).client;
  const conn = await ready(client);
  const p = client.send('c1', 'hello', { reply_to: 3, mentions: ['u_b'], attachments: ['a_1'] });
  const frame = await nextSend(conn);
  expect(frame).toEqual({
    type: 'SEND',
    client_msg_id: frame.client_msg_id,
    conv_id: 'c1',
    body: 'hello',
    reply_to: 3,
    mentions: ['u_b'],
    attachments: ['a_1'],
  });
  // An ACK for some other id must not settle this send.
  conn.send({ type: 'ACK', client_msg_id: 'm_other', conv_id: 'c1', seq: 1, ts: 1 });
  conn.send({ type: 'ACK', client_msg_id: frame.client_msg_id, conv_id: 'c1', seq: 42, ts: 99, duplicate: true });
  await expect(p).resolves.toEqual({ client_msg_id: frame.client_msg_id, conv_id: 'c1', seq: 42, ts: 99, duplicate: true });
  expect(client.pendingSends).toBe(0);
});

test('an ERROR whose ref is the client_msg_id rejects that send; one without a pending ref is emitted', async () => {
  const made = clientFor(server);
  client = made.client;
  const conn = await ready(client);
  const bad = client.send('c1', 'to a conversation I left');
  const good = client.send('c1', 'fine', { client_msg_id: 'm_mine' });
  const badFrame = await nextSend(conn);
  await nextSend(conn);
  conn.send({ type: 'ERROR', code: 'forbidden', message: 'not a member', ref: badFrame.client_msg_id });
  const err = await bad.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChatError);
  expect(err).toMatchObject({ code: 'forbidden', message: 'not a member', ref: badFrame.client_msg_id });

  conn.send({ type: 'ERROR', code: 'rate_limited', message: 'slow down', ref: null });
  conn.send({ type: 'ERROR', code: 'bad_request', message: 'stale', ref: badFrame.client_msg_id });
  await waitFor(() => made.log.filter((e) => e.name === 'error').length === 2);
  const codes = made.log.filter((e) => e.name === 'error').map((e) => (e.args[0] as ChatError).code);
  expect(codes).toEqual(['rate_limited', 'bad_request']);
  // The other send is untouched by either.
  conn.send({ type: 'ACK', client_msg_id: 'm_mine', conv_id: 'c1', seq: 7, ts: 1 });
  await expect(good).resolves.toMatchObject({ seq: 7 });
});

test('an unacked send is resent with the same client_msg_id after the socket drops, and resolves once', async () => {
  const made = clientFor(server);
  client = made.client;
  const conn1 = await ready(client);
  let settled = 0;
  const p = client.send('c1', 'survives');
  void p.then(() => settled++, () => settled++);
  const first = await nextSend(conn1);
  conn1.kill(); // dropped before the ACK

  const conn2 = await server.nextConn();
  const connect = await conn2.next();
  expect(connect.type).toBe('CONNECT');
  await sleep(30);
  expect(conn2.frames).toHaveLength(1); // the resend waits for CONNACK
  conn2.send(connack());
  const again = await nextSend(conn2);
  expect(again).toEqual(first);
  conn2.send({ type: 'ACK', client_msg_id: first.client_msg_id, conv_id: 'c1', seq: 5, ts: 2, duplicate: true });
  await expect(p).resolves.toEqual({ client_msg_id: first.client_msg_id, conv_id: 'c1', seq: 5, ts: 2, duplicate: true });
  // A late second ACK changes nothing.
  conn2.send({ type: 'ACK', client_msg_id: first.client_msg_id, conv_id: 'c1', seq: 5, ts: 2 });
  await client.ping();
  expect(settled).toBe(1);
  expect(client.pendingSends).toBe(0);
  const names = made.log.map((e) => e.name);
  expect(names.filter((n) => n === 'disconnected')).toHaveLength(1);
  expect(names.filter((n) => n === 'connected')).toHaveLength(2);
});

test('oversized bodies are refused locally, so they are never resent forever', async () => {
  client = clientFor(server, { limits: { maxBodyChars: 10 } }).client;
  const conn = await ready(client);
  await expect(client.send('c1', 'x'.repeat(11))).rejects.toMatchObject({ code: 'too_large' });
  const p = client.send('c1', 'x'.repeat(10), { client_msg_id: 'm_ok' });
  await expect(nextSend(conn)).resolves.toMatchObject({ client_msg_id: 'm_ok' });
  await expect(client.send('c1', 'again', { client_msg_id: 'm_ok' })).rejects.toMatchObject({ code: 'bad_request' });
  conn.send({ type: 'ACK', client_msg_id: 'm_ok', conv_id: 'c1', seq: 1, ts: 1 });
  await p;
});

test('close() rejects pending sends and stops for good', async () => {
  const made = clientFor(server);
  client = made.client;
  const conn = await ready(client);
  const p = client.send('c1', 'never acked');
  await nextSend(conn);
  client.close();
  await expect(p).rejects.toBeInstanceOf(ClientClosedError);
  expect(await conn.closed).toBe(1000);
  await sleep(100);
  expect(server.conns).toHaveLength(1);
  expect(client.status).toBe('closed');
  await expect(client.send('c1', 'after close')).rejects.toBeInstanceOf(ClientClosedError);
  expect(() => client!.connect()).toThrow(ClientClosedError);
});

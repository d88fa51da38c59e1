/** Persisting the outbox: `pendingFrames()` and the `outbox` event, and frames restored through the `outbox` option. */
import { clientFor, connack, connectReady, FakeServer, sleep, waitFor, type FakeConn, type LogEntry } from './fake-server';
import { ChatError, ClientClosedError, type ChatClient, type OutboxFrame } from '../../src/client';

let server: FakeServer;
let client: ChatClient | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeEach(async () => {
  server = await FakeServer.start();
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await server.stop();
  await sleep(10);
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

/** Connects `c` to this file's server, CONNACK answered. */
const ready = (c: ChatClient): Promise<FakeConn> => connectReady(server, c);

/** The payloads of every `outbox` event so far, as lists of client_msg_ids. */
function outboxEvents(log: LogEntry[]): string[][] {
  return log.filter((e) => e.name === 'outbox').map((e) => (e.args[0] as OutboxFrame[]).map((f) => f.client_msg_id));
}

const saved: OutboxFrame[] = [
  { type: 'SEND', client_msg_id: 'm_1', conv_id: 'c1', body: 'written offline', reply_to: 3, mentions: ['u_b'] },
  { type: 'REACT', client_msg_id: 'm_2', conv_id: 'c1', target_seq: 3, emoji: '👍' },
  { type: 'EDIT', client_msg_id: 'm_3', conv_id: 'c1', target_seq: 3, body: 'fixed' },
  { type: 'DELETE', client_msg_id: 'm_4', conv_id: 'c1', target_seq: 2 },
];

test('pendingFrames() is a snapshot, and `outbox` fires with it on every add, ACK and ERROR', async () => {
  const made = clientFor(server);
  client = made.client;
  const conn = await ready(client);
  const a = client.send('c1', 'one', { client_msg_id: 'm_a' });
  const b = client.react('c1', 5, '🎉', { client_msg_id: 'm_b' });
  expect(client.pendingFrames()).toEqual([
    { type: 'SEND', client_msg_id: 'm_a', conv_id: 'c1', body: 'one' },
    { type: 'REACT', client_msg_id: 'm_b', conv_id: 'c1', target_seq: 5, emoji: '🎉' },
  ]);
  client.pendingFrames()[0].conv_id = 'changed'; // a copy: the outbox is untouched
  expect(client.pendingFrames()[0].conv_id).toBe('c1');
  expect(outboxEvents(made.log)).toEqual([['m_a'], ['m_a', 'm_b']]);

  await conn.nextOfType('REACT');
  conn.send({ type: 'ACK', client_msg_id: 'm_a', conv_id: 'c1', seq: 9, ts: 1 });
  await a;
  conn.send({ type: 'ACK', client_msg_id: 'm_unknown', conv_id: 'c1', seq: 10, ts: 1 }); // changes nothing
  conn.send({ type: 'ERROR', code: 'forbidden', message: 'no', ref: 'm_b' });
  await expect(b).rejects.toBeInstanceOf(ChatError);
  expect(outboxEvents(made.log)).toEqual([['m_a'], ['m_a', 'm_b'], ['m_b'], []]);
  expect(client.pendingFrames()).toEqual([]);
  // Frames the app sent itself never produce restored* events.
  expect(made.log.filter((e) => e.name === 'restoredAck' || e.name === 'restoredError')).toEqual([]);
});

test('restored frames go out after the first CONNACK, oldest first and ahead of new sends; their outcomes are events', async () => {
  const made = clientFor(server, { outbox: saved.map((f) => ({ ...f })) });
  client = made.client;
  expect(client.pendingSends).toBe(4);
  expect(client.pendingFrames()).toEqual(saved);
  const later = client.send('c1', 'typed after the restart', { client_msg_id: 'm_5' });

  client.connect();
  const conn = await server.nextConn();
  expect((await conn.next()).type).toBe('CONNECT');
  await sleep(30);
  expect(conn.frames).toHaveLength(1); // nothing before CONNACK
  conn.send(connack());
  const sent = [await conn.next(), await conn.next(), await conn.next(), await conn.next(), await conn.next()];
  expect(sent).toEqual([...saved, { type: 'SEND', client_msg_id: 'm_5', conv_id: 'c1', body: 'typed after the restart' }]);

  conn.send({ type: 'ACK', client_msg_id: 'm_1', conv_id: 'c1', seq: 7, ts: 70, duplicate: true }); // the last run's copy had landed
  conn.send({ type: 'ACK', client_msg_id: 'm_2', conv_id: 'c1', seq: 8, ts: 80 });
  conn.send({ type: 'ERROR', code: 'forbidden', message: 'not yours', ref: 'm_3' });
  conn.send({ type: 'ACK', client_msg_id: 'm_4', conv_id: 'c1', seq: 9, ts: 90 });
  conn.send({ type: 'ACK', client_msg_id: 'm_5', conv_id: 'c1', seq: 10, ts: 100 });
  await expect(later).resolves.toMatchObject({ seq: 10 });
  await waitFor(() => made.log.filter((e) => e.name.startsWith('restored')).length === 4);

  const outcomes = made.log.filter((e) => e.name.startsWith('restored'));
  expect(outcomes.map((e) => [e.name, (e.args[1] as OutboxFrame).client_msg_id])).toEqual([
    ['restoredAck', 'm_1'],
    ['restoredAck', 'm_2'],
    ['restoredError', 'm_3'],
    ['restoredAck', 'm_4'],
  ]);
  expect(outcomes[0].args[0]).toEqual({ client_msg_id: 'm_1', conv_id: 'c1', seq: 7, ts: 70, duplicate: true });
  expect(outcomes[2].args[0]).toBeInstanceOf(ChatError);
  expect(outcomes[2].args[0]).toMatchObject({ code: 'forbidden', ref: 'm_3' });
  // The ERROR answered a pending frame, so it is not also an `error` event.
  expect(made.log.filter((e) => e.name === 'error')).toEqual([]);
  expect(client.pendingFrames()).toEqual([]);
  expect(outboxEvents(made.log).at(-1)).toEqual([]);
});

test('restored frames are resent after every reconnect until answered, like any other', async () => {
  const made = clientFor(server, { outbox: [saved[0]] });
  client = made.client;
  const first = await ready(client);
  expect(await first.nextOfType('SEND')).toEqual(saved[0]);
  first.kill();
  const second = await server.nextConn();
  expect((await second.next()).type).toBe('CONNECT');
  second.send(connack());
  expect(await second.nextOfType('SEND')).toEqual(saved[0]);
  second.send({ type: 'ACK', client_msg_id: 'm_1', conv_id: 'c1', seq: 7, ts: 70 });
  await waitFor(() => made.log.some((e) => e.name === 'restoredAck'));
  expect(client.pendingSends).toBe(0);
});

test('frames that cannot be restored are reported after construction and never sent', async () => {
  const made = clientFor(server, {
    limits: { maxBodyChars: 10 },
    outbox: [
      saved[1],
      { type: 'SEND', client_msg_id: 'm_big', conv_id: 'c1', body: 'x'.repeat(11) },
      { type: 'PING' } as unknown as OutboxFrame,
      { type: 'REACT', client_msg_id: 'm_2', conv_id: 'c1', target_seq: 3, emoji: '🙂' }, // the same client_msg_id again
    ],
  });
  client = made.client;
  expect(client.pendingFrames()).toEqual([saved[1]]);
  await Promise.resolve();
  const errors = made.log.filter((e) => e.name === 'restoredError').map((e) => [(e.args[0] as ChatError).code, (e.args[0] as ChatError).ref]);
  expect(errors).toEqual([
    ['too_large', 'm_big'],
    ['bad_request', null],
    ['bad_request', 'm_2'],
  ]);
  // The app's saved copy still holds them: an `outbox` event lets it drop them.
  expect(outboxEvents(made.log)).toEqual([['m_2']]);

  const conn = await ready(client);
  expect(await conn.next()).toEqual(saved[1]);
  await sleep(30);
  expect(conn.frames).toHaveLength(2);
});

test('close() rejects pending promises but keeps the frames in pendingFrames(), with no outbox or restoredError event', async () => {
  const made = clientFor(server, { outbox: [saved[0]] });
  client = made.client;
  const conn = await ready(client);
  const p = client.send('c1', 'unacked', { client_msg_id: 'm_x' });
  await conn.nextOfType('SEND');
  const before = made.log.length;
  client.close();
  await expect(p).rejects.toBeInstanceOf(ClientClosedError);
  await sleep(10);
  expect(made.log.slice(before).map((e) => e.name)).toEqual(['disconnected']);
  expect(client.pendingSends).toBe(0);
  const left = client.pendingFrames();
  expect(left).toEqual([saved[0], { type: 'SEND', client_msg_id: 'm_x', conv_id: 'c1', body: 'unacked' }]);

  // Through storage (JSON) into the next run, which delivers them.
  const next = clientFor(server, { outbox: JSON.parse(JSON.stringify(left)) as OutboxFrame[] });
  client = next.client;
  const conn2 = await ready(client);
  expect([await conn2.next(), await conn2.next()]).toEqual(left);
});

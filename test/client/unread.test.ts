import { clientFor, connack, FakeServer, msg, waitFor } from './fake-server';
import type { ChatClient } from '../../src/client';
import type { InboxRow } from '../../src/protocol/frames';

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

function row(over: Partial<InboxRow>): InboxRow {
  return {
    conv_id: 'c1',
    type: 'group',
    title: 'team',
    peer_id: null,
    last_seq: 0,
    preview: null,
    preview_sender_id: null,
    preview_ts: null,
    updated_at: 1,
    unread: 0,
    unread_mentions: 0,
    last_read_seq: 0,
    marked_unread: false,
    muted_until: null,
    muted: false,
    ...over,
  };
}

test('unread counts: seeded by inbox rows, +1 per new message from others, set by READ_SYNC, cleared by markRead', async () => {
  const made = clientFor(server, { state: { convs: { c1: 3 } } });
  client = made.client;
  const unread = () => made.log.filter((e) => e.name === 'unread').map((e) => e.args);
  client.connect();
  const conn = await server.nextConn();
  await conn.next();
  // The row already counts the missed events 4 and 5: they must not be counted again.
  conn.send(connack({ inbox: [row({ last_seq: 5, unread: 2, last_read_seq: 3 })], missed: [msg('c1', 4), msg('c1', 5)] }));
  await waitFor(() => client!.status === 'ready');
  expect(client.unreadCount('c1')).toBe(2);
  expect(made.log.filter((e) => e.name === 'inbox').map((e) => (e.args[0] as InboxRow).conv_id)).toEqual(['c1']);

  conn.send({ type: 'DELIVER', ...msg('c1', 6) }); // from another user: +1
  conn.send({ type: 'DELIVER', ...msg('c1', 6) }); // duplicate: no change
  conn.send({ type: 'DELIVER', ...msg('c1', 7, 'u_me') }); // my own (other device): no change
  conn.send({ type: 'DELIVER', ...msg('c1', 8), kind: 'reaction', target_seq: 6, emoji: '+1' }); // not a message
  conn.send({ type: 'DELIVER', ...msg('c2', 1) }); // conversation without a row yet
  await client.ping();
  expect(client.unreadCounts()).toEqual({ c1: 3, c2: 1 });

  conn.send({ type: 'READ_SYNC', conv_id: 'c1', last_read_seq: 5, unread: 1, unread_mentions: 1, marked_unread: false });
  await waitFor(() => made.log.some((e) => e.name === 'readSync'));
  expect(client.unreadCount('c1')).toBe(1);
  expect(made.log.find((e) => e.name === 'readSync')?.args).toEqual([
    { conv_id: 'c1', last_read_seq: 5, unread: 1, unread_mentions: 1, marked_unread: false },
  ]);

  // A message at or below the read marker is not unread (e.g. read on another device first).
  conn.send({ type: 'READ_SYNC', conv_id: 'c2', last_read_seq: 3, unread: 0, unread_mentions: 0, marked_unread: false });
  conn.send({ type: 'DELIVER', ...msg('c2', 3) });
  await client.ping();
  expect(client.unreadCount('c2')).toBe(0);

  client.markRead('c1', 8);
  expect(await conn.nextOfType('READ')).toEqual({ type: 'READ', conv_id: 'c1', seq: 8 });
  expect(client.unreadCount('c1')).toBe(0); // read up to everything held: 0 at once
  expect(unread()).toEqual([
    ['c1', 2],
    ['c1', 3],
    ['c2', 1],
    ['c1', 1],
    ['c2', 0],
    ['c1', 0],
  ]);
});

test('markRead below the newest held seq waits for READ_SYNC; unconfirmed READs are resent after a reconnect', async () => {
  const made = clientFor(server, { state: { convs: { c1: 10 } } });
  client = made.client;
  client.markRead('c1', 4); // before connecting: queued
  client.markDelivered('c1', 10);
  client.connect();
  const conn = await server.nextConn();
  await conn.next();
  conn.send(connack({ inbox: [row({ last_seq: 10, unread: 6, last_read_seq: 2 })] }));
  expect(await conn.nextOfType('READ')).toEqual({ type: 'READ', conv_id: 'c1', seq: 4 });
  expect(await conn.nextOfType('DELIVERED')).toEqual({ type: 'DELIVERED', conv_id: 'c1', seq: 10 });
  client.markRead('c1', 7);
  await conn.nextOfType('READ');
  expect(client.unreadCount('c1')).toBe(6); // only the server knows how many of 8..10 are from others

  conn.kill(); // READ_SYNC never came
  const conn2 = await server.nextConn();
  await conn2.next();
  conn2.send(connack());
  expect(await conn2.nextOfType('READ')).toEqual({ type: 'READ', conv_id: 'c1', seq: 7 });
  conn2.send({ type: 'READ_SYNC', conv_id: 'c1', last_read_seq: 7, unread: 2, unread_mentions: 0, marked_unread: false });
  await waitFor(() => client!.unreadCount('c1') === 2);

  conn2.kill(); // confirmed now: not resent
  const conn3 = await server.nextConn();
  await conn3.next();
  conn3.send(connack());
  await waitFor(() => client!.status === 'ready');
  await client.ping();
  expect(conn3.frames.map((f) => f.type)).toEqual(['CONNECT', 'PING']);
});

test('typing, receipts and presence are relayed; a typing indicator lapses without refresh', async () => {
  const made = clientFor(server, { typingTimeoutMs: 60 });
  client = made.client;
  client.subscribePresence(['u_b']);
  client.connect();
  const conn = await server.nextConn();
  await conn.next();
  conn.send(connack());
  expect(await conn.nextOfType('PRESENCE_SUB')).toEqual({ type: 'PRESENCE_SUB', user_ids: ['u_b'] });
  expect(client.typing('c1', 'started')).toBe(true);
  expect(await conn.nextOfType('TYPING')).toEqual({ type: 'TYPING', conv_id: 'c1', state: 'started' });
  conn.send({ type: 'TYPING', conv_id: 'c1', user_id: 'u_b', state: 'started' });
  conn.send({ type: 'RECEIPT', conv_id: 'c1', user_id: 'u_b', seq: 4, kind: 'read' });
  conn.send({ type: 'PRESENCE', user_id: 'u_b', state: 'offline', last_seen: 123 });
  await waitFor(() => made.log.filter((e) => e.name === 'typing').length === 2, 1000, 'typing to lapse');
  const typing = made.log.filter((e) => e.name === 'typing').map((e) => e.args[0]);
  expect(typing).toEqual([
    { conv_id: 'c1', user_id: 'u_b', state: 'started' },
    { conv_id: 'c1', user_id: 'u_b', state: 'stopped' },
  ]);
  expect(made.log.find((e) => e.name === 'receipt')?.args).toEqual([{ conv_id: 'c1', user_id: 'u_b', seq: 4, kind: 'read' }]);
  expect(made.log.find((e) => e.name === 'presence')?.args).toEqual([{ user_id: 'u_b', state: 'offline', last_seen: 123 }]);
});

test('DELIVERED for events handled together goes out once per conversation, with the newest seq', async () => {
  const made = clientFor(server);
  client = made.client;
  const c = client;
  // An app marking each event delivered as it folds it, as the web client does.
  c.on('event', (ev) => c.markDelivered(ev.conv_id, ev.seq));
  c.connect();
  const conn = await server.nextConn();
  await conn.next();
  // A CONNACK replaying 300 messages of two conversations: two DELIVERED, not 300.
  const missed = [...Array.from({ length: 200 }, (_, i) => msg('c1', i + 1)), ...Array.from({ length: 100 }, (_, i) => msg('c2', i + 1))];
  conn.send(connack({ missed }));
  const first = await conn.nextOfType('DELIVERED');
  const second = await conn.nextOfType('DELIVERED');
  expect([first, second]).toEqual([
    { type: 'DELIVERED', conv_id: 'c1', seq: 200 },
    { type: 'DELIVERED', conv_id: 'c2', seq: 100 },
  ]);
  // One live message later: its own DELIVERED.
  conn.send({ type: 'DELIVER', ...msg('c1', 201) });
  expect(await conn.nextOfType('DELIVERED')).toEqual({ type: 'DELIVERED', conv_id: 'c1', seq: 201 });
  await expect(conn.next(300)).rejects.toThrow();
});

import { clientFor, connack, connectReady, FakeServer, sleep, waitFor, type FakeConn } from './fake-server';
import { ChatError, ClientClosedError, MUTED_FOREVER, type ChatClient } from '../../src/client';
import type { ClientFrame } from '../../src/protocol/frames';

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

type AckedFrame = Extract<ClientFrame, { type: 'REACT' | 'EDIT' | 'DELETE' }>;

/** The next REACT, EDIT or DELETE frame, skipping nothing else. */
async function nextAcked(conn: FakeConn): Promise<AckedFrame> {
  const f = await conn.next();
  if (f.type !== 'REACT' && f.type !== 'EDIT' && f.type !== 'DELETE') throw new Error(`expected REACT/EDIT/DELETE, got ${f.type}`);
  return f;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

test('react, edit and deleteMessage send their frames and resolve with their ACKs', async () => {
  client = clientFor(server).client;
  const conn = await ready(client);

  const reacted = client.react('c1', 4, '👍');
  const react = await nextAcked(conn);
  expect(react).toEqual({ type: 'REACT', client_msg_id: react.client_msg_id, conv_id: 'c1', target_seq: 4, emoji: '👍' });
  expect(react.client_msg_id).toMatch(/^m_/);

  const unreacted = client.react('c1', 4, null, { client_msg_id: 'm_unreact' });
  expect(await nextAcked(conn)).toEqual({ type: 'REACT', client_msg_id: 'm_unreact', conv_id: 'c1', target_seq: 4, emoji: null });

  const edited = client.edit('c1', 3, 'fixed typo');
  const edit = await nextAcked(conn);
  expect(edit).toEqual({ type: 'EDIT', client_msg_id: edit.client_msg_id, conv_id: 'c1', target_seq: 3, body: 'fixed typo' });

  const deleted = client.deleteMessage('c1', 2);
  const del = await nextAcked(conn);
  expect(del).toEqual({ type: 'DELETE', client_msg_id: del.client_msg_id, conv_id: 'c1', target_seq: 2 });
  expect(new Set([react.client_msg_id, edit.client_msg_id, del.client_msg_id]).size).toBe(3);
  expect(client.pendingSends).toBe(4);

  // Answers in any order; an ACK for an unknown id settles nothing.
  conn.send({ type: 'ACK', client_msg_id: 'm_other', conv_id: 'c1', seq: 1, ts: 1 });
  conn.send({ type: 'ACK', client_msg_id: del.client_msg_id, conv_id: 'c1', seq: 13, ts: 103 });
  conn.send({ type: 'ACK', client_msg_id: edit.client_msg_id, conv_id: 'c1', seq: 12, ts: 102 });
  conn.send({ type: 'ACK', client_msg_id: 'm_unreact', conv_id: 'c1', seq: 11, ts: 101, duplicate: true });
  conn.send({ type: 'ACK', client_msg_id: react.client_msg_id, conv_id: 'c1', seq: 10, ts: 100 });
  await expect(reacted).resolves.toEqual({ client_msg_id: react.client_msg_id, conv_id: 'c1', seq: 10, ts: 100 });
  await expect(unreacted).resolves.toEqual({ client_msg_id: 'm_unreact', conv_id: 'c1', seq: 11, ts: 101, duplicate: true });
  await expect(edited).resolves.toEqual({ client_msg_id: edit.client_msg_id, conv_id: 'c1', seq: 12, ts: 102 });
  await expect(deleted).resolves.toEqual({ client_msg_id: del.client_msg_id, conv_id: 'c1', seq: 13, ts: 103 });
  expect(client.pendingSends).toBe(0);
});

test('an ERROR whose ref is the client_msg_id rejects that react, edit or delete only', async () => {
  const made = clientFor(server);
  client = made.client;
  const conn = await ready(client);
  const reacted = client.react('c1', 99, '🎉', { client_msg_id: 'm_r' });
  const edited = client.edit('c1', 3, 'too late', { client_msg_id: 'm_e' });
  const deleted = client.deleteMessage('c1', 2, { client_msg_id: 'm_d' });
  const kept = client.react('c1', 4, '❤️', { client_msg_id: 'm_kept' });
  for (let i = 0; i < 4; i++) await nextAcked(conn);

  conn.send({ type: 'ERROR', code: 'not_found', message: 'no such message', ref: 'm_r' });
  conn.send({ type: 'ERROR', code: 'forbidden', message: 'edit window over', ref: 'm_e' });
  conn.send({ type: 'ERROR', code: 'forbidden', message: 'not yours', ref: 'm_d' });
  const errs = await Promise.all([rejection(reacted), rejection(edited), rejection(deleted)]);
  for (const e of errs) expect(e).toBeInstanceOf(ChatError);
  expect(errs).toMatchObject([
    { code: 'not_found', message: 'no such message', ref: 'm_r' },
    { code: 'forbidden', message: 'edit window over', ref: 'm_e' },
    { code: 'forbidden', message: 'not yours', ref: 'm_d' },
  ]);
  // Answered errors are not also emitted; the untouched reaction still resolves.
  conn.send({ type: 'ACK', client_msg_id: 'm_kept', conv_id: 'c1', seq: 8, ts: 1 });
  await expect(kept).resolves.toMatchObject({ seq: 8 });
  expect(made.log.filter((e) => e.name === 'error')).toEqual([]);
});

test('unacked REACT, EDIT and DELETE are resent in order with the same client_msg_id after the socket drops, and resolve once', async () => {
  const made = clientFor(server);
  client = made.client;
  const conn1 = await ready(client);
  let settled = 0;
  const count = <T>(p: Promise<T>): Promise<T> => {
    void p.then(() => settled++, () => settled++);
    return p;
  };
  const reacted = count(client.react('c1', 4, '👍'));
  const edited = count(client.edit('c1', 3, 'v2'));
  const deleted = count(client.deleteMessage('c1', 2));
  const first = [await nextAcked(conn1), await nextAcked(conn1), await nextAcked(conn1)];
  conn1.kill(); // dropped before any ACK

  const conn2 = await server.nextConn();
  expect((await conn2.next()).type).toBe('CONNECT');
  await sleep(30);
  expect(conn2.frames).toHaveLength(1); // the resends wait for CONNACK
  conn2.send(connack());
  const again = [await nextAcked(conn2), await nextAcked(conn2), await nextAcked(conn2)];
  expect(again).toEqual(first);
  expect(again.map((f) => f.type)).toEqual(['REACT', 'EDIT', 'DELETE']);

  for (const [i, f] of again.entries()) {
    conn2.send({ type: 'ACK', client_msg_id: f.client_msg_id, conv_id: 'c1', seq: 20 + i, ts: 2, duplicate: true });
  }
  await expect(reacted).resolves.toEqual({ client_msg_id: first[0].client_msg_id, conv_id: 'c1', seq: 20, ts: 2, duplicate: true });
  await expect(edited).resolves.toMatchObject({ client_msg_id: first[1].client_msg_id, seq: 21, duplicate: true });
  await expect(deleted).resolves.toMatchObject({ client_msg_id: first[2].client_msg_id, seq: 22, duplicate: true });
  // A late second ACK changes nothing.
  conn2.send({ type: 'ACK', client_msg_id: first[0].client_msg_id, conv_id: 'c1', seq: 20, ts: 2 });
  await client.ping();
  expect(settled).toBe(3);
  expect(client.pendingSends).toBe(0);
  expect(made.log.filter((e) => e.name === 'connected')).toHaveLength(2);
});

test('oversized edits and reused pending ids are refused locally; close() rejects what is pending', async () => {
  client = clientFor(server, { limits: { maxBodyChars: 10 } }).client;
  const conn = await ready(client);
  await expect(client.edit('c1', 3, 'x'.repeat(11))).rejects.toMatchObject({ code: 'too_large' });
  const reacted = client.react('c1', 3, '👍', { client_msg_id: 'm_same' });
  await expect(client.deleteMessage('c1', 3, { client_msg_id: 'm_same' })).rejects.toMatchObject({ code: 'bad_request', ref: 'm_same' });
  expect(await nextAcked(conn)).toMatchObject({ type: 'REACT', client_msg_id: 'm_same' });
  await client.ping();
  expect(conn.frames.map((f) => f.type)).toEqual(['CONNECT', 'REACT', 'PING']); // neither refusal went out
  client.close();
  await expect(reacted).rejects.toBeInstanceOf(ClientClosedError);
  await expect(client.edit('c1', 3, 'after close')).rejects.toBeInstanceOf(ClientClosedError);
  await expect(client.mute('c1', null)).rejects.toBeInstanceOf(ClientClosedError);
});

test('mute sends MUTE and resolves once written; MUTE_SYNC is emitted as muteSync; nothing is resent', async () => {
  const made = clientFor(server);
  client = made.client;
  await expect(client.mute('c1', MUTED_FOREVER)).rejects.toThrow('not connected');
  const conn = await ready(client);

  await expect(client.mute('c1', 1_800_000_000_000)).resolves.toBeUndefined();
  expect(await conn.next()).toEqual({ type: 'MUTE', conv_id: 'c1', until: 1_800_000_000_000 });
  await client.mute('c2', MUTED_FOREVER);
  expect(await conn.next()).toEqual({ type: 'MUTE', conv_id: 'c2', until: -1 });
  await client.mute('c2', null);
  expect(await conn.next()).toEqual({ type: 'MUTE', conv_id: 'c2', until: null });
  for (const bad of [-5, 1.5, Number.NaN]) {
    await expect(client.mute('c1', bad)).rejects.toMatchObject({ code: 'bad_request', ref: null });
  }

  conn.send({ type: 'MUTE_SYNC', conv_id: 'c1', muted_until: 1_800_000_000_000 });
  conn.send({ type: 'MUTE_SYNC', conv_id: 'c2', muted_until: -1 });
  conn.send({ type: 'MUTE_SYNC', conv_id: 'c2', muted_until: null });
  // MUTE carries no client_msg_id: the server's ERROR for it has no ref and is emitted.
  conn.send({ type: 'ERROR', code: 'forbidden', message: 'not a member', ref: null });
  await waitFor(() => made.log.some((e) => e.name === 'error'));
  expect(made.log.filter((e) => e.name === 'muteSync').map((e) => e.args)).toEqual([
    [{ conv_id: 'c1', muted_until: 1_800_000_000_000 }],
    [{ conv_id: 'c2', muted_until: -1 }],
    [{ conv_id: 'c2', muted_until: null }],
  ]);

  conn.kill();
  const conn2 = await server.nextConn();
  await conn2.next();
  conn2.send(connack());
  await waitFor(() => client!.status === 'ready');
  await client.ping();
  expect(conn2.frames.map((f) => f.type)).toEqual(['CONNECT', 'PING']);
});

test('markUnread sends MARK_UNREAD; READ_SYNC carries unread_mentions and marked_unread; an unconfirmed READ is not resent over it', async () => {
  const made = clientFor(server, { state: { convs: { c1: 9 } } });
  client = made.client;
  await expect(client.markUnread('c1')).rejects.toThrow('not connected');
  const conn = await ready(client);

  client.markRead('c1', 9);
  expect(await conn.next()).toEqual({ type: 'READ', conv_id: 'c1', seq: 9 });
  await expect(client.markUnread('c1')).resolves.toBeUndefined();
  expect(await conn.next()).toEqual({ type: 'MARK_UNREAD', conv_id: 'c1' });

  // Dropped before the READ_SYNC for 9 came: resending that READ would clear the mark.
  conn.kill();
  const conn2 = await server.nextConn();
  await conn2.next();
  conn2.send(connack());
  await waitFor(() => client!.status === 'ready');
  await client.ping();
  expect(conn2.frames.map((f) => f.type)).toEqual(['CONNECT', 'PING']);

  conn2.send({ type: 'READ_SYNC', conv_id: 'c1', last_read_seq: 9, unread: 0, unread_mentions: 0, marked_unread: true });
  conn2.send({ type: 'READ_SYNC', conv_id: 'c2', last_read_seq: 2, unread: 4, unread_mentions: 2, marked_unread: false });
  await waitFor(() => made.log.filter((e) => e.name === 'readSync').length === 2);
  expect(made.log.filter((e) => e.name === 'readSync').map((e) => e.args)).toEqual([
    [{ conv_id: 'c1', last_read_seq: 9, unread: 0, unread_mentions: 0, marked_unread: true }],
    [{ conv_id: 'c2', last_read_seq: 2, unread: 4, unread_mentions: 2, marked_unread: false }],
  ]);
  expect(client.unreadCounts()).toEqual({ c1: 0, c2: 4 });
});

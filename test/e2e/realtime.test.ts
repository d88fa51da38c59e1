/** Receipts, read sync, typing and presence over real sockets. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { TestSocket, createConversation, http, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  server = await startTestServer({ MARKER_FLUSH_MS: '50' });
  [alice, bob, carol] = await Promise.all([registerUser(server.url), registerUser(server.url), registerUser(server.url)]);
});
afterAll(() => stopTestServer(server));

const isMsg = (f: { type: string; kind?: string }) => f.type === 'DELIVER' && f.kind === 'message';

test('READ moves the marker forward only, syncs the reader\'s devices and sends a receipt', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'a1');
  const b1 = await TestSocket.connect(server.wsUrl, bob.token, 'b1');
  const b2 = await TestSocket.connect(server.wsUrl, bob.token, 'b2');
  const acks = [];
  for (let i = 0; i < 3; i++) acks.push(await a.sock.sendMessage(conv, `m${i}`, `read-${i}`));
  for (let i = 0; i < 3; i++) await b2.sock.next(isMsg);

  b1.sock.send({ type: 'READ', conv_id: conv, seq: acks[1].seq });
  const sync1 = await b1.sock.next((f) => f.type === 'READ_SYNC');
  const sync2 = await b2.sock.next((f) => f.type === 'READ_SYNC');
  expect(sync1).toEqual({ type: 'READ_SYNC', conv_id: conv, last_read_seq: acks[1].seq, unread: 1, unread_mentions: 0, marked_unread: false });
  expect(sync2).toEqual(sync1);
  const receipt = await a.sock.next((f) => f.type === 'RECEIPT' && f.kind === 'read');
  expect(receipt).toEqual({ type: 'RECEIPT', conv_id: conv, user_id: bob.user_id, seq: acks[1].seq, kind: 'read' });

  // Going backwards is ignored: no sync, no receipt, marker unchanged.
  b2.sock.send({ type: 'READ', conv_id: conv, seq: acks[0].seq });
  await b1.sock.none((f) => f.type === 'READ_SYNC');
  await a.sock.none((f) => f.type === 'RECEIPT' && f.kind === 'read');

  b2.sock.send({ type: 'READ', conv_id: conv, seq: acks[2].seq });
  expect(await b1.sock.next((f) => f.type === 'READ_SYNC')).toMatchObject({ last_read_seq: acks[2].seq, unread: 0 });

  await sleep(150); // marker flush interval
  const inbox = await http(server.url, 'GET', '/api/v1/conversations', undefined, bob.token);
  const row = inbox.body.conversations.find((r: { conv_id: string }) => r.conv_id === conv);
  expect(row).toMatchObject({ last_read_seq: acks[2].seq, unread: 0 });
  for (const s of [a, b1, b2]) s.sock.close();
});

test('DELIVERED sends a delivered receipt to the author', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [carol]);
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'a1');
  const c = await TestSocket.connect(server.wsUrl, carol.token, 'c1');
  const ack = await a.sock.sendMessage(conv, 'ping', 'dlv-1');
  await c.sock.next(isMsg);
  c.sock.send({ type: 'DELIVERED', conv_id: conv, seq: ack.seq });
  expect(await a.sock.next((f) => f.type === 'RECEIPT')).toEqual({ type: 'RECEIPT', conv_id: conv, user_id: carol.user_id, seq: ack.seq, kind: 'delivered' });
  a.sock.close();
  c.sock.close();
});

test('hiding read receipts stops RECEIPT but still syncs own devices', async () => {
  const dave = await registerUser(server.url);
  const conv = await createConversation(server.url, alice, 'direct', [dave]);
  expect((await http(server.url, 'PATCH', '/api/v1/me/settings', { send_read_receipts: false }, dave.token)).status).toBe(200);
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'a1');
  const d = await TestSocket.connect(server.wsUrl, dave.token, 'd1');
  const ack = await a.sock.sendMessage(conv, 'secret read', 'hide-1');
  await d.sock.next(isMsg);
  d.sock.send({ type: 'READ', conv_id: conv, seq: ack.seq });
  expect(await d.sock.next((f) => f.type === 'READ_SYNC')).toMatchObject({ last_read_seq: ack.seq, unread: 0 });
  await a.sock.none((f) => f.type === 'RECEIPT' && f.kind === 'read');
  a.sock.close();
  d.sock.close();
});

test('TYPING reaches online members only and is never stored', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob, carol], 'typing');
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'a1');
  const a2 = await TestSocket.connect(server.wsUrl, alice.token, 'a2');
  const b = await TestSocket.connect(server.wsUrl, bob.token, 'b1');
  const db = new Database(join(server.dataDir, 'chat.db'), { readonly: true });
  const count = () => (db.prepare('SELECT COUNT(*) AS n FROM events WHERE conv_id = ?').get(conv) as { n: number }).n;
  const before = count();
  a.sock.send({ type: 'TYPING', conv_id: conv, state: 'started' });
  expect(await b.sock.next((f) => f.type === 'TYPING')).toEqual({ type: 'TYPING', conv_id: conv, user_id: alice.user_id, state: 'started' });
  await a2.sock.none((f) => f.type === 'TYPING');
  a.sock.send({ type: 'TYPING', conv_id: conv, state: 'stopped' });
  expect(await b.sock.next((f) => f.type === 'TYPING')).toMatchObject({ state: 'stopped' });
  await sleep(100);
  expect(count()).toBe(before);
  const dump = db.prepare("SELECT COUNT(*) AS n FROM events WHERE kind LIKE '%typ%' OR body LIKE '%started%'").get() as { n: number };
  expect(dump.n).toBe(0);
  db.close();
  for (const s of [a, a2, b]) s.sock.close();
});

test('PRESENCE_SUB answers current state, then pushes online and offline with last_seen', async () => {
  const erin = await registerUser(server.url);
  const watcher = await TestSocket.connect(server.wsUrl, alice.token, 'watch');
  watcher.sock.send({ type: 'PRESENCE_SUB', user_ids: [erin.user_id, 'u_nobody'] });
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toEqual({ type: 'PRESENCE', user_id: erin.user_id, state: 'offline', last_seen: null });
  const e = await TestSocket.connect(server.wsUrl, erin.token, 'e1');
  const online = await watcher.sock.next((f) => f.type === 'PRESENCE');
  expect(online).toMatchObject({ user_id: erin.user_id, state: 'online' });
  // A second device does not announce again; closing one of two keeps the user online.
  const e2 = await TestSocket.connect(server.wsUrl, erin.token, 'e2');
  e2.sock.close();
  await watcher.sock.none((f) => f.type === 'PRESENCE');
  const t0 = Date.now();
  e.sock.close();
  const offline = await watcher.sock.next((f) => f.type === 'PRESENCE');
  expect(offline.state).toBe('offline');
  expect(offline.last_seen).toBeGreaterThanOrEqual(t0 - 5);

  // Hiding presence: subscribers are told at once (no last_seen any more), then the user
  // appears offline with no last_seen, and coming online pushes nothing.
  await http(server.url, 'PATCH', '/api/v1/me/settings', { show_presence: false }, erin.token);
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toEqual({ type: 'PRESENCE', user_id: erin.user_id, state: 'offline', last_seen: null });
  watcher.sock.send({ type: 'PRESENCE_SUB', user_ids: [erin.user_id] });
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toEqual({ type: 'PRESENCE', user_id: erin.user_id, state: 'offline', last_seen: null });
  const e3 = await TestSocket.connect(server.wsUrl, erin.token, 'e3');
  await watcher.sock.none((f) => f.type === 'PRESENCE');
  e3.sock.close();
  watcher.sock.close();
});

test('hiding presence while online is pushed to subscribers at once; showing it again too', async () => {
  const gus = await registerUser(server.url);
  const watcher = await TestSocket.connect(server.wsUrl, alice.token, 'watch-hide');
  const g = await TestSocket.connect(server.wsUrl, gus.token, 'g1');
  watcher.sock.send({ type: 'PRESENCE_SUB', user_ids: [gus.user_id] });
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: gus.user_id, state: 'online' });

  // Hidden while online: offline with no last_seen, pushed without any reconnect.
  await http(server.url, 'PATCH', '/api/v1/me/settings', { show_presence: false }, gus.token);
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toEqual({ type: 'PRESENCE', user_id: gus.user_id, state: 'offline', last_seen: null });
  // Still hidden: the disconnect and a new connection push nothing.
  g.sock.close();
  await watcher.sock.none((f) => f.type === 'PRESENCE');
  const g2 = await TestSocket.connect(server.wsUrl, gus.token, 'g2');
  await watcher.sock.none((f) => f.type === 'PRESENCE');

  // Shown again while online: online at once.
  const t0 = Date.now();
  await http(server.url, 'PATCH', '/api/v1/me/settings', { show_presence: true }, gus.token);
  const shown = await watcher.sock.next((f) => f.type === 'PRESENCE');
  expect(shown).toMatchObject({ user_id: gus.user_id, state: 'online' });
  expect(shown.last_seen).toBeGreaterThanOrEqual(t0 - 5);
  // A change that does not touch presence (read receipts) pushes nothing.
  await http(server.url, 'PATCH', '/api/v1/me/settings', { send_read_receipts: false }, gus.token);
  await watcher.sock.none((f) => f.type === 'PRESENCE');
  g2.sock.close();
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: gus.user_id, state: 'offline' });
  watcher.sock.close();
});

test('hiding and showing last-seen is pushed to subscribers at once', async () => {
  const hal = await registerUser(server.url);
  const watcher = await TestSocket.connect(server.wsUrl, alice.token, 'watch-ls');
  watcher.sock.send({ type: 'PRESENCE_SUB', user_ids: [hal.user_id] });
  await watcher.sock.next((f) => f.type === 'PRESENCE'); // never seen yet
  const h = await TestSocket.connect(server.wsUrl, hal.token, 'h1');
  await watcher.sock.next((f) => f.type === 'PRESENCE' && f.state === 'online');
  h.sock.close();
  const seen = await watcher.sock.next((f) => f.type === 'PRESENCE');
  expect(seen).toMatchObject({ state: 'offline', last_seen: expect.any(Number) });
  await http(server.url, 'PATCH', '/api/v1/me/settings', { show_last_seen: false }, hal.token);
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toEqual({ type: 'PRESENCE', user_id: hal.user_id, state: 'offline', last_seen: null });
  await http(server.url, 'PATCH', '/api/v1/me/settings', { show_last_seen: true }, hal.token);
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toEqual({ ...seen });
  watcher.sock.close();
});

test('hiding last-seen keeps online/offline but never a time', async () => {
  const fay = await registerUser(server.url);
  await http(server.url, 'PATCH', '/api/v1/me/settings', { show_last_seen: false }, fay.token);
  const watcher = await TestSocket.connect(server.wsUrl, alice.token, 'watch2');
  watcher.sock.send({ type: 'PRESENCE_SUB', user_ids: [fay.user_id] });
  await watcher.sock.next((f) => f.type === 'PRESENCE');
  const f1 = await TestSocket.connect(server.wsUrl, fay.token, 'f1');
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toEqual({ type: 'PRESENCE', user_id: fay.user_id, state: 'online', last_seen: null });
  f1.sock.close();
  expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toEqual({ type: 'PRESENCE', user_id: fay.user_id, state: 'offline', last_seen: null });
  watcher.sock.close();
});

test('PING gets PONG', async () => {
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'ping');
  a.sock.send({ type: 'PING' });
  const pong = await a.sock.next((f) => f.type === 'PONG');
  expect(Math.abs(pong.ts - Date.now())).toBeLessThan(5000);
  a.sock.close();
});

test('member changes are seen at once by the actor', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'members');
  const c = await TestSocket.connect(server.wsUrl, carol.token, 'c-members');
  const refused = await c.sock.sendMessage(conv, 'let me in', 'mem-1');
  expect(refused).toMatchObject({ type: 'ERROR', code: 'not_found', ref: 'mem-1' });
  const add = await http(server.url, 'POST', `/api/v1/conversations/${conv}/members`, { user_ids: [carol.user_id] }, alice.token);
  expect(add.status).toBe(200);
  expect(await c.sock.next((f) => f.type === 'DELIVER' && f.kind === 'member_added')).toMatchObject({ user_ids: [carol.user_id] });
  expect(await c.sock.sendMessage(conv, 'in now', 'mem-2')).toMatchObject({ type: 'ACK' });
  const del = await http(server.url, 'DELETE', `/api/v1/conversations/${conv}/members/${carol.user_id}`, undefined, alice.token);
  expect(del.status).toBe(200);
  expect(await c.sock.next((f) => f.type === 'DELIVER' && f.kind === 'member_removed')).toMatchObject({ user_ids: [carol.user_id] });
  expect(await c.sock.sendMessage(conv, 'out again', 'mem-3')).toMatchObject({ type: 'ERROR', code: 'not_found' });
  c.sock.close();
});

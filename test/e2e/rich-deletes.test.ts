/**
 * Deletes ("unsend") over real sockets (docs/protocol.md, "Rich messages"): who may unsend,
 * DELIVER kind delete on every other device and in replay, the tombstone in history, the
 * text gone from storage, replies that outlive their target, unread counts, refusals and
 * idempotent retries.
 */
import { createConversation, registerUserPatiently, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import {
  acked,
  closeAll,
  cmid,
  connectDevice,
  deliverKind,
  edit,
  events,
  expectDelivered,
  expectNotDelivered,
  expectReadSync,
  expectRefused,
  fourDevices,
  history,
  historyRow,
  inboxRow,
  missedOf,
  react,
  readSync,
  send,
  sendOk,
  storageContains,
  unsend,
  api,
} from './rich-helpers';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;

beforeAll(async () => {
  server = await startTestServer({ MARKER_FLUSH_MS: '20', LINK_PREVIEWS: 'off' });
  alice = await registerUserPatiently(server.url);
  bob = await registerUserPatiently(server.url);
  carol = await registerUserPatiently(server.url);
  dave = await registerUserPatiently(server.url); // never a member
});
afterAll(() => stopTestServer(server));

/** What a deleted message looks like in history, whatever it held before. */
const tombstone = { deleted: true, body: '', attachments: [], reactions: {}, link_preview: null };

test('the author unsends: DELIVER kind delete on every other device; history keeps a tombstone in its place', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'unsend');
  const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);
  const before = await sendOk(a1.sock, conv, 'before');
  const m = await sendOk(a1.sock, conv, 'regrettable, @bob', { mentions: [bob.user_id] });
  acked(await react(b1.sock, conv, m, '😬'));
  const e = acked(await edit(a1.sock, conv, m, 'still regrettable'));
  const after = await sendOk(b1.sock, conv, 'after');

  const id = cmid('unsend');
  const ack = await unsend(a2.sock, conv, m, id);
  expect(ack).toEqual({ type: 'ACK', client_msg_id: id, conv_id: conv, seq: expect.any(Number), ts: expect.any(Number) });
  const d = ack.seq as number;
  expect(d).toBeGreaterThan(after);
  await expectDelivered([a1, b1, b2], conv, d, { kind: 'delete', sender_id: alice.user_id, target_seq: m, client_msg_id: id });
  await expectNotDelivered([a2], conv, d, 0);

  for (const user of [alice, bob]) {
    const rows = await history(server, user, conv);
    expect(rows.map((r) => r.seq)).toEqual([before, m, after]);
    const row = rows[1];
    expect(row).toMatchObject({ seq: m, sender_id: alice.user_id, ...tombstone });
    expect(row.mentions ?? []).toEqual([]);
    expect(rows[0]).toMatchObject({ body: 'before', deleted: false });
    expect(rows[2]).toMatchObject({ body: 'after', deleted: false });
  }
  // The log keeps its shape, without the text: the message and its edit carry body ''.
  const log = await events(server, bob, conv);
  const msg = log.find((x) => x.seq === m);
  expect(msg).toMatchObject({ kind: 'message', body: '' });
  expect(msg?.mentions ?? []).toEqual([]);
  expect(log.find((x) => x.seq === e)).toMatchObject({ kind: 'edit', target_seq: m, body: '' });
  expect(log.find((x) => x.seq === d)).toMatchObject({ kind: 'delete', target_seq: m });
  closeAll([a1, a2, b1, b2]);
});

test('the unsent text, its edits and the reactions to it are removed from storage, not hidden', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'storage');
  const a = await connectDevice(server, alice, 'st-a');
  const b = await connectDevice(server, bob, 'st-b');
  const secret = `unsend-secret-${cmid()}`;
  const editSecret = `unsend-edit-${cmid()}`;
  const emoji = '🦑'; // used by no other test of this server
  const m = await sendOk(a.sock, conv, secret);
  // Checked before, so that "absent afterwards" means something.
  expect(storageContains(server, secret)).toBe(true);
  acked(await edit(a.sock, conv, m, editSecret));
  expect(storageContains(server, editSecret)).toBe(true);
  const r = acked(await react(b.sock, conv, m, emoji));
  expect(storageContains(server, emoji)).toBe(true);

  acked(await unsend(a.sock, conv, m));
  expect(storageContains(server, secret)).toBe(false);
  expect(storageContains(server, editSecret)).toBe(false);
  expect(storageContains(server, emoji)).toBe(false);
  // The reaction keeps its place in the log, without what it said.
  expect((await events(server, bob, conv)).find((x) => x.seq === r)).toMatchObject({ kind: 'reaction', target_seq: m, emoji: null });
  for (const user of [alice, bob]) {
    const row = await inboxRow(server, user, conv);
    expect(String(row.preview ?? '')).not.toContain('unsend-');
  }
  closeAll([a, b]);
});

test("a group admin can unsend another member's message; a plain member cannot; neither can a direct-chat peer", async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob, carol], 'moderated'); // alice is the admin
  const a = await connectDevice(server, alice, 'ad-a');
  const b = await connectDevice(server, bob, 'ad-b');
  const c = await connectDevice(server, carol, 'ad-c');
  const fromBob = await sendOk(b.sock, conv, 'spam');
  const fromCarol = await sendOk(c.sock, conv, 'carol says');
  const fromAlice = await sendOk(a.sock, conv, 'the admin says');

  for (const [what, target] of [
    ["carol unsends bob's message", fromBob],
    ["carol unsends the admin's message", fromAlice],
  ] as [string, number][]) {
    const id = cmid('not-admin');
    const answer = await unsend(c.sock, conv, target, id);
    expect({ what, ...answer }).toEqual({ what, type: 'ERROR', code: 'forbidden', message: expect.any(String), ref: id });
  }
  await b.sock.none(deliverKind(conv, 'delete'), 200);

  const byAdmin = acked(await unsend(a.sock, conv, fromBob));
  await expectDelivered([b, c], conv, byAdmin, { kind: 'delete', sender_id: alice.user_id, target_seq: fromBob });
  const byAuthor = acked(await unsend(c.sock, conv, fromCarol));
  await expectDelivered([a, b], conv, byAuthor, { kind: 'delete', sender_id: carol.user_id, target_seq: fromCarol });
  const rows = await history(server, bob, conv);
  expect(rows.map((r) => [r.seq, r.deleted])).toEqual([
    [fromBob, true],
    [fromCarol, true],
    [fromAlice, false],
  ]);

  // In a direct conversation nobody is an admin.
  const p = await registerUserPatiently(server.url);
  const q = await registerUserPatiently(server.url);
  const direct = await createConversation(server.url, p, 'direct', [q]);
  const pd = await connectDevice(server, p, 'ad-p');
  const qd = await connectDevice(server, q, 'ad-q');
  const fromP = await sendOk(pd.sock, direct, 'mine');
  const id = cmid('peer');
  expectRefused(await unsend(qd.sock, direct, fromP, id), 'forbidden', id);
  expect((await historyRow(server, p, direct, fromP)).deleted).toBe(false);
  closeAll([a, b, c, pd, qd]);
});

test('unsending a missing, non-message or deleted message is not_found, as are editing and reacting to a tombstone and a non-member', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'delete refusals');
  const a = await connectDevice(server, alice, 'dr-a');
  const b = await connectDevice(server, bob, 'dr-b');
  const d = await connectDevice(server, dave, 'dr-d');
  const live = await sendOk(a.sock, conv, 'live');
  const gone = await sendOk(a.sock, conv, 'gone');
  const deletion = acked(await unsend(a.sock, conv, gone));
  await b.sock.next(deliverKind(conv, 'delete', gone));

  const cases: [string, () => Promise<Record<string, unknown>>, string, string][] = [];
  const add = (what: string, code: string, run: (id: string) => Promise<Record<string, unknown>>) => {
    const id = cmid('dref');
    cases.push([what, () => run(id), code, id]);
  };
  add('unsend twice', 'not_found', (id) => unsend(a.sock, conv, gone, id));
  add('unsend an unknown seq', 'not_found', (id) => unsend(a.sock, conv, 999_999, id));
  add('unsend member_added', 'not_found', (id) => unsend(a.sock, conv, 1, id));
  add('unsend the delete event', 'not_found', (id) => unsend(a.sock, conv, deletion, id));
  add('edit the tombstone', 'not_found', (id) => edit(a.sock, conv, gone, 'resurrected', id));
  add('react to the tombstone', 'not_found', (id) => react(b.sock, conv, gone, '🪦', id));
  add('a non-member unsends', 'not_found', (id) => unsend(d.sock, conv, live, id));
  for (const [what, run, code, id] of cases) {
    const answer = await run();
    expect({ what, ...answer }).toEqual({ what, type: 'ERROR', code, message: expect.any(String), ref: id });
  }
  await b.sock.none((f) => f.type === 'DELIVER' && f.conv_id === conv && f.kind !== 'message', 200);
  const log = await events(server, alice, conv);
  expect(log.filter((e) => e.kind !== 'member_added').map((e) => [e.seq, e.kind])).toEqual([
    [live, 'message'],
    [gone, 'message'],
    [deletion, 'delete'],
  ]);
  expect(await historyRow(server, alice, conv, gone)).toMatchObject(tombstone);
  expect(await historyRow(server, alice, conv, live)).toMatchObject({ deleted: false, body: 'live' });
  closeAll([a, b, d]);
});

test('a DELETE retried with the same client_msg_id gets the original ACK with duplicate: true, not not_found, and no second event', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'delete retry');
  const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);
  const m = await sendOk(a1.sock, conv, 'oops');
  const id = cmid('unsend-once');
  const first = await unsend(a1.sock, conv, m, id);
  const seq = acked(first);
  expect(await unsend(a1.sock, conv, m, id)).toEqual({ type: 'ACK', client_msg_id: id, conv_id: conv, seq, ts: first.ts, duplicate: true });
  expect(await unsend(a2.sock, conv, m, id)).toMatchObject({ type: 'ACK', seq, duplicate: true });
  a1.sock.close();
  await a1.sock.closed;
  const a1again = await connectDevice(server, alice, a1.deviceId);
  expect(await unsend(a1again.sock, conv, m, id)).toMatchObject({ type: 'ACK', seq, ts: first.ts, duplicate: true });
  for (const dev of [b1, b2]) {
    await dev.sock.next(deliverKind(conv, 'delete', m));
    await dev.sock.none(deliverKind(conv, 'delete'), 300);
  }
  expect((await events(server, bob, conv)).filter((e) => e.kind === 'delete').map((e) => [e.seq, e.client_msg_id])).toEqual([[seq, id]]);
  closeAll([a1again, a2, b1, b2]);
});

test('replies outlive their deleted target: thread fields stay, reply_count counts live replies, and a tombstone cannot be replied to', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'orphans');
  const a = await connectDevice(server, alice, 'or-a');
  const b = await connectDevice(server, bob, 'or-b');
  const root = await sendOk(a.sock, conv, 'root');
  const r1 = await sendOk(b.sock, conv, 'r1', { reply_to: root });
  const r2 = await sendOk(a.sock, conv, 'r2', { reply_to: r1 });
  const r3 = await sendOk(b.sock, conv, 'r3', { reply_to: r1 });
  expect((await historyRow(server, alice, conv, root)).reply_count).toBe(3);

  acked(await unsend(a.sock, conv, root));
  acked(await unsend(b.sock, conv, r3));
  const rows = await history(server, bob, conv);
  expect(rows.map((r) => [r.seq, r.deleted, r.reply_to, r.thread_root, r.reply_count])).toEqual([
    [root, true, null, null, 2],
    [r1, false, root, root, 2],
    [r2, false, r1, root, 2],
    [r3, true, r1, root, 2],
  ]);

  for (const target of [root, r3]) {
    const id = cmid('reply-tomb');
    expectRefused(await send(a.sock, conv, 'to a tombstone', { reply_to: target }, id), 'bad_request', id);
  }
  // A live reply of the thread can still be answered, and the new reply joins the same thread.
  const r4 = await sendOk(a.sock, conv, 'r4', { reply_to: r2 });
  await expectDelivered([b], conv, r4, { reply_to: r2, thread_root: root });
  expect((await historyRow(server, bob, conv, r1)).reply_count).toBe(3);
  const page = await api(server, bob, 'GET', `/conversations/${conv}/threads/${r1}`);
  expect(page.status).toBe(200);
  expect(page.body.root).toMatchObject({ seq: root, ...tombstone });
  expect(page.body.replies.filter((r: { deleted: boolean }) => !r.deleted).map((r: { seq: number }) => r.seq)).toEqual([r1, r2, r4]);
  closeAll([a, b]);
});

test("unsending an unread message lowers the other members' unread count on every device (READ_SYNC); tombstones never count", async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'unread deletes');
  const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);
  const m1 = await sendOk(a1.sock, conv, 'one');
  const m2 = await sendOk(a1.sock, conv, 'two');
  const m3 = await sendOk(a1.sock, conv, 'three');
  await expectDelivered([b1, b2], conv, m3, { kind: 'message' });
  const start = await inboxRow(server, bob, conv);
  expect(start.unread).toBe(3);

  acked(await unsend(a2.sock, conv, m2));
  await expectReadSync([b1, b2], readSync(conv, start.last_read_seq, 2));
  expect(await inboxRow(server, bob, conv)).toMatchObject({ unread: 2, last_read_seq: start.last_read_seq });

  // Reading past the tombstone: only m3 is left, the deleted m2 does not count.
  b2.sock.send({ type: 'READ', conv_id: conv, seq: m1 });
  await expectReadSync([b1, b2], readSync(conv, m1, 1));
  // Unsending a message Bob has read changes nothing for him.
  acked(await unsend(a1.sock, conv, m1));
  expect(await inboxRow(server, bob, conv)).toMatchObject({ unread: 1, last_read_seq: m1 });
  acked(await unsend(a1.sock, conv, m3));
  await expectReadSync([b1, b2], readSync(conv, m1, 0), (f) => f.unread === 0);
  expect(await inboxRow(server, bob, conv)).toMatchObject({ unread: 0 });
  expect(await inboxRow(server, alice, conv)).toMatchObject({ unread: 0 });
  closeAll([a1, a2, b1, b2]);
});

test('a device that was offline replays the delete in seq order and history shows the tombstone', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'delete replay');
  const a = await connectDevice(server, alice, 'drp-a');
  const b1 = await connectDevice(server, bob, 'drp-b1');
  let b2 = await connectDevice(server, bob, 'drp-b2');
  const m = await sendOk(a.sock, conv, 'soon gone');
  const e = acked(await edit(a.sock, conv, m, 'edited, still gone soon'));
  await expectDelivered([b2], conv, e, { kind: 'edit' });
  b2.sock.close();
  await b2.sock.closed;

  const r = acked(await react(b1.sock, conv, m, '😮'));
  const d = acked(await unsend(a.sock, conv, m));
  const after = await sendOk(a.sock, conv, 'after');

  b2 = await connectDevice(server, bob, 'drp-b2', { convs: { [conv]: e } });
  expect(missedOf(b2.connack, conv).map((x) => [x.seq, x.kind, x.target_seq ?? null])).toEqual([
    [r, 'reaction', m],
    [d, 'delete', m],
    [after, 'message', null],
  ]);
  expect((await history(server, bob, conv)).map((x) => [x.seq, x.deleted])).toEqual([
    [m, true],
    [after, false],
  ]);
  expect(await historyRow(server, bob, conv, m)).toMatchObject(tombstone);
  closeAll([a, b1, b2]);
});

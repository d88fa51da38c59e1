/**
 * Rich messages over REST (docs/protocol.md, "Rich messages", REST): reactions, edits,
 * deletes, threads, mute and mark-unread, with the same rules and idempotency as the
 * socket, ACK-shaped answers (201 new, 200 retry), events reaching every socket of every
 * member, and 404 for non-members (as for an unknown conversation).
 */
import { createConversation, registerUserPatiently, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import {
  api,
  closeAll,
  cmid,
  connectDevice,
  deliverKind,
  events,
  expectDelivered,
  expectReadSync,
  history,
  historyRow,
  inboxRow,
  readSync,
  sendOk,
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

const reactRest = (user: TestUser, conv: string, seq: number, emoji: string | null, id = cmid('rr')) =>
  api(server, user, 'POST', `/conversations/${conv}/messages/${seq}/reactions`, { client_msg_id: id, emoji });
const editRest = (user: TestUser, conv: string, seq: number, body: string, id = cmid('re')) =>
  api(server, user, 'PATCH', `/conversations/${conv}/messages/${seq}`, { client_msg_id: id, body });
const deleteRest = (user: TestUser, conv: string, seq: number, id = cmid('rd')) =>
  api(server, user, 'DELETE', `/conversations/${conv}/messages/${seq}`, { client_msg_id: id });

/** Asserts a REST error status and code. */
function refused(res: { status: number; body: any }, status: number, code: string, what = ''): void {
  expect({ what, status: res.status, code: res.body?.error?.code }).toEqual({ what, status, code });
}

/** Asserts a 201 ACK-shaped answer for `id` and returns its seq. */
function created(res: { status: number; body: any }, conv: string, id: string): number {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 201,
    body: { client_msg_id: id, conv_id: conv, seq: expect.any(Number), ts: expect.any(Number) },
  });
  return res.body.seq as number;
}

test('POST reactions: 201 with an ACK-shaped body, DELIVER on every socket of both users, 200 duplicate on retry, null removes', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'rest reactions');
  const a = await connectDevice(server, alice, 'rr-a');
  const b = await connectDevice(server, bob, 'rr-b');
  const m = await sendOk(a.sock, conv, 'rest target');

  const id = cmid('rest-react');
  const first = await reactRest(bob, conv, m, '👍', id);
  const seq = created(first, conv, id);
  // Over REST no session sent it: every socket of every member gets the DELIVER.
  await expectDelivered([a, b], conv, seq, { kind: 'reaction', sender_id: bob.user_id, target_seq: m, emoji: '👍', client_msg_id: id });
  const retry = await reactRest(bob, conv, m, '👍', id);
  expect({ status: retry.status, body: retry.body }).toEqual({ status: 200, body: { client_msg_id: id, conv_id: conv, seq, ts: first.body.ts, duplicate: true } });
  await a.sock.none(deliverKind(conv, 'reaction'), 300);
  expect((await historyRow(server, alice, conv, m)).reactions).toEqual({ [bob.user_id]: '👍' });

  const removeId = cmid('rest-unreact');
  const removal = created(await reactRest(bob, conv, m, null, removeId), conv, removeId);
  await expectDelivered([a, b], conv, removal, { kind: 'reaction', target_seq: m, emoji: null });
  expect((await historyRow(server, alice, conv, m)).reactions).toEqual({});
  closeAll([a, b]);
});

test('REST reactions refuse bad emoji (400), missing or deleted targets (404) and non-members (404)', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'rest reaction refusals');
  const a = await connectDevice(server, alice, 'rrr-a');
  const m = await sendOk(a.sock, conv, 'target');
  const gone = await sendOk(a.sock, conv, 'gone');
  expect((await deleteRest(alice, conv, gone)).status).toBe(201);
  for (const emoji of ['👍👍', 'ab', '', '👍' + '\u200d👍'.repeat(12)]) refused(await reactRest(bob, conv, m, emoji), 400, 'bad_request', emoji);
  refused(await reactRest(bob, conv, 999_999, '👍'), 404, 'not_found', 'unknown seq');
  refused(await reactRest(bob, conv, gone, '👍'), 404, 'not_found', 'deleted');
  refused(await reactRest(dave, conv, m, '👍'), 404, 'not_found', 'non-member');
  expect((await historyRow(server, alice, conv, m)).reactions).toEqual({});
  a.sock.close();
});

test("PATCH edits: 201 for the author and 200 on retry; another's message 403; non-member 404; missing 404; blank 400; deleted 404", async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'rest edits');
  const b = await connectDevice(server, bob, 're-b');
  const a = await connectDevice(server, alice, 're-a');
  const m = await sendOk(a.sock, conv, 'draft');
  const theirs = await sendOk(b.sock, conv, "bob's");

  const id = cmid('rest-edit');
  const first = await editRest(alice, conv, m, 'final', id);
  const seq = created(first, conv, id);
  await expectDelivered([a, b], conv, seq, { kind: 'edit', sender_id: alice.user_id, target_seq: m, body: 'final' });
  const retry = await editRest(alice, conv, m, 'final', id);
  expect({ status: retry.status, body: retry.body }).toEqual({ status: 200, body: { client_msg_id: id, conv_id: conv, seq, ts: first.body.ts, duplicate: true } });
  await b.sock.none(deliverKind(conv, 'edit'), 300);
  const row = await historyRow(server, bob, conv, m);
  expect(row.body).toBe('final');
  expect(row.edited_at).toEqual(expect.any(Number));

  refused(await editRest(bob, conv, m, 'hijack'), 403, 'forbidden', "another's message");
  refused(await editRest(alice, conv, theirs, 'hijack'), 403, 'forbidden', "the admin edits another's message");
  refused(await editRest(dave, conv, m, 'hijack'), 404, 'not_found', 'non-member');
  refused(await editRest(alice, conv, 999_999, 'x'), 404, 'not_found', 'unknown seq');
  refused(await editRest(alice, conv, m, '   '), 400, 'bad_request', 'blank');
  expect((await deleteRest(alice, conv, m)).status).toBe(201);
  refused(await editRest(alice, conv, m, 'again'), 404, 'not_found', 'deleted');
  expect((await historyRow(server, bob, conv, theirs)).body).toBe("bob's");
  closeAll([a, b]);
});

test("DELETE unsends with client_msg_id in the body or the query; retry 200 duplicate; twice 404; another's 403 unless group admin; non-member 404", async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob, carol], 'rest deletes'); // alice is the admin
  const a = await connectDevice(server, alice, 'rdl-a');
  const b = await connectDevice(server, bob, 'rdl-b');
  const m1 = await sendOk(a.sock, conv, 'one');
  const m2 = await sendOk(a.sock, conv, 'two');
  const fromBob = await sendOk(b.sock, conv, 'from bob');
  const bobAgain = await sendOk(b.sock, conv, 'also from bob');

  const id = cmid('rest-del');
  const first = await deleteRest(alice, conv, m1, id);
  const seq = created(first, conv, id);
  await expectDelivered([a, b], conv, seq, { kind: 'delete', sender_id: alice.user_id, target_seq: m1 });
  const retry = await deleteRest(alice, conv, m1, id);
  expect({ status: retry.status, body: retry.body }).toEqual({ status: 200, body: { client_msg_id: id, conv_id: conv, seq, ts: first.body.ts, duplicate: true } });
  refused(await deleteRest(alice, conv, m1), 404, 'not_found', 'twice with a new id');
  await b.sock.none(deliverKind(conv, 'delete'), 300);

  const qid = cmid('rest-del-q');
  const byQuery = await api(server, alice, 'DELETE', `/conversations/${conv}/messages/${m2}?client_msg_id=${qid}`);
  const qseq = created(byQuery, conv, qid);
  await expectDelivered([b], conv, qseq, { kind: 'delete', target_seq: m2 });

  refused(await deleteRest(carol, conv, fromBob), 403, 'forbidden', 'plain member');
  refused(await deleteRest(dave, conv, fromBob), 404, 'not_found', 'non-member');
  refused(await deleteRest(alice, conv, 999_999), 404, 'not_found', 'unknown seq');
  const adminId = cmid('rest-admin-del');
  created(await deleteRest(alice, conv, fromBob, adminId), conv, adminId);
  const rows = await history(server, carol, conv);
  expect(rows.map((r) => [r.seq, r.deleted, r.body])).toEqual([
    [m1, true, ''],
    [m2, true, ''],
    [fromBob, true, ''],
    [bobAgain, false, 'also from bob'],
  ]);
  closeAll([a, b]);
});

test('GET threads pages the replies with after and limit; any message of the thread names it; non-member 404; unknown 404', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'rest threads');
  const a = await connectDevice(server, alice, 'rt-a');
  const root = await sendOk(a.sock, conv, 'root');
  const replies: number[] = [];
  for (let i = 0; i < 7; i++) {
    const res = await api(server, i % 2 ? alice : bob, 'POST', `/conversations/${conv}/messages`, {
      client_msg_id: cmid('rest-reply'),
      body: `reply ${i}`,
      reply_to: i === 0 ? root : replies[i - 1],
    });
    expect(res.status).toBe(201);
    replies.push(res.body.seq);
    if (i === 3) await sendOk(a.sock, conv, 'not in the thread');
  }
  const get = (seq: number, q = '', user = bob) => api(server, user, 'GET', `/conversations/${conv}/threads/${seq}${q}`);

  const pages: number[][] = [];
  let after = 0;
  for (;;) {
    const page = await get(replies[5], `?limit=3${after ? `&after=${after}` : ''}`);
    expect(page.status).toBe(200);
    expect(page.body.root).toMatchObject({ seq: root, body: 'root', reply_count: 7 });
    const seqs = page.body.replies.map((r: { seq: number }) => r.seq);
    pages.push(seqs);
    if (!page.body.more) break;
    expect(pages.length).toBeLessThan(4);
    after = seqs[seqs.length - 1];
  }
  expect(pages).toEqual([replies.slice(0, 3), replies.slice(3, 6), replies.slice(6)]);
  const all = await get(root);
  expect([all.body.replies.map((r: { seq: number }) => r.seq), all.body.more]).toEqual([replies, false]);
  expect(all.body.replies.map((r: { thread_root: number; reply_to: number }) => [r.thread_root, r.reply_to])).toEqual(
    replies.map((_, i) => [root, i === 0 ? root : replies[i - 1]]),
  );

  refused(await get(root, '', dave), 404, 'not_found', 'non-member');
  refused(await get(999_999), 404, 'not_found', 'unknown seq');
  a.sock.close();
});

test("PUT mute answers {conv_id, muted_until, muted} and reaches the user's sockets as MUTE_SYNC; bad until 400; non-member 404", async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'rest mute');
  const b = await connectDevice(server, bob, 'rm-b');
  const until = Date.now() + 60_000;
  const mute = (body: unknown, user = bob) => api(server, user, 'PUT', `/conversations/${conv}/mute`, body);

  const timed = await mute({ until });
  expect({ status: timed.status, body: timed.body }).toEqual({ status: 200, body: { conv_id: conv, muted_until: until, muted: true } });
  expect(await b.sock.next((f) => f.type === 'MUTE_SYNC')).toEqual({ type: 'MUTE_SYNC', conv_id: conv, muted_until: until });
  const forever = await mute({ until: -1 });
  expect(forever.body).toEqual({ conv_id: conv, muted_until: -1, muted: true });
  expect(await inboxRow(server, bob, conv)).toMatchObject({ muted_until: -1, muted: true });
  const past = Date.now() - 1000;
  expect((await mute({ until: past })).body).toEqual({ conv_id: conv, muted_until: past, muted: false });
  const off = await mute({ until: null });
  expect(off.body).toEqual({ conv_id: conv, muted_until: null, muted: false });
  expect(await inboxRow(server, bob, conv)).toMatchObject({ muted_until: null, muted: false });

  refused(await mute({ until: 'tomorrow' }), 400, 'bad_request', 'a string');
  refused(await mute({ until: -2 }), 400, 'bad_request', '-2');
  refused(await mute({}), 400, 'bad_request', 'missing');
  refused(await mute({ until: -1 }, dave), 404, 'not_found', 'non-member');
  expect(await inboxRow(server, bob, conv)).toMatchObject({ muted_until: null, muted: false });
  b.sock.close();
});

test('POST unread marks the conversation unread on every socket of the user until a READ clears it; non-member 404', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'rest unread');
  const a = await connectDevice(server, alice, 'ru-a');
  const b1 = await connectDevice(server, bob, 'ru-b1');
  const b2 = await connectDevice(server, bob, 'ru-b2');
  const m = await sendOk(a.sock, conv, 'hello');
  const read = await api(server, bob, 'POST', `/conversations/${conv}/read`, { seq: m });
  expect(read.status).toBe(200);
  await expectReadSync([b1, b2], readSync(conv, m, 0));

  const marked = await api(server, bob, 'POST', `/conversations/${conv}/unread`);
  expect({ status: marked.status, body: marked.body }).toEqual({ status: 200, body: { conv_id: conv, marked_unread: true } });
  await expectReadSync([b1, b2], readSync(conv, m, 0, 0, true));
  expect(await inboxRow(server, bob, conv)).toMatchObject({ marked_unread: true, unread: 0, last_read_seq: m });

  const again = await api(server, bob, 'POST', `/conversations/${conv}/read`, { seq: m });
  expect(again.status).toBe(200);
  await expectReadSync([b1, b2], readSync(conv, m, 0, 0, false));
  expect(await inboxRow(server, bob, conv)).toMatchObject({ marked_unread: false });

  refused(await api(server, dave, 'POST', `/conversations/${conv}/unread`), 404, 'not_found', 'non-member');
  closeAll([a, b1, b2]);
});

test('REST send checks reply_to and mentions like the socket, and carries thread_root', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'rest send rules');
  const b = await connectDevice(server, bob, 'rs-b');
  const post = (body: Record<string, unknown>, user = alice) =>
    api(server, user, 'POST', `/conversations/${conv}/messages`, { client_msg_id: cmid('rest-send'), ...body });
  const root = await post({ body: 'root', mentions: [bob.user_id] });
  expect(root.status).toBe(201);
  await expectDelivered([b], conv, root.body.seq, { kind: 'message', mentions: [bob.user_id], reply_to: null, thread_root: null });
  const reply = await post({ body: 'reply', reply_to: root.body.seq });
  expect(reply.status).toBe(201);
  await expectDelivered([b], conv, reply.body.seq, { reply_to: root.body.seq, thread_root: root.body.seq });
  const nested = await post({ body: 'nested', reply_to: reply.body.seq }, bob);
  expect(nested.status).toBe(201);
  expect((await events(server, alice, conv)).find((e) => e.seq === nested.body.seq)).toMatchObject({ reply_to: reply.body.seq, thread_root: root.body.seq });

  refused(await post({ body: 'x', reply_to: 999_999 }), 400, 'bad_request', 'unknown reply_to');
  refused(await post({ body: 'x', reply_to: 1 }), 400, 'bad_request', 'reply_to member_added');
  refused(await post({ body: 'x', mentions: [dave.user_id] }), 400, 'bad_request', 'mention of a non-member');
  refused(await post({ body: 'x', reply_to: root.body.seq }, dave), 404, 'not_found', 'non-member');
  expect((await events(server, alice, conv)).filter((e) => e.body === 'x')).toEqual([]);
  b.sock.close();
});

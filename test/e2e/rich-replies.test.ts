/**
 * Replies and threads over real sockets (docs/protocol.md, "Rich messages"): reply_to and
 * thread_root on every device and in replay, the thread endpoint and its pages, history's
 * thread fields, and the refusals of reply_to.
 */
import { createConversation, registerUserPatiently, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import {
  acked,
  api,
  closeAll,
  cmid,
  connectDevice,
  events,
  expectDelivered,
  expectNotDelivered,
  expectRefused,
  fourDevices,
  history,
  missedOf,
  react,
  send,
  sendOk,
  unsend,
} from './rich-helpers';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  server = await startTestServer({ MARKER_FLUSH_MS: '20', LINK_PREVIEWS: 'off' });
  alice = await registerUserPatiently(server.url);
  bob = await registerUserPatiently(server.url);
  carol = await registerUserPatiently(server.url); // never a member
});
afterAll(() => stopTestServer(server));

const thread = (convId: string, seq: number, query = '') => api(server, alice, 'GET', `/conversations/${convId}/threads/${seq}${query}`);
const seqs = (rows: { seq: number }[]) => rows.map((r) => r.seq);

test("a reply carries reply_to and thread_root to every other device; a reply to a reply joins the first message's thread", async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'replies');
  const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);

  const root = await sendOk(a1.sock, conv, 'root');
  expect(root).toBe(2); // seq 1 is member_added
  await expectDelivered([a2, b1, b2], conv, root, { kind: 'message', body: 'root', reply_to: null, thread_root: null });

  const r1 = await sendOk(b1.sock, conv, 'first reply', { reply_to: root });
  await expectDelivered([a1, a2, b2], conv, r1, { kind: 'message', sender_id: bob.user_id, body: 'first reply', reply_to: root, thread_root: root });
  const r2 = await sendOk(a2.sock, conv, 'reply to the reply', { reply_to: r1 });
  await expectDelivered([a1, b1, b2], conv, r2, { sender_id: alice.user_id, reply_to: r1, thread_root: root });
  const r3 = await sendOk(b2.sock, conv, 'deeper still', { reply_to: r2 });
  await expectDelivered([a1, a2, b1], conv, r3, { reply_to: r2, thread_root: root });
  const plain = await sendOk(a1.sock, conv, 'unrelated');
  await expectDelivered([a2, b1, b2], conv, plain, { reply_to: null, thread_root: null });
  // The sending session got the ACK, not the DELIVER.
  await expectNotDelivered([b1], conv, r1, 0);
  await expectNotDelivered([a2], conv, r2, 0);
  await expectNotDelivered([b2], conv, r3, 0);

  // History: every row of the thread carries its root and the thread's live reply count.
  for (const user of [alice, bob]) {
    const rows = await history(server, user, conv);
    expect(rows.map((m) => [m.seq, m.reply_to, m.thread_root, m.reply_count])).toEqual([
      [root, null, null, 3],
      [r1, root, root, 3],
      [r2, r1, root, 3],
      [r3, r2, root, 3],
      [plain, null, null, 0],
    ]);
  }
  // The log (/events) carries the same fields.
  const log = (await events(server, bob, conv)).filter((e) => e.kind === 'message');
  expect(log.map((e) => [e.seq, e.reply_to, e.thread_root])).toEqual([
    [root, null, null],
    [r1, root, root],
    [r2, r1, root],
    [r3, r2, root],
    [plain, null, null],
  ]);
  closeAll([a1, a2, b1, b2]);
});

test('the thread endpoint returns the root and its replies in seq order, from any message of the thread, in pages', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'thread pages');
  const a = await connectDevice(server, alice, 'tp-a');
  const b = await connectDevice(server, bob, 'tp-b');
  const root = await sendOk(a.sock, conv, 'topic');
  const other = await sendOk(b.sock, conv, 'another topic');
  const replies: number[] = [];
  let otherReply = 0;
  for (let i = 0; i < 5; i++) {
    const author = i % 2 === 0 ? b : a;
    replies.push(await sendOk(author.sock, conv, `answer ${i}`, { reply_to: i === 0 ? root : replies[i - 1] }));
    // Noise between the replies: another thread and a plain message.
    if (i === 1) otherReply = await sendOk(a.sock, conv, 'side answer', { reply_to: other });
    if (i === 3) await sendOk(b.sock, conv, 'plain noise');
  }

  const full = await thread(conv, root);
  expect(full.status).toBe(200);
  expect(full.body.root).toMatchObject({ seq: root, body: 'topic', sender_id: alice.user_id, reply_to: null, thread_root: null, reply_count: 5 });
  expect(seqs(full.body.replies)).toEqual(replies);
  expect(full.body.replies.map((r: { thread_root: number }) => r.thread_root)).toEqual(replies.map(() => root));
  expect(full.body.replies.map((r: { body: string }) => r.body)).toEqual([0, 1, 2, 3, 4].map((i) => `answer ${i}`));
  expect(full.body.more).toBe(false);

  // Any message of the thread names it.
  for (const seq of [replies[0], replies[3], replies[4]]) {
    const same = await thread(conv, seq);
    expect(same.status).toBe(200);
    expect(same.body.root.seq).toBe(root);
    expect(seqs(same.body.replies)).toEqual(replies);
  }

  // Pages of two: after = the last seq of the previous page.
  const p1 = await thread(conv, root, '?limit=2');
  expect([p1.status, p1.body.root.seq, seqs(p1.body.replies), p1.body.more]).toEqual([200, root, replies.slice(0, 2), true]);
  const p2 = await thread(conv, root, `?after=${replies[1]}&limit=2`);
  expect([p2.status, p2.body.root.seq, seqs(p2.body.replies), p2.body.more]).toEqual([200, root, replies.slice(2, 4), true]);
  const p3 = await thread(conv, root, `?after=${replies[3]}&limit=2`);
  expect([p3.status, p3.body.root.seq, seqs(p3.body.replies), p3.body.more]).toEqual([200, root, replies.slice(4), false]);

  // The other thread holds only its own reply; a message without replies is a thread of one.
  const side = await thread(conv, otherReply);
  expect([side.body.root.seq, seqs(side.body.replies), side.body.more]).toEqual([other, [otherReply], false]);
  const lone = await sendOk(a.sock, conv, 'nobody answers this');
  const alone = await thread(conv, lone);
  expect([alone.status, alone.body.root.seq, alone.body.replies, alone.body.more]).toEqual([200, lone, [], false]);
  closeAll([a, b]);
});

test('a device that reconnects replays the replies with their thread fields, in seq order', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'reply replay');
  const a = await connectDevice(server, alice, 'rr-a');
  const b1 = await connectDevice(server, bob, 'rr-b1');
  let b2 = await connectDevice(server, bob, 'rr-b2');
  const root = await sendOk(a.sock, conv, 'question');
  await expectDelivered([b2], conv, root, { kind: 'message' });
  b2.sock.close();
  await b2.sock.closed;

  const r1 = await sendOk(b1.sock, conv, 'answer', { reply_to: root });
  const r2 = await sendOk(a.sock, conv, 'follow-up', { reply_to: r1 });
  const r3 = await sendOk(b1.sock, conv, 'last word', { reply_to: r2 });

  b2 = await connectDevice(server, bob, 'rr-b2', { convs: { [conv]: root } });
  expect(missedOf(b2.connack, conv).map((e) => [e.seq, e.kind, e.sender_id, e.reply_to, e.thread_root])).toEqual([
    [r1, 'message', bob.user_id, root, root],
    [r2, 'message', alice.user_id, r1, root],
    [r3, 'message', bob.user_id, r2, root],
  ]);
  expect(b2.connack.more).toBe(false);
  closeAll([a, b1, b2]);
});

test('reply_to must name a live message of the same conversation, else bad_request and nothing is stored', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'bad replies');
  const elsewhere = await createConversation(server.url, alice, 'group', [bob], 'longer conversation');
  const a = await connectDevice(server, alice, 'br-a');
  const b = await connectDevice(server, bob, 'br-b');
  const target = await sendOk(a.sock, conv, 'a message');
  const reaction = acked(await react(b.sock, conv, target, '👍'));
  const gone = await sendOk(a.sock, conv, 'soon unsent');
  const deletion = acked(await unsend(a.sock, conv, gone));
  // A seq that exists in another conversation only.
  let foreign = 0;
  for (let i = 0; i < deletion + 3; i++) foreign = await sendOk(a.sock, elsewhere, `filler ${i}`);
  expect(foreign).toBeGreaterThan(deletion);

  const refused: [string, number][] = [
    ['unknown seq', 999_999],
    ['seq of another conversation', foreign],
    ['member_added event', 1],
    ['reaction event', reaction],
    ['delete event', deletion],
    ['deleted message', gone],
    ['seq 0', 0],
  ];
  for (const [what, replyTo] of refused) {
    const id = cmid('bad-reply');
    const answer = await send(a.sock, conv, `refused reply (${what})`, { reply_to: replyTo }, id);
    expect({ what, ...answer }).toEqual({ what, type: 'ERROR', code: 'bad_request', message: expect.any(String), ref: id });
  }
  // Nothing was stored or delivered.
  const log = await events(server, bob, conv);
  expect(log.filter((e) => typeof e.body === 'string' && e.body.startsWith('refused reply'))).toEqual([]);
  await b.sock.none((f) => f.type === 'DELIVER' && f.conv_id === conv && f.kind === 'message' && f.body.startsWith('refused reply'), 100);
  // The same rules over REST.
  const rest = await api(server, alice, 'POST', `/conversations/${conv}/messages`, { client_msg_id: cmid('rest-reply'), body: 'x', reply_to: gone });
  expect([rest.status, rest.body.error?.code]).toEqual([400, 'bad_request']);
  // A valid reply still works on the same socket.
  const ok = await sendOk(a.sock, conv, 'valid reply', { reply_to: target });
  await expectDelivered([b], conv, ok, { reply_to: target, thread_root: target });
  closeAll([a, b]);
});

test('a non-member can neither reply nor read a thread (not_found, as an unknown conversation); an unknown thread is not_found', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'members only');
  const a = await connectDevice(server, alice, 'nm-a');
  const c = await connectDevice(server, carol, 'nm-c');
  const root = await sendOk(a.sock, conv, 'members only');

  const id = cmid('intruder');
  expectRefused(await send(c.sock, conv, 'let me in', { reply_to: root }, id), 'not_found', id);
  const asCarol = await api(server, carol, 'GET', `/conversations/${conv}/threads/${root}`);
  expect([asCarol.status, asCarol.body.error?.code]).toEqual([404, 'not_found']);
  const unknown = await thread(conv, 999_999);
  expect([unknown.status, unknown.body.error?.code]).toEqual([404, 'not_found']);
  expect((await history(server, alice, conv)).map((m) => m.seq)).toEqual([root]);
  closeAll([a, c]);
});

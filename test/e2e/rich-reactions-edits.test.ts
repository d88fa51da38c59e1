/**
 * Reactions and edits over real sockets (docs/protocol.md, "Rich messages"): REACT sets,
 * changes and removes one emoji per user; EDIT by the author within the window; both as
 * DELIVER on every other device, in replay and folded into history; their refusals and
 * idempotent retries.
 */
import { createConversation, registerUserPatiently, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import {
  acked,
  closeAll,
  cmid,
  connectDevice,
  deliverKind,
  deliverOf,
  edit,
  events,
  expectDelivered,
  expectNotDelivered,
  expectRefused,
  fourDevices,
  historyRow,
  inboxRow,
  missedOf,
  react,
  readSync,
  expectReadSync,
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

describe('reactions', () => {
  test('REACT sets, changes and removes one reaction per user; the other devices get DELIVER kind reaction, the reacting session the ACK', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'reactions');
    const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);
    const m = await sendOk(a1.sock, conv, 'react to me');
    await expectDelivered([a2, b1, b2], conv, m, { kind: 'message' });

    const setId = cmid('set');
    const setAck = await react(b1.sock, conv, m, '👍', setId);
    expect(setAck).toEqual({ type: 'ACK', client_msg_id: setId, conv_id: conv, seq: expect.any(Number), ts: expect.any(Number) });
    const set = setAck.seq as number;
    expect(set).toBeGreaterThan(m);
    await expectDelivered([a1, a2, b2], conv, set, { kind: 'reaction', sender_id: bob.user_id, target_seq: m, emoji: '👍', client_msg_id: setId });
    await expectNotDelivered([b1], conv, set, 0);
    expect((await historyRow(server, alice, conv, m)).reactions).toEqual({ [bob.user_id]: '👍' });

    // A new emoji replaces the old one: still one reaction per user.
    const change = acked(await react(b2.sock, conv, m, '❤️'));
    await expectDelivered([a1, a2, b1], conv, change, { kind: 'reaction', sender_id: bob.user_id, target_seq: m, emoji: '❤️' });
    await expectNotDelivered([b2], conv, change, 0);
    expect((await historyRow(server, alice, conv, m)).reactions).toEqual({ [bob.user_id]: '❤️' });

    // The author may react to their own message.
    const own = acked(await react(a1.sock, conv, m, '😂'));
    await expectDelivered([a2, b1, b2], conv, own, { kind: 'reaction', sender_id: alice.user_id, target_seq: m, emoji: '😂' });
    expect((await historyRow(server, bob, conv, m)).reactions).toEqual({ [alice.user_id]: '😂', [bob.user_id]: '❤️' });

    // null removes the sender's reaction only.
    const removed = acked(await react(b1.sock, conv, m, null));
    await expectDelivered([a1, a2, b2], conv, removed, { kind: 'reaction', sender_id: bob.user_id, target_seq: m, emoji: null });
    await expectNotDelivered([b1], conv, removed, 0);
    expect((await historyRow(server, bob, conv, m)).reactions).toEqual({ [alice.user_id]: '😂' });

    const log = (await events(server, bob, conv)).filter((e) => e.kind === 'reaction');
    expect(log.map((e) => [e.seq, e.sender_id, e.target_seq, e.emoji])).toEqual([
      [set, bob.user_id, m, '👍'],
      [change, bob.user_id, m, '❤️'],
      [own, alice.user_id, m, '😂'],
      [removed, bob.user_id, m, null],
    ]);
    closeAll([a1, a2, b1, b2]);
  });

  test('reactions never count as unread', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'reaction unread');
    const a = await connectDevice(server, alice, 'ru-a');
    const b = await connectDevice(server, bob, 'ru-b');
    const m = await sendOk(a.sock, conv, 'hi');
    b.sock.send({ type: 'READ', conv_id: conv, seq: m });
    await expectReadSync([b], readSync(conv, m, 0));

    acked(await react(b.sock, conv, m, '👋'));
    expect(await inboxRow(server, alice, conv)).toMatchObject({ unread: 0, last_read_seq: m });
    const reply = await sendOk(b.sock, conv, 'hello back');
    acked(await react(b.sock, conv, m, '🙌'));
    acked(await react(b.sock, conv, reply, '😀'));
    expect(await inboxRow(server, alice, conv)).toMatchObject({ unread: 1, last_read_seq: m });
    // Alice's reaction to Bob's message is not unread for Bob.
    acked(await react(a.sock, conv, reply, '👍'));
    expect(await inboxRow(server, bob, conv)).toMatchObject({ unread: 0 });
    closeAll([a, b]);
  });

  test('an emoji is one grapheme cluster containing an emoji, at most MAX_EMOJI_CHARS long; anything else is bad_request', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'emoji rules');
    const a = await connectDevice(server, alice, 'em-a');
    const b = await connectDevice(server, bob, 'em-b');
    const m = await sendOk(a.sock, conv, 'emoji test');

    // Skin tone, ZWJ family, flag (regional indicators), keycap, VS-16, a recent emoji.
    const accepted = ['👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '1️⃣', '❤️', '🫠'];
    for (const emoji of accepted) {
      const seq = acked(await react(b.sock, conv, m, emoji));
      const f = await a.sock.next(deliverOf(conv, seq));
      expect(f).toMatchObject({ kind: 'reaction', target_seq: m, emoji });
    }

    const overlong = '👍' + '\u200d👍'.repeat(12);
    // Preconditions, so that this case is about length alone: one cluster, 38 UTF-16 units.
    expect([...new Intl.Segmenter().segment(overlong)]).toHaveLength(1);
    expect(overlong.length).toBeGreaterThan(32);
    const refused: [string, string][] = [
      ['two emojis', '👍👍'],
      ['plain letters', 'ab'],
      ['one letter', 'a'],
      ['empty', ''],
      ['emoji and a space', '👍 '],
      ['over-long cluster', overlong],
      ['long text', 'x'.repeat(40)],
    ];
    for (const [what, emoji] of refused) {
      const id = cmid('bad-emoji');
      const answer = await react(b.sock, conv, m, emoji, id);
      expect({ what, ...answer }).toEqual({ what, type: 'ERROR', code: 'bad_request', message: expect.any(String), ref: id });
    }
    await a.sock.none(deliverKind(conv, 'reaction'), 200);
    expect((await historyRow(server, alice, conv, m)).reactions).toEqual({ [bob.user_id]: accepted[accepted.length - 1] });
    closeAll([a, b]);
  });

  test('REACT to a missing, non-message or deleted message is not_found; so is a non-member (as an unknown conversation)', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'react refusals');
    const a = await connectDevice(server, alice, 'rf-a');
    const b = await connectDevice(server, bob, 'rf-b');
    const c = await connectDevice(server, carol, 'rf-c');
    const m = await sendOk(a.sock, conv, 'live');
    const reaction = acked(await react(a.sock, conv, m, '👍'));
    await b.sock.next(deliverKind(conv, 'reaction', m));
    const gone = await sendOk(a.sock, conv, 'gone');
    acked(await unsend(a.sock, conv, gone));

    for (const [what, target] of [
      ['unknown seq', 999_999],
      ['member_added event', 1],
      ['reaction event', reaction],
      ['deleted message', gone],
    ] as [string, number][]) {
      const id = cmid('react-nf');
      const answer = await react(b.sock, conv, target, '👀', id);
      expect({ what, ...answer }).toEqual({ what, type: 'ERROR', code: 'not_found', message: expect.any(String), ref: id });
    }
    const id = cmid('react-intruder');
    expectRefused(await react(c.sock, conv, m, '👀', id), 'not_found', id);

    await a.sock.none(deliverKind(conv, 'reaction'), 200);
    expect((await historyRow(server, alice, conv, m)).reactions).toEqual({ [alice.user_id]: '👍' });
    expect((await events(server, alice, conv)).filter((e) => e.kind === 'reaction')).toHaveLength(1);
    closeAll([a, b, c]);
  });

  test('a REACT retried with the same client_msg_id gets the original ACK with duplicate: true and no second event, across devices and reconnects', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'react retry');
    const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);
    const m = await sendOk(a1.sock, conv, 'retry target');
    const id = cmid('react-once');
    const first = await react(b1.sock, conv, m, '🔥', id);
    const seq = acked(first);
    const again = await react(b1.sock, conv, m, '🔥', id);
    expect(again).toEqual({ type: 'ACK', client_msg_id: id, conv_id: conv, seq, ts: first.ts, duplicate: true });
    expect(await react(b2.sock, conv, m, '🔥', id)).toMatchObject({ type: 'ACK', seq, duplicate: true });
    b1.sock.close();
    await b1.sock.closed;
    const b1again = await connectDevice(server, bob, b1.deviceId);
    expect(await react(b1again.sock, conv, m, '🔥', id)).toMatchObject({ type: 'ACK', seq, ts: first.ts, duplicate: true });

    for (const d of [a1, a2]) {
      await d.sock.next(deliverKind(conv, 'reaction', m));
      await d.sock.none(deliverKind(conv, 'reaction'), 300);
    }
    const log = (await events(server, alice, conv)).filter((e) => e.kind === 'reaction');
    expect(log.map((e) => [e.seq, e.client_msg_id])).toEqual([[seq, id]]);
    closeAll([a1, a2, b2, b1again]);
  });
});

describe('edits', () => {
  test('EDIT by the author replaces the body on every other device and in history, with edited_at; edits are not unread', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'edits');
    const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);
    const ack = await a1.sock.sendMessage(conv, 'frist draft', cmid('m'));
    const m = acked(ack);
    await expectDelivered([a2, b1, b2], conv, m, { kind: 'message', body: 'frist draft' });
    const before = await historyRow(server, bob, conv, m);
    expect(before).toMatchObject({ body: 'frist draft', edited_at: null, deleted: false });

    const e1Id = cmid('edit');
    const e1Ack = await edit(a1.sock, conv, m, 'first draft', e1Id);
    expect(e1Ack).toEqual({ type: 'ACK', client_msg_id: e1Id, conv_id: conv, seq: expect.any(Number), ts: expect.any(Number) });
    const e1 = e1Ack.seq as number;
    await expectDelivered([a2, b1, b2], conv, e1, { kind: 'edit', sender_id: alice.user_id, target_seq: m, body: 'first draft', client_msg_id: e1Id });
    await expectNotDelivered([a1], conv, e1, 0);
    const once = await historyRow(server, bob, conv, m);
    expect(once).toMatchObject({ seq: m, body: 'first draft', deleted: false });
    expect(once.edited_at).toEqual(expect.any(Number));
    expect(once.edited_at).toBeGreaterThanOrEqual(ack.ts);

    const e2 = acked(await edit(a2.sock, conv, m, 'final draft'));
    await expectDelivered([a1, b1, b2], conv, e2, { kind: 'edit', target_seq: m, body: 'final draft' });
    await expectNotDelivered([a2], conv, e2, 0);
    const twice = await historyRow(server, alice, conv, m);
    expect(twice.body).toBe('final draft');
    expect(twice.edited_at).toBeGreaterThanOrEqual(once.edited_at);
    // History holds messages only: the edits fold into their target.
    expect((await events(server, alice, conv)).filter((e) => e.kind === 'edit').map((e) => [e.seq, e.target_seq, e.body])).toEqual([
      [e1, m, 'first draft'],
      [e2, m, 'final draft'],
    ]);
    // Bob has one unread message, not three.
    expect(await inboxRow(server, bob, conv)).toMatchObject({ unread: 1 });
    closeAll([a1, a2, b1, b2]);
  });

  test('EDIT follows the body rules of SEND: blank is bad_request, over MAX_BODY_CHARS is too_large', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'edit body rules');
    const a = await connectDevice(server, alice, 'eb-a');
    const b = await connectDevice(server, bob, 'eb-b');
    const m = await sendOk(a.sock, conv, 'original');
    for (const [what, body, code] of [
      ['empty', '', 'bad_request'],
      ['blank', '  \n\t ', 'bad_request'],
      ['too long', 'x'.repeat(10_001), 'too_large'],
    ] as [string, string, string][]) {
      const id = cmid('edit-body');
      const answer = await edit(a.sock, conv, m, body, id);
      expect({ what, ...answer }).toEqual({ what, type: 'ERROR', code, message: expect.any(String), ref: id });
    }
    await b.sock.none(deliverKind(conv, 'edit'), 200);
    expect(await historyRow(server, bob, conv, m)).toMatchObject({ body: 'original', edited_at: null });
    closeAll([a, b]);
  });

  test("EDIT of another's message is forbidden (group admins included), of a missing or deleted one not_found, by a non-member not_found", async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'edit refusals'); // alice is the admin
    const a = await connectDevice(server, alice, 'er-a');
    const b = await connectDevice(server, bob, 'er-b');
    const c = await connectDevice(server, carol, 'er-c');
    const mine = await sendOk(a.sock, conv, 'alice wrote this');
    const theirs = await sendOk(b.sock, conv, 'bob wrote this');
    const gone = await sendOk(a.sock, conv, 'unsent');
    acked(await unsend(a.sock, conv, gone));

    const cases: [string, typeof a, number, string][] = [
      ["bob edits alice's message", b, mine, 'forbidden'],
      ["the admin edits bob's message", a, theirs, 'forbidden'],
      ['unknown seq', a, 999_999, 'not_found'],
      ['member_added event', a, 1, 'not_found'],
      ['deleted message', a, gone, 'not_found'],
      ['non-member', c, mine, 'not_found'],
    ];
    for (const [what, device, target, code] of cases) {
      const id = cmid('edit-refused');
      const answer = await edit(device.sock, conv, target, 'hijacked', id);
      expect({ what, ...answer }).toEqual({ what, type: 'ERROR', code, message: expect.any(String), ref: id });
    }
    await Promise.all([a.sock.none(deliverKind(conv, 'edit'), 200), b.sock.none(deliverKind(conv, 'edit'), 200)]);
    expect((await historyRow(server, alice, conv, mine)).body).toBe('alice wrote this');
    expect((await historyRow(server, alice, conv, theirs)).body).toBe('bob wrote this');
    expect((await events(server, alice, conv)).filter((e) => e.kind === 'edit')).toEqual([]);
    closeAll([a, b, c]);
  });

  test('an EDIT retried with the same client_msg_id gets duplicate: true and no second event', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'edit retry');
    const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);
    const m = await sendOk(a1.sock, conv, 'typo');
    const id = cmid('edit-once');
    const first = await edit(a1.sock, conv, m, 'fixed', id);
    const seq = acked(first);
    expect(await edit(a1.sock, conv, m, 'fixed', id)).toEqual({ type: 'ACK', client_msg_id: id, conv_id: conv, seq, ts: first.ts, duplicate: true });
    expect(await edit(a2.sock, conv, m, 'fixed', id)).toMatchObject({ type: 'ACK', seq, duplicate: true });
    for (const d of [b1, b2]) {
      await d.sock.next(deliverKind(conv, 'edit', m));
      await d.sock.none(deliverKind(conv, 'edit'), 300);
    }
    expect((await events(server, bob, conv)).filter((e) => e.kind === 'edit').map((e) => e.seq)).toEqual([seq]);
    closeAll([a1, a2, b1, b2]);
  });
});

test('edits and reactions reach a reconnecting device in CONNACK replay, in seq order, and history shows the folded state', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'rich replay');
  const a1 = await connectDevice(server, alice, 'rp-a1');
  const b1 = await connectDevice(server, bob, 'rp-b1');
  let b2 = await connectDevice(server, bob, 'rp-b2');
  const m = await sendOk(a1.sock, conv, 'v1');
  await expectDelivered([b2], conv, m, { kind: 'message' });
  b2.sock.close();
  await b2.sock.closed;

  const e1 = acked(await edit(a1.sock, conv, m, 'v2'));
  const r1 = acked(await react(b1.sock, conv, m, '👏'));
  const r2 = acked(await react(a1.sock, conv, m, '🎉'));
  const e2 = acked(await edit(a1.sock, conv, m, 'v3'));

  b2 = await connectDevice(server, bob, 'rp-b2', { convs: { [conv]: m } });
  const missed = missedOf(b2.connack, conv);
  expect(missed.map((e) => [e.seq, e.kind, e.sender_id, e.target_seq, e.kind === 'edit' ? e.body : e.emoji])).toEqual([
    [e1, 'edit', alice.user_id, m, 'v2'],
    [r1, 'reaction', bob.user_id, m, '👏'],
    [r2, 'reaction', alice.user_id, m, '🎉'],
    [e2, 'edit', alice.user_id, m, 'v3'],
  ]);
  const row = await historyRow(server, bob, conv, m);
  expect(row).toMatchObject({ body: 'v3', deleted: false, reactions: { [bob.user_id]: '👏', [alice.user_id]: '🎉' } });
  expect(row.edited_at).toEqual(expect.any(Number));
  closeAll([a1, b1, b2]);
});

describe('with EDIT_WINDOW_MS=1500 and MAX_EMOJI_CHARS=4', () => {
  let small: TestServer;
  let pat: TestUser;
  let quinn: TestUser;
  beforeAll(async () => {
    small = await startTestServer({ EDIT_WINDOW_MS: '1500', MAX_EMOJI_CHARS: '4', LINK_PREVIEWS: 'off' });
    pat = await registerUserPatiently(small.url);
    quinn = await registerUserPatiently(small.url);
  });
  afterAll(() => stopTestServer(small));

  test('an edit inside the window is accepted, one after it is forbidden; unsending is not bound to the window', async () => {
    const conv = await createConversation(small.url, pat, 'group', [quinn], 'window');
    const p = await connectDevice(small, pat, 'w-p');
    const q = await connectDevice(small, quinn, 'w-q');
    const m = await sendOk(p.sock, conv, 'soon stale');
    const e = acked(await edit(p.sock, conv, m, 'fresh edit'));
    await expectDelivered([q], conv, e, { kind: 'edit', body: 'fresh edit' });

    await sleep(1800);
    const id = cmid('late');
    expectRefused(await edit(p.sock, conv, m, 'too late', id), 'forbidden', id);
    await q.sock.none(deliverKind(conv, 'edit'), 200);
    expect((await historyRow(small, quinn, conv, m)).body).toBe('fresh edit');

    const d = acked(await unsend(p.sock, conv, m));
    await expectDelivered([q], conv, d, { kind: 'delete', target_seq: m });
    closeAll([p, q]);
  });

  test('MAX_EMOJI_CHARS bounds the emoji in UTF-16 units', async () => {
    const conv = await createConversation(small.url, pat, 'group', [quinn], 'short emoji');
    const p = await connectDevice(small, pat, 'se-p');
    const m = await sendOk(p.sock, conv, 'react');
    acked(await react(p.sock, conv, m, '👍🏽')); // 4 units
    acked(await react(p.sock, conv, m, '🇫🇷')); // 4 units
    const id = cmid('family');
    expectRefused(await react(p.sock, conv, m, '👨‍👩‍👧‍👦', id), 'bad_request', id); // 11 units, one cluster
    expect((await historyRow(small, pat, conv, m)).reactions).toEqual({ [pat.user_id]: '🇫🇷' });
    p.sock.close();
  });
});

/**
 * Read state with rich messages over real sockets (docs/protocol.md, "Rich messages"):
 * mentions and unread_mentions, MUTE, MARK_UNREAD, and unread counts that only count
 * messages from others, kept the same on every device, including one replaying after a
 * reconnect.
 */
import { createConversation, pollUntil, registerUserPatiently, sleep, startTestServer, stopTestServer, type Frame, type TestServer, type TestUser } from './harness';
import {
  acked,
  api,
  closeAll,
  cmid,
  connackRow,
  connectDevice,
  edit,
  expectDelivered,
  expectReadSync,
  expectRefused,
  fourDevices,
  history,
  inboxRow,
  missedOf,
  react,
  readSync,
  send,
  sendOk,
  unsend,
  type Device,
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

/** The read-state fields of an inbox row. */
const readState = (row: Frame) => ({
  last_read_seq: row.last_read_seq,
  unread: row.unread,
  unread_mentions: row.unread_mentions,
  marked_unread: row.marked_unread,
});

const isMuteSync = (convId: string) => (f: Frame) => f.type === 'MUTE_SYNC' && f.conv_id === convId;

async function expectMuteSync(devices: Device[], convId: string, mutedUntil: number | null): Promise<void> {
  for (const d of devices) {
    expect({ device: d.deviceId, ...(await d.sock.next(isMuteSync(convId))) }).toEqual({ device: d.deviceId, type: 'MUTE_SYNC', conv_id: convId, muted_until: mutedUntil });
  }
}

describe('mentions', () => {
  test('mentions must be members: unknown users, non-members and removed members are bad_request', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob, carol], 'mention rules');
    const a = await connectDevice(server, alice, 'mr-a');
    const b = await connectDevice(server, bob, 'mr-b');
    const removed = await api(server, alice, 'DELETE', `/conversations/${conv}/members/${carol.user_id}`);
    expect(removed.status).toBe(200);

    for (const [what, mentions] of [
      ['a non-member', [dave.user_id]],
      ['an unknown user', ['no-such-user']],
      ['a member and a non-member', [bob.user_id, dave.user_id]],
      ['a removed member', [carol.user_id]],
    ] as [string, string[]][]) {
      const id = cmid('bad-mention');
      const answer = await send(a.sock, conv, `hey (${what})`, { mentions }, id);
      expect({ what, ...answer }).toEqual({ what, type: 'ERROR', code: 'bad_request', message: expect.any(String), ref: id });
    }
    const rest = await api(server, alice, 'POST', `/conversations/${conv}/messages`, { client_msg_id: cmid('rest-mention'), body: 'hey', mentions: [dave.user_id] });
    expect([rest.status, rest.body.error?.code]).toEqual([400, 'bad_request']);
    expect(await history(server, bob, conv)).toEqual([]);

    const ok = await sendOk(a.sock, conv, 'hey @bob', { mentions: [bob.user_id] });
    await expectDelivered([b], conv, ok, { kind: 'message', mentions: [bob.user_id] });
    expect(await inboxRow(server, bob, conv)).toMatchObject({ unread: 1, unread_mentions: 1 });
    closeAll([a, b]);
  });

  test('a mention counts in unread_mentions of the mentioned members only, on every device, until read or unsent', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob, carol], 'mention counts');
    const a = await connectDevice(server, alice, 'mc-a');
    const b1 = await connectDevice(server, bob, 'mc-b1');
    const b2 = await connectDevice(server, bob, 'mc-b2');
    const c = await connectDevice(server, carol, 'mc-c');
    const carolStart = await inboxRow(server, carol, conv);

    const m1 = await sendOk(a.sock, conv, '@bob look', { mentions: [bob.user_id] });
    const m2 = await sendOk(a.sock, conv, 'plain');
    const m3 = await sendOk(a.sock, conv, '@bob @carol both of you', { mentions: [bob.user_id, carol.user_id] });
    await expectDelivered([b1, b2, c], conv, m1, { mentions: [bob.user_id] });
    await expectDelivered([b1, b2, c], conv, m2, { mentions: [] });
    await expectDelivered([b1, b2, c], conv, m3, { mentions: [bob.user_id, carol.user_id] });

    expect(await inboxRow(server, bob, conv)).toMatchObject({ unread: 3, unread_mentions: 2 });
    expect(await inboxRow(server, carol, conv)).toMatchObject({ unread: 3, unread_mentions: 1 });
    expect(await inboxRow(server, alice, conv)).toMatchObject({ unread: 0, unread_mentions: 0 });
    const fresh = await connectDevice(server, bob, 'mc-b3');
    expect(connackRow(fresh.connack, conv)).toMatchObject({ unread: 3, unread_mentions: 2 });

    b1.sock.send({ type: 'READ', conv_id: conv, seq: m1 });
    await expectReadSync([b1, b2, fresh], readSync(conv, m1, 2, 1));
    // Unsending an unread mention lowers both counts for each mentioned member.
    acked(await unsend(a.sock, conv, m3));
    await expectReadSync([b1, b2, fresh], readSync(conv, m1, 1, 0));
    await expectReadSync([c], readSync(conv, carolStart.last_read_seq, 2, 0));
    b2.sock.send({ type: 'READ', conv_id: conv, seq: m2 });
    await expectReadSync([b1, b2, fresh], readSync(conv, m2, 0, 0));
    expect(readState(await inboxRow(server, bob, conv))).toEqual({ last_read_seq: m2, unread: 0, unread_mentions: 0, marked_unread: false });
    closeAll([a, b1, b2, c, fresh]);
  });
});

describe('mute', () => {
  test('MUTE until a time, forever, and unmute: MUTE_SYNC on every session of the user, the inbox row shows muted_until and muted', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'mute');
    const a = await connectDevice(server, alice, 'mu-a');
    const b1 = await connectDevice(server, bob, 'mu-b1');
    const b2 = await connectDevice(server, bob, 'mu-b2');
    expect(await inboxRow(server, bob, conv)).toMatchObject({ muted_until: null, muted: false });

    const hour = Date.now() + 3_600_000;
    b1.sock.send({ type: 'MUTE', conv_id: conv, until: hour });
    await expectMuteSync([b1, b2], conv, hour);
    expect(await inboxRow(server, bob, conv)).toMatchObject({ muted_until: hour, muted: true });
    // Muting is personal.
    await a.sock.none(isMuteSync(conv), 100);
    expect(await inboxRow(server, alice, conv)).toMatchObject({ muted_until: null, muted: false });

    // A muted conversation still gets its messages, and they still count.
    const m = await sendOk(a.sock, conv, 'while muted');
    await expectDelivered([b1, b2], conv, m, { kind: 'message' });
    expect(await inboxRow(server, bob, conv)).toMatchObject({ unread: 1, muted: true });

    b2.sock.send({ type: 'MUTE', conv_id: conv, until: -1 });
    await expectMuteSync([b1, b2], conv, -1);
    expect(await inboxRow(server, bob, conv)).toMatchObject({ muted_until: -1, muted: true });
    const fresh = await connectDevice(server, bob, 'mu-b3');
    expect(connackRow(fresh.connack, conv)).toMatchObject({ muted_until: -1, muted: true });

    // A mute whose time has passed is shown but no longer in force.
    const soon = Date.now() + 800;
    b1.sock.send({ type: 'MUTE', conv_id: conv, until: soon });
    await expectMuteSync([b1, b2, fresh], conv, soon);
    expect(await inboxRow(server, bob, conv)).toMatchObject({ muted_until: soon, muted: true });
    await sleep(Math.max(0, soon - Date.now()) + 200);
    expect(await inboxRow(server, bob, conv)).toMatchObject({ muted_until: soon, muted: false });

    b1.sock.send({ type: 'MUTE', conv_id: conv, until: null });
    await expectMuteSync([b1, b2, fresh], conv, null);
    expect(await inboxRow(server, bob, conv)).toMatchObject({ muted_until: null, muted: false });
    closeAll([a, b1, b2, fresh]);
  });

  test('MUTE by a non-member is not_found (as an unknown conversation)', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'mute intruder');
    const d = await connectDevice(server, dave, 'mu-d');
    d.sock.send({ type: 'MUTE', conv_id: conv, until: -1 });
    expectRefused(await d.sock.next((f) => f.type === 'ERROR' || f.type === 'MUTE_SYNC'), 'not_found', null);
    d.sock.close();
  });
});

describe('mark as unread', () => {
  test('MARK_UNREAD shows on every device of the user until the next READ clears it', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'mark unread');
    const a = await connectDevice(server, alice, 'mk-a');
    const b1 = await connectDevice(server, bob, 'mk-b1');
    const b2 = await connectDevice(server, bob, 'mk-b2');
    const m = await sendOk(a.sock, conv, 'hello');
    await expectDelivered([b1, b2], conv, m, { kind: 'message' });
    b1.sock.send({ type: 'READ', conv_id: conv, seq: m });
    await expectReadSync([b1, b2], readSync(conv, m, 0));
    await a.sock.next((f) => f.type === 'RECEIPT' && f.kind === 'read');

    b1.sock.send({ type: 'MARK_UNREAD', conv_id: conv });
    await expectReadSync([b1, b2], readSync(conv, m, 0, 0, true));
    // Only Bob's devices hear of it: no read state, no receipt for Alice.
    await a.sock.none((f) => (f.type === 'READ_SYNC' || f.type === 'RECEIPT') && f.conv_id === conv, 200);
    expect(readState(await inboxRow(server, bob, conv))).toEqual({ last_read_seq: m, unread: 0, unread_mentions: 0, marked_unread: true });
    expect((await inboxRow(server, alice, conv)).marked_unread).toBe(false);
    const b3 = await connectDevice(server, bob, 'mk-b3');
    expect(connackRow(b3.connack, conv)).toMatchObject({ marked_unread: true, unread: 0 });

    // The next READ clears it, even one that does not move the marker.
    b2.sock.send({ type: 'READ', conv_id: conv, seq: m });
    await expectReadSync([b1, b2, b3], readSync(conv, m, 0, 0, false));
    expect((await inboxRow(server, bob, conv)).marked_unread).toBe(false);

    // A message from someone else does not clear it; reading it does.
    b3.sock.send({ type: 'MARK_UNREAD', conv_id: conv });
    await expectReadSync([b1, b2, b3], readSync(conv, m, 0, 0, true));
    const m2 = await sendOk(a.sock, conv, 'another');
    await expectDelivered([b1], conv, m2, { kind: 'message' });
    expect(readState(await inboxRow(server, bob, conv))).toEqual({ last_read_seq: m, unread: 1, unread_mentions: 0, marked_unread: true });
    b1.sock.send({ type: 'READ', conv_id: conv, seq: m2 });
    await expectReadSync([b1, b2, b3], readSync(conv, m2, 0, 0, false));

    // Sending a message clears it too.
    b1.sock.send({ type: 'MARK_UNREAD', conv_id: conv });
    await expectReadSync([b1, b2, b3], readSync(conv, m2, 0, 0, true));
    await sendOk(b1.sock, conv, 'my answer');
    expect((await inboxRow(server, bob, conv)).marked_unread).toBe(false);
    closeAll([a, b1, b2, b3]);
  });

  test('a device that was offline sees the flag in its CONNACK inbox', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'mark unread offline');
    const a = await connectDevice(server, alice, 'mo-a');
    const b1 = await connectDevice(server, bob, 'mo-b1');
    const b2 = await connectDevice(server, bob, 'mo-b2');
    const m = await sendOk(a.sock, conv, 'hello');
    b1.sock.send({ type: 'READ', conv_id: conv, seq: m });
    await expectReadSync([b1, b2], readSync(conv, m, 0));
    const cursor = b2.connack.inbox_cursor as string;
    b2.sock.close();
    await b2.sock.closed;

    b1.sock.send({ type: 'MARK_UNREAD', conv_id: conv });
    await expectReadSync([b1], readSync(conv, m, 0, 0, true));
    const back = await connectDevice(server, bob, 'mo-b2', { convs: { [conv]: m }, inbox_cursor: cursor });
    expect(readState(connackRow(back.connack, conv))).toEqual({ last_read_seq: m, unread: 0, unread_mentions: 0, marked_unread: true });
    closeAll([a, b1, back]);
  });

  test('MARK_UNREAD by a non-member is not_found (as an unknown conversation)', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'mark intruder');
    const d = await connectDevice(server, dave, 'mk-d');
    d.sock.send({ type: 'MARK_UNREAD', conv_id: conv });
    expectRefused(await d.sock.next((f) => f.type === 'ERROR' || f.type === 'READ_SYNC'), 'not_found', null);
    d.sock.close();
  });
});

test('unread counts only messages from others, never reactions, edits or tombstones, and every device agrees, including one replaying after a reconnect', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'consistency');
  const devices = await fourDevices(server, alice, bob);
  const { a1, a2, b1 } = devices;
  let b2 = devices.b2;
  const cursor = b2.connack.inbox_cursor as string;
  const bobStart = await inboxRow(server, bob, conv);
  expect(bobStart.unread).toBe(0);

  const m1 = await sendOk(a1.sock, conv, 'one');
  const m2 = await sendOk(a1.sock, conv, 'two');
  const m3 = await sendOk(a1.sock, conv, 'three');
  await expectDelivered([a2, b1, b2], conv, m3, { kind: 'message' });
  b2.sock.close();
  await b2.sock.closed;

  b1.sock.send({ type: 'READ', conv_id: conv, seq: m1 });
  await expectReadSync([b1], readSync(conv, m1, 2));

  // Alice's edit and reaction: Bob still has two unread messages.
  const e = acked(await edit(a1.sock, conv, m2, 'two, edited'));
  const r = acked(await react(a2.sock, conv, m2, '💯'));
  await expectDelivered([b1], conv, r, { kind: 'reaction' });
  expect(readState(await inboxRow(server, bob, conv))).toEqual({ last_read_seq: m1, unread: 2, unread_mentions: 0, marked_unread: false });

  // Alice unsends m3: one left, and Bob's devices hear it.
  const d = acked(await unsend(a1.sock, conv, m3));
  await expectReadSync([b1], readSync(conv, m1, 1));
  expect(readState(await inboxRow(server, bob, conv))).toEqual({ last_read_seq: m1, unread: 1, unread_mentions: 0, marked_unread: false });

  // Bob's reaction is not unread for Alice.
  const r2 = acked(await react(b1.sock, conv, m1, '👀'));
  await expectDelivered([a1, a2], conv, r2, { kind: 'reaction', sender_id: bob.user_id });
  expect(await inboxRow(server, alice, conv)).toMatchObject({ unread: 0, unread_mentions: 0 });

  // Bob reads everything, then Alice writes once more.
  b1.sock.send({ type: 'READ', conv_id: conv, seq: r2 });
  const read = await pollUntil(() => inboxRow(server, bob, conv), (row) => row.last_read_seq === r2);
  expect(readState(read)).toEqual({ last_read_seq: r2, unread: 0, unread_mentions: 0, marked_unread: false });
  const m4 = await sendOk(a1.sock, conv, 'four');
  await expectDelivered([b1], conv, m4, { kind: 'message' });
  const expected = { last_read_seq: r2, unread: 1, unread_mentions: 0, marked_unread: false };
  expect(readState(await inboxRow(server, bob, conv))).toEqual(expected);

  // The offline device replays everything it missed, in seq order, and agrees on the counts.
  b2 = await connectDevice(server, bob, b2.deviceId, { convs: { [conv]: m3 }, inbox_cursor: cursor });
  expect(missedOf(b2.connack, conv).map((x) => [x.seq, x.kind])).toEqual([
    [e, 'edit'],
    [r, 'reaction'],
    [d, 'delete'],
    [r2, 'reaction'],
    [m4, 'message'],
  ]);
  expect(readState(connackRow(b2.connack, conv))).toEqual(expected);
  // A fresh device of each user agrees with REST.
  const a3 = await connectDevice(server, alice, cmid('a3'));
  expect(connackRow(a3.connack, conv)).toMatchObject({ unread: 0, unread_mentions: 0, marked_unread: false });
  const b3 = await connectDevice(server, bob, cmid('b3'));
  expect(readState(connackRow(b3.connack, conv))).toEqual(expected);
  // And both users see the same history.
  expect(await history(server, alice, conv)).toEqual(await history(server, bob, conv));
  closeAll([a1, a2, b1, b2, a3, b3]);
});

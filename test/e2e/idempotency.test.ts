/**
 * Idempotency of every ACKed command (SEND, REACT, EDIT, DELETE) over real sockets, in the
 * cases the actor's in-memory window does not cover (docs/protocol.md, "Idempotency"): a
 * retry gets the original ACK with `duplicate: true` whatever happened since (its target
 * deleted, a mention left, the sender removed, the edit window passed), after a restart
 * and after 5,000 later commands; a client_msg_id reused for another kind is `conflict`.
 */
import { createConversation, http, registerUserPatiently, startTestServer, stopTestServer, type Frame, type TestServer, type TestUser } from './harness';
import { acked, cmid, connectDevice, edit, events, expectRefused, react, send, sendOk, unsend, type Device } from './rich-helpers';

jest.setTimeout(60_000);

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

/** Rate limits out of the way (5,000 commands) and a short edit window, so it can pass in a test. */
const env = { MARKER_FLUSH_MS: '20', LINK_PREVIEWS: 'off', RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000', EDIT_WINDOW_MS: '3000' };

beforeAll(async () => {
  server = await startTestServer(env);
  alice = await registerUserPatiently(server.url);
  bob = await registerUserPatiently(server.url);
  carol = await registerUserPatiently(server.url);
});
afterAll(() => stopTestServer(server));

/** Stops the server and starts a new one on the same data (same token secret): every actor's window is gone. */
async function restart(): Promise<void> {
  await stopTestServer(server, true);
  server = await startTestServer({ ...env, DATA_DIR: server.dataDir });
}

/** The original ACK of a retry: same seq and ts, marked duplicate. */
function expectDuplicateOf(answer: Frame, original: Frame): void {
  expect(answer).toEqual({ ...original, duplicate: true });
}

async function device(user: TestUser, id: string): Promise<Device> {
  return connectDevice(server, user, id);
}

describe('a retry after a restart gets the original ACK, whatever changed since', () => {
  test('SEND whose reply_to target was deleted', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'reply target gone');
    let a = await device(alice, 'a1');
    const root = await sendOk(a.sock, conv, 'root');
    const id = cmid('reply');
    const first = await send(a.sock, conv, 'a reply', { reply_to: root }, id);
    acked(first);
    acked(await unsend(a.sock, conv, root));
    a.sock.close();
    await restart();
    a = await device(alice, 'a1');
    expectDuplicateOf(await send(a.sock, conv, 'a reply', { reply_to: root }, id), first);
    // Nothing new in the log.
    expect((await events(server, alice, conv)).filter((e) => e.client_msg_id === id)).toHaveLength(1);
    a.sock.close();
  });

  test('SEND whose mentioned user left the group', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob, carol], 'mention gone');
    let a = await device(alice, 'a1');
    const id = cmid('mention');
    const first = await send(a.sock, conv, 'hi @carol', { mentions: [carol.user_id] }, id);
    acked(first);
    expect((await http(server.url, 'DELETE', `/api/v1/conversations/${conv}/members/${carol.user_id}`, undefined, carol.token)).status).toBe(200);
    a.sock.close();
    await restart();
    a = await device(alice, 'a1');
    expectDuplicateOf(await send(a.sock, conv, 'hi @carol', { mentions: [carol.user_id] }, id), first);
    a.sock.close();
  });

  test('SEND, REACT, EDIT and DELETE of a member removed from the group since', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'sender removed');
    const a = await device(alice, 'a1');
    let b = await device(bob, 'b1');
    const target = await sendOk(a.sock, conv, 'react to me');
    const ids = { send: cmid('s'), react: cmid('r'), edit: cmid('e'), del: cmid('d') };
    const sent = await send(b.sock, conv, 'mine', {}, ids.send);
    const reacted = await react(b.sock, conv, target, '👍', ids.react);
    const edited = await edit(b.sock, conv, acked(sent), 'mine, edited', ids.edit);
    const regret = await sendOk(b.sock, conv, 'regret');
    const deleted = await unsend(b.sock, conv, regret, ids.del);
    for (const f of [reacted, edited, deleted]) acked(f);
    expect((await http(server.url, 'DELETE', `/api/v1/conversations/${conv}/members/${bob.user_id}`, undefined, alice.token)).status).toBe(200);
    a.sock.close();
    b.sock.close();
    await restart();
    b = await device(bob, 'b1');
    expectDuplicateOf(await send(b.sock, conv, 'mine', {}, ids.send), sent);
    expectDuplicateOf(await react(b.sock, conv, target, '👍', ids.react), reacted);
    expectDuplicateOf(await edit(b.sock, conv, sent.seq as number, 'mine, edited', ids.edit), edited);
    expectDuplicateOf(await unsend(b.sock, conv, regret, ids.del), deleted);
    // A new command of the removed member is still refused.
    expectRefused(await send(b.sock, conv, 'new', {}, 'new-after-removal'), 'not_found', 'new-after-removal');
    b.sock.close();
  });

  test('REACT, EDIT and DELETE whose target was deleted; EDIT whose edit window passed', async () => {
    const conv = await createConversation(server.url, alice, 'direct', [bob]);
    let a = await device(alice, 'a1');
    let b = await device(bob, 'b1');
    const gone = await sendOk(a.sock, conv, 'soon gone');
    const old = await sendOk(a.sock, conv, 'soon too old to edit');
    const ids = { react: cmid('r'), edit: cmid('e'), late: cmid('late'), del: cmid('d') };
    const reacted = await react(b.sock, conv, gone, '😮', ids.react);
    const edited = await edit(a.sock, conv, gone, 'soon gone, edited', ids.edit);
    const lateEdit = await edit(a.sock, conv, old, 'edited in time', ids.late);
    const deleted = await unsend(a.sock, conv, gone, ids.del);
    for (const f of [reacted, edited, lateEdit, deleted]) acked(f);
    a.sock.close();
    b.sock.close();
    await new Promise((r) => setTimeout(r, 3100)); // past EDIT_WINDOW_MS
    await restart();
    a = await device(alice, 'a1');
    b = await device(bob, 'b1');
    expectDuplicateOf(await react(b.sock, conv, gone, '😮', ids.react), reacted);
    expectDuplicateOf(await edit(a.sock, conv, gone, 'soon gone, edited', ids.edit), edited);
    expectDuplicateOf(await edit(a.sock, conv, old, 'edited in time', ids.late), lateEdit);
    expectDuplicateOf(await unsend(a.sock, conv, gone, ids.del), deleted);
    // New commands meet the rules as before.
    expectRefused(await react(b.sock, conv, gone, '😮', 'r-new'), 'not_found', 'r-new');
    expectRefused(await edit(a.sock, conv, old, 'too late', 'e-new'), 'forbidden', 'e-new');
    a.sock.close();
    b.sock.close();
  });

  test('a retry over REST is answered the same way (200, duplicate)', async () => {
    const conv = await createConversation(server.url, alice, 'group', [bob], 'rest retry');
    const post = (body: unknown) => http(server.url, 'POST', `/api/v1/conversations/${conv}/messages`, body, alice.token);
    const root = (await post({ client_msg_id: cmid('root'), body: 'root' })).body.seq as number;
    const id = cmid('rest-reply');
    const first = await post({ client_msg_id: id, body: 'reply', reply_to: root });
    expect(first.status).toBe(201);
    expect((await http(server.url, 'DELETE', `/api/v1/conversations/${conv}/messages/${root}?client_msg_id=${cmid('del')}`, undefined, alice.token)).status).toBe(201);
    await restart();
    const retry = await post({ client_msg_id: id, body: 'reply', reply_to: root });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({ ...first.body, duplicate: true });
  });
});

test('retries after 5,000 later commands (the in-memory window long forgotten) get their original ACKs', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const a = await device(alice, 'a1');
  const b = await device(bob, 'b1');
  const root = await sendOk(a.sock, conv, 'root');
  const [m2, m3, m4] = [await sendOk(a.sock, conv, 'two'), await sendOk(a.sock, conv, 'three'), await sendOk(a.sock, conv, 'four')];
  const ids = { send: cmid('s'), react: cmid('r'), edit: cmid('e'), del: cmid('d') };
  const originals = {
    send: await send(a.sock, conv, 'reply', { reply_to: root }, ids.send),
    react: await react(b.sock, conv, m2, '🎉', ids.react),
    edit: await edit(a.sock, conv, m3, 'three, edited', ids.edit),
    del: await unsend(a.sock, conv, m4, ids.del),
  };
  for (const f of Object.values(originals)) acked(f);
  // Every target goes, so the rules alone would refuse each retry.
  for (const seq of [root, m2, m3]) acked(await unsend(a.sock, conv, seq));

  // 5,000 later commands, pipelined 200 at a time.
  for (let done = 0; done < 5000; done += 200) {
    const batch = Array.from({ length: 200 }, (_, i) => send(a.sock, conv, `filler ${done + i}`));
    for (const f of await Promise.all(batch)) acked(f);
  }

  expectDuplicateOf(await send(a.sock, conv, 'reply', { reply_to: root }, ids.send), originals.send);
  expectDuplicateOf(await react(b.sock, conv, m2, '🎉', ids.react), originals.react);
  expectDuplicateOf(await edit(a.sock, conv, m3, 'three, edited', ids.edit), originals.edit);
  expectDuplicateOf(await unsend(a.sock, conv, m4, ids.del), originals.del);
  a.sock.close();
  b.sock.close();
});

describe('a client_msg_id reused for another kind of command is refused with conflict', () => {
  test('while the original is recent, in flight, or only in the store; nothing is stored', async () => {
    // A group of its own: the direct pair's conversation holds the 5,000 above (and /events pages at 1,000).
    const conv = await createConversation(server.url, alice, 'group', [bob], 'conflicts');
    let a = await device(alice, 'a1');
    const target = await sendOk(a.sock, conv, 'target');
    const recent = cmid('k');
    const sent = await send(a.sock, conv, 'a message', {}, recent);
    acked(sent);
    // Recent: the actor's window knows the key.
    expectRefused(await react(a.sock, conv, target, '👍', recent), 'conflict', recent);
    expectRefused(await edit(a.sock, conv, target, 'edit', recent), 'conflict', recent);
    expectRefused(await unsend(a.sock, conv, target, recent), 'conflict', recent);
    // Sent back to back (in flight, or just committed): the first is ACKed, the second refused.
    // The actor-level suite covers the in-flight window exactly, with a commit held open.
    const both = cmid('both');
    a.sock.send({ type: 'SEND', client_msg_id: both, conv_id: conv, body: 'first' });
    a.sock.send({ type: 'REACT', client_msg_id: both, conv_id: conv, target_seq: target, emoji: '🔥' });
    expectRefused(await a.sock.next((f) => f.type === 'ERROR' && f.ref === both), 'conflict', both);
    acked(await a.sock.next((f) => f.type === 'ACK' && f.client_msg_id === both));
    a.sock.close();
    const before = (await events(server, alice, conv)).length;

    await restart();
    a = await device(alice, 'a1');
    // Only in the store, refused by the rules first (the target is no message of alice's to edit).
    expectRefused(await edit(a.sock, conv, 999_999, 'edit', recent), 'conflict', recent);
    // A REACT's id reused by a SEND.
    const reactId = cmid('rk');
    acked(await react(a.sock, conv, target, '🙂', reactId));
    const afterReact = (await events(server, alice, conv)).length;
    expectRefused(await send(a.sock, conv, 'a message', {}, reactId), 'conflict', reactId);
    expect((await events(server, alice, conv)).length).toBe(afterReact);
    // Only in the store, accepted by the rules: the store's key decides at commit.
    expectRefused(await react(a.sock, conv, target, '👍', recent), 'conflict', recent);
    expectRefused(await edit(a.sock, conv, target, 'an edit', both), 'conflict', both);
    // And the same kind is still a plain retry.
    expectDuplicateOf(await send(a.sock, conv, 'a message', {}, recent), sent);
    // Over REST: 409 conflict.
    const rest = await http(server.url, 'POST', `/api/v1/conversations/${conv}/messages/${target}/reactions`, { client_msg_id: recent, emoji: '👍' }, alice.token);
    expect(rest.status).toBe(409);
    expect(rest.body.error.code).toBe('conflict');
    // None of the refused commands left anything in the log (the one REACT above aside).
    expect((await events(server, alice, conv)).length).toBe(before + 1);
    a.sock.close();
  });
});

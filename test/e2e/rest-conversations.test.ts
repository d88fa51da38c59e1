/**
 * Conversations over REST: creation, access control, inbox order and unread counts,
 * members, history and sync paging, send idempotency (REST and WebSocket), presence pull.
 * Real HTTP against an in-process server.
 */
import {
  TestSocket,
  createConversation,
  http,
  pollUntil,
  registerUserPatiently,
  sendRest,
  sleep,
  startTestServer,
  stopTestServer,
  type TestServer,
  type TestUser,
} from './harness';

let server: TestServer;
let url: string;

beforeAll(async () => {
  server = await startTestServer();
  url = server.url;
});
afterAll(() => stopTestServer(server));

const get = (user: TestUser, path: string) => http(url, 'GET', '/api/v1' + path, undefined, user.token);
const post = (user: TestUser, path: string, body: unknown) => http(url, 'POST', '/api/v1' + path, body, user.token);
const del = (user: TestUser, path: string) => http(url, 'DELETE', '/api/v1' + path, undefined, user.token);

async function users(n: number): Promise<TestUser[]> {
  const out: TestUser[] = [];
  for (let i = 0; i < n; i++) out.push(await registerUserPatiently(url));
  return out;
}

/** Sends over REST and returns the seq; fails the test unless it was stored (201). */
async function send(user: TestUser, convId: string, body: string, clientMsgId = `m-${Math.random().toString(36).slice(2)}`): Promise<number> {
  const res = await sendRest(url, user, convId, body, clientMsgId);
  expect(res.status).toBe(201);
  return res.body.seq;
}

type Row = { conv_id: string; preview: string | null; unread: number; last_read_seq: number; last_seq: number; updated_at: number };

async function inbox(user: TestUser): Promise<Row[]> {
  const res = await get(user, '/conversations?limit=200');
  expect(res.status).toBe(200);
  return res.body.conversations as Row[];
}

/** Messages in `history` from users other than `user` with seq above `marker`: what unread must be. */
function othersMessagesAbove(history: { seq: number; sender_id: string; deleted: boolean }[], user: TestUser, marker: number): number {
  return history.filter((m) => m.seq > marker && m.sender_id !== user.user_id && !m.deleted).length;
}

async function inboxRow(user: TestUser, convId: string): Promise<Row | undefined> {
  return (await inbox(user)).find((r) => r.conv_id === convId);
}

describe('creating conversations', () => {
  let alice: TestUser, bob: TestUser, carol: TestUser;
  beforeAll(async () => {
    [alice, bob, carol] = await users(3);
  });

  test('a direct conversation answers 201; the same pair again answers 200 with the same conv_id, whoever creates it', async () => {
    const first = await post(alice, '/conversations', { type: 'direct', member_ids: [bob.user_id] });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ conv_id: expect.any(String), type: 'direct', title: null, created_at: expect.any(Number) });
    const members = (first.body.members as { user_id: string; role: string }[]).map((m) => [m.user_id, m.role]).sort();
    expect(members).toEqual([[alice.user_id, 'member'], [bob.user_id, 'member']].sort());

    const again = await post(alice, '/conversations', { type: 'direct', member_ids: [bob.user_id] });
    expect(again.status).toBe(200);
    expect(again.body.conv_id).toBe(first.body.conv_id);

    const reverse = await post(bob, '/conversations', { type: 'direct', member_ids: [alice.user_id] });
    expect(reverse.status).toBe(200);
    expect(reverse.body.conv_id).toBe(first.body.conv_id);

    // Naming oneself among the members is the same pair.
    const withSelf = await post(bob, '/conversations', { type: 'direct', member_ids: [alice.user_id, bob.user_id] });
    expect(withSelf.status).toBe(200);
    expect(withSelf.body.conv_id).toBe(first.body.conv_id);

    // Exactly one direct conversation between them in either inbox.
    const shared = (await inbox(alice)).filter((r) => r.conv_id === first.body.conv_id);
    expect(shared).toHaveLength(1);
    expect((await inbox(bob)).filter((r) => r.conv_id === first.body.conv_id)).toHaveLength(1);
  });

  test('concurrent creates of the same direct pair give one conversation: one 201, the rest 200', async () => {
    const [p, q] = await users(2);
    const results = await Promise.all([
      post(p, '/conversations', { type: 'direct', member_ids: [q.user_id] }),
      post(q, '/conversations', { type: 'direct', member_ids: [p.user_id] }),
      post(p, '/conversations', { type: 'direct', member_ids: [q.user_id] }),
      post(q, '/conversations', { type: 'direct', member_ids: [p.user_id] }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.conv_id)).size).toBe(1);
    // Announced once: one member_added event.
    const events = await get(p, `/conversations/${results[0].body.conv_id}/events?after=0`);
    expect((events.body.events as { kind: string }[]).filter((e) => e.kind === 'member_added')).toHaveLength(1);
  });

  test('a direct conversation has no title; repeated member ids count once', async () => {
    const [p, q, r] = await users(3);
    const direct = await post(p, '/conversations', { type: 'direct', member_ids: [q.user_id, q.user_id], title: 'ignored' });
    expect(direct.status).toBe(201);
    expect(direct.body.title).toBeNull();
    expect(direct.body.members).toHaveLength(2);
    const group = await post(p, '/conversations', { type: 'group', member_ids: [q.user_id, r.user_id, q.user_id, p.user_id], title: 't' });
    expect(group.status).toBe(201);
    expect(group.body.members).toHaveLength(3);
  });

  test('a direct conversation with oneself or with two others answers 400', async () => {
    const self = await post(alice, '/conversations', { type: 'direct', member_ids: [alice.user_id] });
    expect(self.status).toBe(400);
    expect(self.body.error.code).toBe('bad_request');
    const three = await post(alice, '/conversations', { type: 'direct', member_ids: [bob.user_id, carol.user_id] });
    expect(three.status).toBe(400);
    expect(three.body.error.code).toBe('bad_request');
  });

  test('an unknown member answers 404 and creates nothing', async () => {
    const before = (await inbox(alice)).length;
    const direct = await post(alice, '/conversations', { type: 'direct', member_ids: ['u-nobody'] });
    expect(direct.status).toBe(404);
    expect(direct.body.error.code).toBe('not_found');
    const group = await post(alice, '/conversations', { type: 'group', member_ids: [bob.user_id, 'u-nobody'], title: 'x' });
    expect(group.status).toBe(404);
    expect(group.body.error.code).toBe('not_found');
    expect(await inbox(alice)).toHaveLength(before);
  });

  test('a group keeps its title; the creator is admin, the others members', async () => {
    const res = await post(alice, '/conversations', { type: 'group', member_ids: [bob.user_id, carol.user_id], title: 'Weekend plans' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ type: 'group', title: 'Weekend plans' });
    const roles = Object.fromEntries((res.body.members as { user_id: string; role: string }[]).map((m) => [m.user_id, m.role]));
    expect(roles).toEqual({ [alice.user_id]: 'admin', [bob.user_id]: 'member', [carol.user_id]: 'member' });

    // Groups are never deduplicated: the same members again make a second group.
    const second = await post(alice, '/conversations', { type: 'group', member_ids: [bob.user_id, carol.user_id], title: 'Weekend plans' });
    expect(second.status).toBe(201);
    expect(second.body.conv_id).not.toBe(res.body.conv_id);
  });
});

describe('group size limit (server with MAX_GROUP_MEMBERS=5)', () => {
  let small: TestServer;
  let people: TestUser[];
  beforeAll(async () => {
    small = await startTestServer({ MAX_GROUP_MEMBERS: '5' });
    people = [];
    for (let i = 0; i < 7; i++) people.push(await registerUserPatiently(small.url));
  });
  afterAll(() => stopTestServer(small));

  test('6 members answer 400, 5 answer 201, and adding a 6th to a full group answers 400', async () => {
    const [creator, ...rest] = people;
    const tooMany = await http(small.url, 'POST', '/api/v1/conversations', { type: 'group', member_ids: rest.slice(0, 5).map((u) => u.user_id), title: 'six' }, creator.token);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('bad_request');

    const full = await http(small.url, 'POST', '/api/v1/conversations', { type: 'group', member_ids: rest.slice(0, 4).map((u) => u.user_id), title: 'five' }, creator.token);
    expect(full.status).toBe(201);
    expect(full.body.members).toHaveLength(5);

    const add = await http(small.url, 'POST', `/api/v1/conversations/${full.body.conv_id}/members`, { user_ids: [rest[4].user_id] }, creator.token);
    expect(add.status).toBe(400);
    expect(add.body.error.code).toBe('bad_request');
    const details = await http(small.url, 'GET', `/api/v1/conversations/${full.body.conv_id}`, undefined, creator.token);
    expect(details.body.members).toHaveLength(5);
  });
});

describe('access to a conversation', () => {
  let alice: TestUser, bob: TestUser, eve: TestUser;
  let conv: string;
  beforeAll(async () => {
    [alice, bob, eve] = await users(3);
    conv = await createConversation(url, alice, 'group', [bob], 'private');
    await send(alice, conv, 'for members only');
  });

  test('a member gets the details with members', async () => {
    const res = await get(bob, `/conversations/${conv}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ conv_id: conv, type: 'group', title: 'private' });
    expect((res.body.members as { user_id: string }[]).map((m) => m.user_id).sort()).toEqual([alice.user_id, bob.user_id].sort());
  });

  test("details carry each member's read_seq and delivered_seq; a member who hides read receipts shows read_seq null", async () => {
    const [ann, ben, cat] = await users(3);
    const group = await createConversation(url, ann, 'group', [ben, cat], 'markers');
    const seq = await send(ann, group, 'seen?');
    expect((await post(ben, `/conversations/${group}/read`, { seq })).status).toBe(200);
    expect((await post(cat, `/conversations/${group}/read`, { seq })).status).toBe(200);
    expect((await http(url, 'PATCH', '/api/v1/me/settings', { send_read_receipts: false }, cat.token)).status).toBe(200);
    const res = await get(ann, `/conversations/${group}`);
    expect(res.status).toBe(200);
    const byUser = new Map((res.body.members as { user_id: string; read_seq: number | null; delivered_seq: number }[]).map((m) => [m.user_id, m]));
    expect(byUser.get(ben.user_id)?.read_seq).toBe(seq);
    expect(byUser.get(cat.user_id)?.read_seq).toBeNull();
    expect(byUser.get(ann.user_id)?.read_seq).toBe(seq); // sending moves the sender's own marker
    expect(typeof byUser.get(ben.user_id)?.delivered_seq).toBe('number');
    // Cat still sees her own marker.
    const own = await get(cat, `/conversations/${group}`);
    expect((own.body.members as { user_id: string; read_seq: number | null }[]).find((m) => m.user_id === cat.user_id)?.read_seq).toBe(seq);
  });

  const requests = (id: string, victim: () => TestUser): [string, string, string, unknown?][] => [
    ['details', 'GET', `/conversations/${id}`],
    ['messages', 'GET', `/conversations/${id}/messages`],
    ['events', 'GET', `/conversations/${id}/events?after=0`],
    ['send', 'POST', `/conversations/${id}/messages`, { client_msg_id: 'intruder-1', body: 'let me in' }],
    ['add member', 'POST', `/conversations/${id}/members`, { user_ids: [victim().user_id] }],
    ['remove member', 'DELETE', `/conversations/${id}/members/${victim().user_id}`],
    ['read', 'POST', `/conversations/${id}/read`, { seq: 1 }],
  ];

  test('a non-member gets 404, as for an unknown conversation, for details, messages, events, send, members add/remove and read', async () => {
    for (const [name, method, path, body] of requests(conv, () => bob)) {
      const res = await http(url, method, '/api/v1' + path, body, eve.token);
      expect({ name, status: res.status, code: res.body.error?.code }).toEqual({ name, status: 404, code: 'not_found' });
    }
    // Nothing the intruder tried changed the conversation.
    const events = await get(alice, `/conversations/${conv}/events?after=0`);
    expect((events.body.events as { kind: string; body?: string }[]).filter((e) => e.kind !== 'member_added').map((e) => e.body)).toEqual(['for members only']);
    expect((await get(alice, `/conversations/${conv}`)).body.members).toHaveLength(2);
    expect((await inbox(eve)).find((r) => r.conv_id === conv)).toBeUndefined();
  });

  test('an unknown conversation answers 404 for the same requests', async () => {
    for (const [name, method, path, body] of requests('c-does-not-exist', () => bob)) {
      const res = await http(url, method, '/api/v1' + path, body, alice.token);
      expect({ name, status: res.status, code: res.body.error?.code }).toEqual({ name, status: 404, code: 'not_found' });
    }
  });
});

describe('inbox', () => {
  let me: TestUser, a: TestUser, b: TestUser, c: TestUser;
  let convA: string, convB: string, convC: string;
  beforeAll(async () => {
    [me, a, b, c] = await users(4);
    convA = await createConversation(url, me, 'direct', [a]);
    convB = await createConversation(url, me, 'direct', [b]);
    convC = await createConversation(url, me, 'group', [a, c], 'group C');
    // Activity order, oldest first: B, C, A (sleeps keep timestamps distinct).
    await sleep(5);
    await send(b, convB, 'b: first');
    await sleep(5);
    await send(b, convB, 'b: newest in B');
    await sleep(5);
    await send(c, convC, 'c: hello group');
    await sleep(5);
    await send(a, convA, 'a: one');
    await sleep(5);
    await send(a, convA, 'a: two');
    await sleep(5);
    await send(me, convA, 'me: reply in A');
  });

  test('lists conversations newest activity first, with the newest message as preview', async () => {
    const rows = await inbox(me);
    expect(rows.map((r) => r.conv_id)).toEqual([convA, convC, convB]);
    expect(rows.map((r) => r.preview)).toEqual(['me: reply in A', 'c: hello group', 'b: newest in B']);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1].updated_at).toBeGreaterThanOrEqual(rows[i].updated_at);
    expect(rows.every((r) => r.last_seq > 0)).toBe(true);

    // New activity in the oldest conversation moves it to the top.
    await sleep(5);
    await send(b, convB, 'b: back on top');
    const after = await inbox(me);
    expect(after.map((r) => r.conv_id)).toEqual([convB, convA, convC]);
    expect(after[0].preview).toBe('b: back on top');
  });

  test('cursor paging with limit=1 walks every row once, in the same order', async () => {
    const all = (await inbox(me)).map((r) => r.conv_id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const res = await get(me, `/conversations?limit=1${q}`);
      expect(res.status).toBe(200);
      expect(res.body.conversations.length).toBeLessThanOrEqual(1);
      seen.push(...(res.body.conversations as Row[]).map((r) => r.conv_id));
      cursor = res.body.next_cursor;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    expect(seen).toEqual(all);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(3);
  });

  test("unread counts others' messages above last_read_seq; own messages never count", async () => {
    const [x, y] = await users(2);
    const conv = await createConversation(url, x, 'direct', [y]);
    const s1 = await send(x, conv, 'x1');
    const s2 = await send(x, conv, 'x2');
    const s3 = await send(x, conv, 'x3');

    expect(await inboxRow(x, conv)).toMatchObject({ unread: 0 });
    expect(await inboxRow(y, conv)).toMatchObject({ unread: 3, last_read_seq: expect.any(Number) });
    expect((await inboxRow(y, conv))?.last_read_seq).toBeLessThan(s1);

    const read = await post(y, `/conversations/${conv}/read`, { seq: s1 });
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ last_read_seq: s1 });
    expect(await inboxRow(y, conv)).toMatchObject({ unread: 2, last_read_seq: s1 });

    // Markers only move forward.
    const back = await post(y, `/conversations/${conv}/read`, { seq: 1 });
    expect(back.status).toBe(200);
    expect(back.body).toEqual({ last_read_seq: s1 });
    expect(await inboxRow(y, conv)).toMatchObject({ unread: 2, last_read_seq: s1 });

    await post(y, `/conversations/${conv}/read`, { seq: s3 });
    expect(await inboxRow(y, conv)).toMatchObject({ unread: 0, last_read_seq: s3 });

    // y replies: y's own message is not unread for y, and is for x.
    const s4 = await send(y, conv, 'y1');
    expect(await inboxRow(y, conv)).toMatchObject({ unread: 0 });
    expect(await inboxRow(x, conv)).toMatchObject({ unread: 1 });
    expect((await inboxRow(x, conv))?.last_read_seq).toBe(s3); // sending advanced x's own marker
    expect(s2).toBeLessThan(s3);
    expect(s4).toBeGreaterThan(s3);

    // Reading past the end is clamped to the last seq.
    const far = await post(x, `/conversations/${conv}/read`, { seq: s4 + 1000 });
    expect(far.body.last_read_seq).toBe(s4);
    expect(await inboxRow(x, conv)).toMatchObject({ unread: 0, last_read_seq: s4 });
  });
});

describe('members', () => {
  let admin: TestUser, member: TestUser, newcomer: TestUser, leaver: TestUser, outsider: TestUser;
  let group: string;
  let earlySeq: number;
  beforeAll(async () => {
    [admin, member, newcomer, leaver, outsider] = await users(5);
    group = await createConversation(url, admin, 'group', [member, leaver], 'team');
    earlySeq = await send(admin, group, 'said before the newcomer joined');
  });

  test('an admin adds a member and gets the member list; the new member reads history', async () => {
    expect((await get(newcomer, `/conversations/${group}/messages`)).status).toBe(404);
    const res = await post(admin, `/conversations/${group}/members`, { user_ids: [newcomer.user_id] });
    expect([200, 201]).toContain(res.status);
    const roles = Object.fromEntries((res.body.members as { user_id: string; role: string }[]).map((m) => [m.user_id, m.role]));
    expect(roles).toEqual({ [admin.user_id]: 'admin', [member.user_id]: 'member', [leaver.user_id]: 'member', [newcomer.user_id]: 'member' });

    const history = await get(newcomer, `/conversations/${group}/messages`);
    expect(history.status).toBe(200);
    expect((history.body.messages as { seq: number }[]).map((m) => m.seq)).toContain(earlySeq);
    // A join starts the marker at the join event: earlier history is not unread.
    const row = await inboxRow(newcomer, group);
    expect(row).toBeDefined();
    expect(row?.unread).toBe(0);
    expect(row?.last_read_seq).toBeGreaterThan(earlySeq);
    expect(row?.unread).toBe(othersMessagesAbove(history.body.messages, newcomer, row?.last_read_seq ?? 0));
    // The join is an event in the log.
    const events = await get(admin, `/conversations/${group}/events?after=${earlySeq}`);
    expect(events.body.events).toContainEqual(expect.objectContaining({ kind: 'member_added', user_ids: [newcomer.user_id] }));
  });

  test("a new member's marker and unread agree between the inbox, READ answers and READ_SYNC, and never move back", async () => {
    const [host, friend, guest] = await users(3);
    const conv = await createConversation(url, host, 'group', [friend], 'late joiners');
    const first = await send(host, conv, 'before the join');
    await send(friend, conv, 'also before the join');
    await send(host, conv, 'still before the join');
    expect((await post(host, `/conversations/${conv}/members`, { user_ids: [guest.user_id] })).status).toBe(200);
    const history = (await get(guest, `/conversations/${conv}/messages`)).body.messages;

    const start = await inboxRow(guest, conv);
    const startMarker = start?.last_read_seq ?? -1;
    expect(start?.unread).toBe(othersMessagesAbove(history, guest, startMarker));

    const { sock } = await TestSocket.connect(server.wsUrl, guest.token, 'guest-phone');
    try {
      // A READ at the first message: the marker becomes max(start, first), never lower.
      const read = await post(guest, `/conversations/${conv}/read`, { seq: first });
      expect(read.status).toBe(200);
      const marker = Math.max(startMarker, first);
      expect(read.body.last_read_seq).toBe(marker);
      const row = await inboxRow(guest, conv);
      expect(row).toMatchObject({ last_read_seq: marker, unread: othersMessagesAbove(history, guest, marker) });
      // Every READ_SYNC the guest's devices got says the same as the inbox.
      await sleep(200);
      for (const f of sock.frames.filter((x) => x.type === 'READ_SYNC' && x.conv_id === conv)) {
        expect({ last_read_seq: f.last_read_seq, unread: f.unread }).toEqual({ last_read_seq: marker, unread: row?.unread });
      }
    } finally {
      sock.close();
    }
  });

  test('a non-admin cannot add members (403)', async () => {
    const res = await post(member, `/conversations/${group}/members`, { user_ids: [outsider.user_id] });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
    expect((await get(outsider, `/conversations/${group}`)).status).toBe(404);
  });

  test('a non-admin cannot remove another member (403)', async () => {
    const res = await del(member, `/conversations/${group}/members/${leaver.user_id}`);
    expect(res.status).toBe(403);
    expect((await get(leaver, `/conversations/${group}`)).status).toBe(200);
  });

  test('adding an unknown user answers 404', async () => {
    const res = await post(admin, `/conversations/${group}/members`, { user_ids: ['u-nobody'] });
    expect(res.status).toBe(404);
  });

  test('an admin removes a member, who gets 404 afterwards', async () => {
    const res = await del(admin, `/conversations/${group}/members/${newcomer.user_id}`);
    expect(res.status).toBe(200);
    expect(res.body.seq).toEqual(expect.any(Number));
    for (const path of [`/conversations/${group}`, `/conversations/${group}/messages`, `/conversations/${group}/events`]) {
      expect((await get(newcomer, path)).status).toBe(404);
    }
    expect((await sendRest(url, newcomer, group, 'still here?', 'after-removal')).status).toBe(404);
    const members = (await get(admin, `/conversations/${group}`)).body.members as { user_id: string }[];
    expect(members.map((m) => m.user_id)).not.toContain(newcomer.user_id);
    expect(await inboxRow(newcomer, group)).toBeUndefined();
    // The removal is in the log for the remaining members.
    const events = await get(admin, `/conversations/${group}/events?after=${res.body.seq - 1}`);
    expect(events.body.events[0]).toMatchObject({ seq: res.body.seq, kind: 'member_removed', user_ids: [newcomer.user_id] });
  });

  test('removing someone who is not a member answers 404', async () => {
    const res = await del(admin, `/conversations/${group}/members/${outsider.user_id}`);
    expect(res.status).toBe(404);
  });

  test('a member leaves by removing themself', async () => {
    const res = await del(leaver, `/conversations/${group}/members/${leaver.user_id}`);
    expect(res.status).toBe(200);
    expect((await get(leaver, `/conversations/${group}`)).status).toBe(404);
    const members = (await get(admin, `/conversations/${group}`)).body.members as { user_id: string }[];
    expect(members.map((m) => m.user_id).sort()).toEqual([admin.user_id, member.user_id].sort());
  });

  test('members of a direct conversation cannot change (400)', async () => {
    const direct = await createConversation(url, admin, 'direct', [member]);
    const add = await post(admin, `/conversations/${direct}/members`, { user_ids: [outsider.user_id] });
    expect(add.status).toBe(400);
    const remove = await del(admin, `/conversations/${direct}/members/${member.user_id}`);
    expect(remove.status).toBe(400);
    const leave = await del(member, `/conversations/${direct}/members/${member.user_id}`);
    expect(leave.status).toBe(400);
    expect((await get(admin, `/conversations/${direct}`)).body.members).toHaveLength(2);
  });
});

describe('history and sync', () => {
  let alice: TestUser, bob: TestUser;
  let conv: string;
  const seqs: number[] = [];
  beforeAll(async () => {
    [alice, bob] = await users(2);
    conv = await createConversation(url, alice, 'direct', [bob]);
    for (let i = 1; i <= 7; i++) seqs.push(await send(i % 2 ? alice : bob, conv, `message ${i}`));
  });

  test('GET /messages returns the `limit` newest before `before`, ascending, with their state', async () => {
    const newest = await get(bob, `/conversations/${conv}/messages?limit=3`);
    expect(newest.status).toBe(200);
    expect((newest.body.messages as { seq: number }[]).map((m) => m.seq)).toEqual(seqs.slice(4));

    const page = await get(bob, `/conversations/${conv}/messages?before=${seqs[4]}&limit=2`);
    const messages = page.body.messages as Record<string, unknown>[];
    expect(messages.map((m) => m.seq)).toEqual([seqs[2], seqs[3]]);
    expect(messages[0]).toMatchObject({
      conv_id: conv,
      seq: seqs[2],
      kind: 'message',
      sender_id: alice.user_id,
      body: 'message 3',
      reactions: {},
      edited_at: null,
      deleted: false,
    });
    expect(messages[1]).toMatchObject({ sender_id: bob.user_id, body: 'message 4' });

    const all = await get(bob, `/conversations/${conv}/messages`);
    expect((all.body.messages as { seq: number }[]).map((m) => m.seq)).toEqual(seqs); // no member_added rows
    const none = await get(bob, `/conversations/${conv}/messages?before=${seqs[0]}`);
    expect(none.body.messages).toEqual([]);
  });

  test('GET /events returns {events, more}, more=true when capped', async () => {
    const capped = await get(alice, `/conversations/${conv}/events?after=0&limit=3`);
    expect(capped.status).toBe(200);
    expect(capped.body.more).toBe(true);
    const first = capped.body.events as { seq: number; kind: string }[];
    expect(first).toHaveLength(3);
    expect(first[0]).toMatchObject({ seq: 1, kind: 'member_added' });

    // Paging by the last seq walks the log without gaps or repeats.
    const rest = await get(alice, `/conversations/${conv}/events?after=${first[2].seq}&limit=100`);
    expect(rest.body.more).toBe(false);
    const walked = [...first, ...(rest.body.events as { seq: number }[])].map((e) => e.seq);
    expect(walked).toEqual([...walked].sort((p, q) => p - q));
    expect(new Set(walked).size).toBe(walked.length);
    expect(walked).toEqual(expect.arrayContaining(seqs));
    expect(walked[walked.length - 1]).toBe(seqs[seqs.length - 1]);

    const exact = await get(alice, `/conversations/${conv}/events?after=0&limit=${walked.length}`);
    expect(exact.body.more).toBe(false);
    const end = await get(alice, `/conversations/${conv}/events?after=${seqs[6]}`);
    expect(end.body).toEqual({ events: [], more: false });
  });
});

describe('send idempotency', () => {
  let alice: TestUser, bob: TestUser;
  let conv: string;
  beforeAll(async () => {
    [alice, bob] = await users(2);
    conv = await createConversation(url, alice, 'direct', [bob]);
  });

  test('the same client_msg_id twice over REST: 201, then 200 duplicate with the same seq; then over WebSocket: ACK duplicate', async () => {
    const first = await sendRest(url, alice, conv, 'only once', 'idem-1');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ client_msg_id: 'idem-1', conv_id: conv, seq: expect.any(Number), ts: expect.any(Number) });
    expect(first.body.duplicate).toBeUndefined();

    const second = await sendRest(url, alice, conv, 'only once', 'idem-1');
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ client_msg_id: 'idem-1', seq: first.body.seq, ts: first.body.ts, duplicate: true });

    // A retry with another body is still the same message.
    const third = await sendRest(url, alice, conv, 'changed my mind', 'idem-1');
    expect(third.status).toBe(200);
    expect(third.body.seq).toBe(first.body.seq);

    const history = await get(bob, `/conversations/${conv}/messages`);
    const withId = (history.body.messages as { client_msg_id?: string; body: string }[]).filter((m) => m.client_msg_id === 'idem-1');
    expect(withId).toHaveLength(1);
    expect(withId[0].body).toBe('only once');

    const { sock } = await TestSocket.connect(server.wsUrl, alice.token, 'alice-phone');
    try {
      const ack = await sock.sendMessage(conv, 'only once', 'idem-1');
      expect(ack).toMatchObject({ type: 'ACK', client_msg_id: 'idem-1', conv_id: conv, seq: first.body.seq, duplicate: true });
    } finally {
      sock.close();
    }
    const events = await get(bob, `/conversations/${conv}/events?after=0`);
    expect((events.body.events as { client_msg_id?: string }[]).filter((e) => e.client_msg_id === 'idem-1')).toHaveLength(1);
  });

  test('concurrent sends with one client_msg_id store one message: one 201, the rest 200 duplicate', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => sendRest(url, alice, conv, 'racing', 'idem-race')));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.seq)).size).toBe(1);
    expect(results.filter((r) => r.body.duplicate === true)).toHaveLength(5);
    const events = await get(bob, `/conversations/${conv}/events?after=0`);
    expect((events.body.events as { client_msg_id?: string }[]).filter((e) => e.client_msg_id === 'idem-race')).toHaveLength(1);
  });

  test('the key is per sender: another member may use the same client_msg_id', async () => {
    const mine = await sendRest(url, alice, conv, 'from alice', 'shared-id');
    const theirs = await sendRest(url, bob, conv, 'from bob', 'shared-id');
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.seq).not.toBe(mine.body.seq);
  });
});

describe('presence pull', () => {
  let viewer: TestUser, carol: TestUser, dave: TestUser, erin: TestUser;
  beforeAll(async () => {
    [viewer, carol, dave, erin] = await users(4);
  });

  type P = { user_id: string; state: string; last_seen: number | null };
  async function presenceOf(...who: TestUser[]): Promise<Record<string, P>> {
    const res = await get(viewer, `/presence?user_ids=${who.map((u) => u.user_id).join(',')}`);
    expect(res.status).toBe(200);
    return Object.fromEntries((res.body.presence as P[]).map((p) => [p.user_id, p]));
  }

  test('online while a socket is connected, offline with last_seen after it closes', async () => {
    const never = await presenceOf(dave);
    expect(never[dave.user_id]).toEqual({ user_id: dave.user_id, state: 'offline', last_seen: null });

    const { sock } = await TestSocket.connect(server.wsUrl, carol.token, 'carol-phone');
    const online = await presenceOf(carol, dave);
    expect(online[carol.user_id]).toMatchObject({ state: 'online' });
    expect(online[dave.user_id]).toMatchObject({ state: 'offline' });

    const closedAt = Date.now();
    sock.close();
    await sock.closed;
    const offline = await pollUntil(() => presenceOf(carol), (p) => p[carol.user_id]?.state === 'offline');
    expect(offline[carol.user_id].state).toBe('offline');
    expect(offline[carol.user_id].last_seen).toEqual(expect.any(Number));
    expect(offline[carol.user_id].last_seen as number).toBeGreaterThanOrEqual(closedAt - 1000);
    expect(offline[carol.user_id].last_seen as number).toBeLessThanOrEqual(Date.now());
  });

  test('online while any of several sockets is connected', async () => {
    const one = await TestSocket.connect(server.wsUrl, carol.token, 'carol-a');
    const two = await TestSocket.connect(server.wsUrl, carol.token, 'carol-b');
    one.sock.close();
    await one.sock.closed;
    await sleep(100);
    expect((await presenceOf(carol))[carol.user_id].state).toBe('online');
    two.sock.close();
    await two.sock.closed;
    const p = await pollUntil(() => presenceOf(carol), (v) => v[carol.user_id]?.state === 'offline');
    expect(p[carol.user_id].state).toBe('offline');
  });

  test('show_presence:false makes the user appear offline with last_seen null', async () => {
    const { sock } = await TestSocket.connect(server.wsUrl, dave.token, 'dave-phone');
    try {
      expect((await presenceOf(dave))[dave.user_id]).toMatchObject({ state: 'online' });
      const set = await http(url, 'PATCH', '/api/v1/me/settings', { show_presence: false }, dave.token);
      expect(set.status).toBe(200);
      expect(set.body.settings).toMatchObject({ show_presence: false });
      expect((await presenceOf(dave))[dave.user_id]).toEqual({ user_id: dave.user_id, state: 'offline', last_seen: null });
    } finally {
      sock.close();
      await sock.closed;
    }
    await sleep(50);
    expect((await presenceOf(dave))[dave.user_id]).toEqual({ user_id: dave.user_id, state: 'offline', last_seen: null });
    // Shown again: the real state and last_seen come back.
    await http(url, 'PATCH', '/api/v1/me/settings', { show_presence: true }, dave.token);
    expect((await presenceOf(dave))[dave.user_id]).toEqual({ user_id: dave.user_id, state: 'offline', last_seen: expect.any(Number) });
  });

  test('show_last_seen:false keeps online/offline but last_seen is always null', async () => {
    const set = await http(url, 'PATCH', '/api/v1/me/settings', { show_last_seen: false }, erin.token);
    expect(set.status).toBe(200);
    const { sock } = await TestSocket.connect(server.wsUrl, erin.token, 'erin-phone');
    expect((await presenceOf(erin))[erin.user_id]).toEqual({ user_id: erin.user_id, state: 'online', last_seen: null });
    sock.close();
    await sock.closed;
    const p = await pollUntil(() => presenceOf(erin), (v) => v[erin.user_id]?.state === 'offline');
    expect(p[erin.user_id]).toEqual({ user_id: erin.user_id, state: 'offline', last_seen: null });
  });

  test('unknown user ids are left out; a missing user_ids answers 400', async () => {
    const res = await get(viewer, `/presence?user_ids=u-nobody,${carol.user_id}`);
    expect(res.status).toBe(200);
    expect((res.body.presence as P[]).map((p) => p.user_id)).toEqual([carol.user_id]);
    const missing = await get(viewer, '/presence');
    expect(missing.status).toBe(400);
  });
});

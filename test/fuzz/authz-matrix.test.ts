/**
 * Issue 14, the authorization matrix: ONE table below declares, for every REST route the app
 * registers and every client frame type, the answer each role gets (allowed, or the exact
 * error code). One test per cell runs it against a live server and checks the answer, and
 * for a refusal that nothing changed (the group's log and members, every persona's
 * profile, the revoked user's account). A route or frame type without a row fails the
 * completeness tests. Outsiders get 404 `not_found`, as for an unknown conversation.
 */
import { clientFrameTypes, httpStatus, type ClientFrame, type ErrorCode } from '../../src/protocol';
import { TestSocket, authRequest, createConversation, registerUserPatiently, sleep, startTestServer, stopTestServer, type Frame, type TestServer, type TestUser } from '../e2e/harness';
import { api, readLog, type RawAnswer } from './checks';
import { registeredRoutes } from './routes';

jest.setTimeout(60_000);

const roles = ['anonymous', 'outsider', 'removed', 'member', 'admin', 'author', 'deleted', 'revoked'] as const;
type Role = (typeof roles)[number];
/** `ok`: the documented success; otherwise the error code (REST: its HTTP status too). */
type Outcome = 'ok' | ErrorCode;
type Expect = Record<Role, Outcome>;

const password = 'correct horse battery';
const dead = { anonymous: 'unauthorized', deleted: 'unauthorized', revoked: 'unauthorized' } as const;
/** Any signed-in user, whatever their place in the group. */
const account = (live: Outcome = 'ok'): Expect => ({ ...dead, outsider: live, removed: live, member: live, admin: live, author: live });
/** Members of the group; outsiders and former members as for an unknown conversation. */
const group = (member: Outcome = 'ok', admin: Outcome = 'ok', author: Outcome = member): Expect => ({ ...dead, outsider: 'not_found', removed: 'not_found', member, admin, author });
const everyone: Expect = { anonymous: 'ok', outsider: 'ok', removed: 'ok', member: 'ok', admin: 'ok', author: 'ok', deleted: 'ok', revoked: 'ok' };

// ---- the world every cell runs in ----

let server: TestServer;
let base: string;
/** The live users by role (tokens replaced when a cell signs one out everywhere). */
const users = {} as Record<Exclude<Role, 'anonymous'>, TestUser>;
/** A token of the revoked user issued after the revocation: it counts, to see that nothing changed. */
let revokedFresh: string;
let G: string;
let attachmentId: string;
let cellNo = 0;

async function login(user: TestUser, deviceId?: string): Promise<string> {
  const res = await authRequest(base, '/auth/login', { username: user.username, password, device_id: deviceId });
  if (res.status !== 200 || !res.body.token) throw new Error(`login ${user.username}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

async function ok(res: Promise<RawAnswer>, what: string): Promise<RawAnswer> {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${r.text}`);
  return r;
}

/** A new message of `by` in the group; its seq. */
async function message(by: Exclude<Role, 'anonymous'>): Promise<number> {
  const r = await ok(api(base, 'POST', `/api/v1/conversations/${G}/messages`, { token: users[by].token, body: { client_msg_id: `authz-${++cellNo}`, body: `target ${cellNo}` } }), 'message');
  return (r.json as { seq: number }).seq;
}

/** A new user in the group (added by its admin): the target of member changes. */
async function newMember(): Promise<TestUser> {
  const u = await registerUserPatiently(base);
  await ok(api(base, 'POST', `/api/v1/conversations/${G}/members`, { token: users.admin.token, body: { user_ids: [u.user_id] } }), 'add');
  return u;
}

/** A new user in `role`'s place, for cells that use their account up (deleting it). */
async function freshPersona(role: Role): Promise<TestUser> {
  const u = await registerUserPatiently(base);
  if (role === 'member' || role === 'author' || role === 'removed') {
    await ok(api(base, 'POST', `/api/v1/conversations/${G}/members`, { token: users.admin.token, body: { user_ids: [u.user_id] } }), 'add');
  }
  if (role === 'author') await ok(api(base, 'POST', `/api/v1/conversations/${G}/messages`, { token: u.token, body: { client_msg_id: `fresh-${++cellNo}`, body: 'mine' } }), 'send');
  if (role === 'removed') await ok(api(base, 'DELETE', `/api/v1/conversations/${G}/members/${u.user_id}`, { token: users.admin.token }), 'remove');
  if (role === 'admin') await createConversation(base, u, 'group', [users.member], 'fresh admin');
  return u;
}

/** The token a role calls with: none, a dead one (deleted, revoked), or the user's. */
function tokenOf(role: Role): string | undefined {
  return role === 'anonymous' ? undefined : users[role].token;
}

/** Everything a refused call must leave as it was. */
async function snapshot(): Promise<string> {
  const ids = Object.values(users).map((u) => u.user_id).join(',');
  const [log, details, profiles, revokedMe] = await Promise.all([
    readLog(base, users.admin.token, G),
    api(base, 'GET', `/api/v1/conversations/${G}`, { token: users.admin.token }),
    api(base, 'GET', `/api/v1/users?user_ids=${ids}`, { token: users.admin.token }),
    api(base, 'GET', '/api/v1/me', { token: revokedFresh }),
  ]);
  return JSON.stringify({ log, details: details.json, profiles: profiles.json, revokedMe: [revokedMe.status, revokedMe.json] });
}

// ---- the table ----

interface Call {
  method: string;
  path: string;
  body?: unknown;
  /** The token to call with, when not the role's (a fresh device, a fresh persona). */
  token?: string | null;
  /** Checks the effect of an allowed call. */
  effect?: (res: RawAnswer) => Promise<void>;
}

interface RestRow {
  expect: Expect;
  call: (role: Role) => Promise<Call>;
}

/** For live roles, a token of a new device of theirs: signing it out leaves the role's own token alone. */
const deviceToken = async (role: Role): Promise<string | null> => (role === 'anonymous' || role === 'deleted' || role === 'revoked' ? null : login(users[role], `authz-device-${++cellNo}`));
const live = (role: Role): role is 'outsider' | 'removed' | 'member' | 'admin' | 'author' => !(role in dead);

const restRows: Record<string, RestRow> = {
  'GET /healthz': { expect: everyone, call: async () => ({ method: 'GET', path: '/healthz' }) },
  'GET /readyz': { expect: everyone, call: async () => ({ method: 'GET', path: '/readyz' }) },
  'GET /metrics': { expect: everyone, call: async () => ({ method: 'GET', path: '/metrics' }) },
  'POST /api/v1/auth/register': { expect: everyone, call: async () => ({ method: 'POST', path: '/api/v1/auth/register', body: { username: `authz${process.pid}r${++cellNo}`, password } }) },
  'POST /api/v1/auth/login': {
    // With the role's own name and password (anonymous: the outsider's); a deleted account has none.
    expect: { ...everyone, deleted: 'unauthorized' },
    call: async (role) => ({ method: 'POST', path: '/api/v1/auth/login', body: { username: users[role === 'anonymous' ? 'outsider' : role].username, password } }),
  },
  'GET /api/v1/users': { expect: account(), call: async () => ({ method: 'GET', path: `/api/v1/users?username=${users.admin.username}` }) },
  'GET /api/v1/users/search': { expect: account(), call: async () => ({ method: 'GET', path: `/api/v1/users/search?q=${users.admin.username.slice(0, 4)}` }) },
  'GET /api/v1/me': { expect: account(), call: async () => ({ method: 'GET', path: '/api/v1/me' }) },
  'PATCH /api/v1/me': { expect: account(), call: async (role) => ({ method: 'PATCH', path: '/api/v1/me', body: { display_name: `Authz ${role}` } }) },
  'PATCH /api/v1/me/settings': { expect: account(), call: async () => ({ method: 'PATCH', path: '/api/v1/me/settings', body: { push_previews: true } }) },
  'GET /api/v1/presence': { expect: account(), call: async () => ({ method: 'GET', path: `/api/v1/presence?user_ids=${users.admin.user_id}` }) },
  'POST /api/v1/auth/logout': {
    expect: account(),
    call: async (role) => {
      const token = await deviceToken(role);
      return { method: 'POST', path: '/api/v1/auth/logout', body: {}, token, effect: async () => expect((await api(base, 'GET', '/api/v1/me', { token: token ?? '' })).status).toBe(401) };
    },
  },
  'POST /api/v1/auth/logout-all': {
    expect: account(),
    call: async (role) => ({
      method: 'POST',
      path: '/api/v1/auth/logout-all',
      effect: async () => {
        if (!live(role)) return;
        const old = users[role].token;
        expect((await api(base, 'GET', '/api/v1/me', { token: old })).status).toBe(401);
        users[role] = { ...users[role], token: await login(users[role]) };
      },
    }),
  },
  'DELETE /api/v1/me/devices/:device_id': { expect: account(), call: async () => ({ method: 'DELETE', path: `/api/v1/me/devices/authz-gone-${++cellNo}` }) },
  'DELETE /api/v1/me': {
    expect: account(),
    call: async (role) => {
      if (!live(role)) return { method: 'DELETE', path: '/api/v1/me', body: { password } };
      const persona = await freshPersona(role);
      return {
        method: 'DELETE',
        path: '/api/v1/me',
        body: { password },
        token: persona.token,
        effect: async () => {
          const seen = await api(base, 'GET', `/api/v1/users?user_ids=${persona.user_id}`, { token: users.admin.token });
          expect((seen.json as { users: { deleted?: boolean }[] }).users[0].deleted).toBe(true);
        },
      };
    },
  },
  'POST /api/v1/conversations': { expect: account(), call: async () => ({ method: 'POST', path: '/api/v1/conversations', body: { type: 'group', member_ids: [users.member.user_id], title: 'anyone may start one' } }) },
  'GET /api/v1/conversations': { expect: account(), call: async () => ({ method: 'GET', path: '/api/v1/conversations' }) },
  'GET /api/v1/conversations/:id': { expect: group(), call: async () => ({ method: 'GET', path: `/api/v1/conversations/${G}` }) },
  'POST /api/v1/conversations/:id/members': {
    expect: group('forbidden'),
    call: async () => {
      const target = await registerUserPatiently(base);
      return { method: 'POST', path: `/api/v1/conversations/${G}/members`, body: { user_ids: [target.user_id] } };
    },
  },
  'DELETE /api/v1/conversations/:id/members/:userId': {
    expect: group('forbidden'),
    call: async () => ({ method: 'DELETE', path: `/api/v1/conversations/${G}/members/${(await newMember()).user_id}` }),
  },
  'GET /api/v1/conversations/:id/messages': { expect: group(), call: async () => ({ method: 'GET', path: `/api/v1/conversations/${G}/messages` }) },
  'GET /api/v1/conversations/:id/events': { expect: group(), call: async () => ({ method: 'GET', path: `/api/v1/conversations/${G}/events?after=0` }) },
  'GET /api/v1/conversations/:id/threads/:seq': { expect: group(), call: async () => ({ method: 'GET', path: `/api/v1/conversations/${G}/threads/${await message('author')}` }) },
  'POST /api/v1/conversations/:id/messages': { expect: group(), call: async () => ({ method: 'POST', path: `/api/v1/conversations/${G}/messages`, body: { client_msg_id: `authz-${++cellNo}`, body: 'hello' } }) },
  'POST /api/v1/conversations/:id/messages/:seq/reactions': {
    expect: group(),
    call: async () => ({ method: 'POST', path: `/api/v1/conversations/${G}/messages/${await message('author')}/reactions`, body: { client_msg_id: `authz-${++cellNo}`, emoji: '👍' } }),
  },
  'PATCH /api/v1/conversations/:id/messages/:seq': {
    // Own messages only: an admin may unsend others' messages, not rewrite them.
    expect: group('forbidden', 'forbidden', 'ok'),
    call: async () => ({ method: 'PATCH', path: `/api/v1/conversations/${G}/messages/${await message('author')}`, body: { client_msg_id: `authz-${++cellNo}`, body: 'edited' } }),
  },
  'DELETE /api/v1/conversations/:id/messages/:seq': {
    expect: group('forbidden', 'ok', 'ok'),
    call: async () => ({ method: 'DELETE', path: `/api/v1/conversations/${G}/messages/${await message('author')}`, body: { client_msg_id: `authz-${++cellNo}` } }),
  },
  'PUT /api/v1/conversations/:id/mute': { expect: group(), call: async () => ({ method: 'PUT', path: `/api/v1/conversations/${G}/mute`, body: { until: -1 } }) },
  'POST /api/v1/conversations/:id/unread': { expect: group(), call: async () => ({ method: 'POST', path: `/api/v1/conversations/${G}/unread` }) },
  'POST /api/v1/conversations/:id/read': { expect: group(), call: async () => ({ method: 'POST', path: `/api/v1/conversations/${G}/read`, body: { seq: await message('admin') } }) },
  'POST /api/v1/attachments': {
    expect: account(),
    call: async () => ({ method: 'POST', path: '/api/v1/attachments', body: { name: 'a.txt', content_type: 'text/plain', size: 1, sha256: 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb' } }),
  },
  // The attachment acted on was uploaded by the author and sent in the group.
  'POST /api/v1/attachments/:id/complete': { expect: group('not_found', 'not_found', 'ok'), call: async () => ({ method: 'POST', path: `/api/v1/attachments/${attachmentId}/complete` }) },
  'GET /api/v1/attachments/:id': { expect: group(), call: async () => ({ method: 'GET', path: `/api/v1/attachments/${attachmentId}` }) },
  'GET /api/v1/attachments/:id/url': { expect: group(), call: async () => ({ method: 'GET', path: `/api/v1/attachments/${attachmentId}/url` }) },
  // Web Push is on (VAPID keys made at start), FCM is not: signed-in users get past the token to these answers.
  'GET /api/v1/push/vapid-key': { expect: account(), call: async () => ({ method: 'GET', path: '/api/v1/push/vapid-key' }) },
  'GET /api/v1/push/devices': { expect: account(), call: async () => ({ method: 'GET', path: '/api/v1/push/devices' }) },
  'PUT /api/v1/push/devices/:device_id': { expect: account('bad_request'), call: async () => ({ method: 'PUT', path: '/api/v1/push/devices/authz-dev', body: { platform: 'android', fcm_token: 'token-123' } }) },
  'DELETE /api/v1/push/devices/:device_id': { expect: account('not_found'), call: async () => ({ method: 'DELETE', path: '/api/v1/push/devices/authz-dev' }) },
  'GET /api/v1/push/dead-letters': { expect: account(), call: async () => ({ method: 'GET', path: '/api/v1/push/dead-letters' }) },
};

interface FrameRow {
  expect: Expect;
  /** The frame, built for this role (fresh targets made first). */
  frame: (role: Role) => Promise<Record<string, unknown>>;
  /** The answer that says it was done; for frames answered by nothing, `effect` checks instead. */
  done?: (f: Frame, frame: Record<string, unknown>) => boolean;
  effect?: (role: Role, frame: Record<string, unknown>) => Promise<void>;
}

/** Someone in the group other than `role`, who sends what `role` then marks or sees typed. */
const other = (role: Role): 'admin' | 'member' => (role === 'admin' ? 'member' : 'admin');

/** Waits until `role`'s marker of the group reaches `seq` (read_seq or delivered_seq). */
async function markerReaches(role: Role, field: 'read_seq' | 'delivered_seq', seq: number): Promise<void> {
  const id = users[role as Exclude<Role, 'anonymous'>].user_id;
  for (let i = 0; i < 200; i++) {
    const d = await api(base, 'GET', `/api/v1/conversations/${G}`, { token: users.admin.token });
    const m = (d.json as { members: { user_id: string; read_seq: number | null; delivered_seq: number }[] }).members.find((x) => x.user_id === id);
    if (m !== undefined && (m[field] ?? 0) >= seq) return;
    await sleep(50);
  }
  throw new Error(`${role}'s ${field} never reached ${seq}`);
}

/** Frames: without a session, a frame that is not CONNECT is a protocol error (`bad_request`, then 4002). */
const session = (e: Expect): Expect => ({ ...e, anonymous: 'bad_request' });

const acked = (f: Frame, frame: Record<string, unknown>) => f.type === 'ACK' && f.client_msg_id === frame.client_msg_id;
const cmid = () => `authz-${++cellNo}`;

const frameRows: Record<ClientFrame['type'], FrameRow> = {
  CONNECT: { expect: { ...account(), anonymous: 'unauthorized' }, frame: async () => ({ type: 'CONNECT' }), done: (f) => f.type === 'CONNACK' },
  SEND: { expect: session(group()), frame: async () => ({ type: 'SEND', client_msg_id: cmid(), conv_id: G, body: 'hi' }), done: acked },
  REACT: { expect: session(group()), frame: async () => ({ type: 'REACT', client_msg_id: cmid(), conv_id: G, target_seq: await message('author'), emoji: '👍' }), done: acked },
  EDIT: { expect: session(group('forbidden', 'forbidden', 'ok')), frame: async () => ({ type: 'EDIT', client_msg_id: cmid(), conv_id: G, target_seq: await message('author'), body: 'edited' }), done: acked },
  DELETE: { expect: session(group('forbidden', 'ok', 'ok')), frame: async () => ({ type: 'DELETE', client_msg_id: cmid(), conv_id: G, target_seq: await message('author') }), done: acked },
  MUTE: { expect: session(group()), frame: async () => ({ type: 'MUTE', conv_id: G, until: null }), done: (f) => f.type === 'MUTE_SYNC' && f.conv_id === G },
  MARK_UNREAD: { expect: session(group()), frame: async () => ({ type: 'MARK_UNREAD', conv_id: G }), done: (f) => f.type === 'READ_SYNC' && f.conv_id === G && f.marked_unread === true },
  DELIVERED: {
    expect: session(group()),
    frame: async (role) => ({ type: 'DELIVERED', conv_id: G, seq: await message(live(role) ? other(role) : 'admin') }),
    effect: (role, frame) => markerReaches(role, 'delivered_seq', frame.seq as number),
  },
  READ: {
    expect: session(group()),
    frame: async (role) => ({ type: 'READ', conv_id: G, seq: await message(live(role) ? other(role) : 'admin') }),
    effect: (role, frame) => markerReaches(role, 'read_seq', frame.seq as number),
  },
  TYPING: {
    expect: session(group()),
    frame: async () => ({ type: 'TYPING', conv_id: G, state: 'started' }),
    // Checked by an observer: see frameCell.
  },
  PRESENCE_SUB: { expect: session(account()), frame: async () => ({ type: 'PRESENCE_SUB', user_ids: [users.admin.user_id] }), done: (f) => f.type === 'PRESENCE' && f.user_id === users.admin.user_id },
  PING: { expect: session(account()), frame: async () => ({ type: 'PING' }), done: (f) => f.type === 'PONG' },
};

// ---- running one cell ----

async function restCell(route: string, role: Role): Promise<void> {
  const row = restRows[route];
  const want = row.expect[role];
  const call = await row.call(role);
  const token = call.token === undefined ? tokenOf(role) : (call.token ?? tokenOf(role));
  const before = want === 'ok' ? null : await snapshot();
  let res = await api(base, call.method, call.path, { body: call.body, token });
  // Every client here is 127.0.0.1: the per-address register and login limits are not what this cell tests.
  for (let waited = 0; res.status === 429 && route.startsWith('POST /api/v1/auth/') && waited < 20_000; waited += 250) {
    await sleep(250);
    res = await api(base, call.method, call.path, { body: call.body, token });
  }
  if (want === 'ok') {
    expect({ route, role, status: res.status < 300 ? 'ok' : res.status, body: res.status < 300 ? null : res.text }).toEqual({ route, role, status: 'ok', body: null });
    await call.effect?.(res);
  } else {
    expect({ route, role, status: res.status, code: (res.json as { error?: { code?: string } } | null)?.error?.code }).toEqual({ route, role, status: httpStatus[want], code: want });
    expect(await snapshot()).toEqual(before);
  }
}

async function frameCell(type: ClientFrame['type'], role: Role): Promise<void> {
  const row = frameRows[type];
  const want = row.expect[role];
  const frame = await row.frame(role);
  const device = `authz-${++cellNo}`;
  if (!live(role)) {
    // No session can be had: the frame goes first (anonymous) or right behind a CONNECT whose
    // token no longer counts, and is refused with the session.
    const sock = await TestSocket.open(server.wsUrl, {}, 'websocket');
    const before = await snapshot();
    if (type === 'CONNECT') sock.send({ type: 'CONNECT', token: role === 'anonymous' ? 'not-a-token' : tokenOf(role), device_id: device });
    else {
      if (role !== 'anonymous') sock.send({ type: 'CONNECT', token: tokenOf(role), device_id: device });
      sock.send(frame);
    }
    const code = await sock.closed;
    const error = sock.frames.find((f) => f.type === 'ERROR');
    expect({ type, role, code: error?.code, close: code }).toEqual({ type, role, code: want, close: want === 'unauthorized' ? 4001 : 4002 });
    expect(sock.frames.filter((f) => f.type !== 'ERROR')).toEqual([]);
    expect(await snapshot()).toEqual(before);
    return;
  }
  const { sock } = await TestSocket.connect(server.wsUrl, users[role].token, device, undefined, 'websocket');
  let observer: TestSocket | null = null;
  try {
    if (type === 'CONNECT') {
      // The CONNECT was the cell; a second one on the session is a protocol error, not a permission.
      expect(want).toBe('ok');
      return;
    }
    if (type === 'TYPING' && want === 'ok') observer = (await TestSocket.connect(server.wsUrl, users[other(role)].token, `${device}-obs`, undefined, 'websocket')).sock;
    const before = want === 'ok' ? null : await snapshot();
    sock.send(frame);
    if (want === 'ok') {
      if (row.done) await sock.next((f) => row.done!(f, frame) || f.type === 'ERROR', 10_000).then((f) => expect({ type, role, got: f.type === 'ERROR' ? f.code : 'ok' }).toEqual({ type, role, got: 'ok' }));
      if (row.effect) await row.effect(role, frame);
      if (observer) await observer.next((f) => f.type === 'TYPING' && f.user_id === users[role].user_id && f.conv_id === G, 10_000);
      expect(sock.frames.filter((f) => f.type === 'ERROR')).toEqual([]);
    } else {
      const ref = typeof frame.client_msg_id === 'string' ? frame.client_msg_id : null;
      const err = await sock.next((f) => f.type === 'ERROR' && f.ref === ref, 10_000);
      expect({ type, role, code: err.code }).toEqual({ type, role, code: want });
      expect(await snapshot()).toEqual(before);
    }
  } finally {
    sock.close();
    observer?.close();
  }
}

// ---- the world, then one test per cell ----

beforeAll(async () => {
  server = await startTestServer({ LINK_PREVIEWS: 'off' });
  base = server.url;
  for (const role of ['admin', 'member', 'author', 'removed', 'outsider', 'deleted', 'revoked'] as const) users[role] = await registerUserPatiently(base);
  G = await createConversation(base, users.admin, 'group', [users.member, users.author, users.removed, users.deleted, users.revoked], 'authz');
  await message('author');
  await ok(api(base, 'DELETE', `/api/v1/conversations/${G}/members/${users.removed.user_id}`, { token: users.admin.token }), 'remove');
  // The author's file, sent in the group: the attachment the attachment rows act on.
  const bytes = Buffer.from('a file for the matrix\n');
  const { createHash } = await import('node:crypto');
  const slot = await ok(api(base, 'POST', '/api/v1/attachments', { token: users.author.token, body: { name: 'm.txt', content_type: 'text/plain', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') } }), 'slot');
  const s = slot.json as { attachment_id: string; upload_url: string; upload_headers: Record<string, string> };
  const put = await fetch(s.upload_url, { method: 'PUT', headers: s.upload_headers, body: new Uint8Array(bytes) });
  expect(put.status).toBe(200);
  await ok(api(base, 'POST', `/api/v1/attachments/${s.attachment_id}/complete`, { token: users.author.token }), 'complete');
  attachmentId = s.attachment_id;
  await ok(api(base, 'POST', `/api/v1/conversations/${G}/messages`, { token: users.author.token, body: { client_msg_id: 'authz-file', body: '', attachments: [attachmentId] } }), 'send file');
  await ok(api(base, 'DELETE', '/api/v1/me', { token: users.deleted.token, body: { password } }), 'delete account');
  await ok(api(base, 'POST', '/api/v1/auth/logout-all', { token: users.revoked.token }), 'logout-all');
  revokedFresh = await login(users.revoked);
});
afterAll(async () => {
  if (server) await stopTestServer(server);
});

const restCells = Object.keys(restRows).flatMap((route) => roles.map((role) => [route, role] as [string, Role]));
const frameCells = clientFrameTypes.flatMap((type) => roles.map((role) => [type, role] as [ClientFrame['type'], Role]));

describe('the table is complete', () => {
  test('one row per route the app registers, and no other', () => {
    expect(Object.keys(restRows).sort()).toEqual(registeredRoutes());
  });
  test('one row per client frame type, and no other', () => {
    expect(Object.keys(frameRows).sort()).toEqual([...clientFrameTypes].sort());
  });
  test('every row names every role', () => {
    for (const row of [...Object.values(restRows), ...Object.values(frameRows)]) expect(Object.keys(row.expect).sort()).toEqual([...roles].sort());
    console.log('authz matrix', { cells: restCells.length + frameCells.length, rest: restCells.length, frames: frameCells.length, roles: roles.length });
  });
});

describe('REST', () => {
  test.each(restCells)('%s as %s', (route, role) => restCell(route, role));
});

describe('frames', () => {
  test.each(frameCells)('%s as %s', (type, role) => frameCell(type, role));
});

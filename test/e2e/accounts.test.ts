/**
 * Accounts end to end: a token counts only while its account exists and its user has not
 * signed it out, on every REST route and on the WebSocket, long-poll or MQTT session (CONNECT,
 * then every frame); sign-out everywhere, removing one device, deleting the account.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  TestSocket,
  authRequest,
  createConversation,
  http,
  registerUserPatiently,
  sleep,
  startTestServer,
  stopTestServer,
  transport,
  type Frame,
  type TestServer,
  type TestUser,
} from './harness';

/** Short, so the tests that go around the bus (the store changed underneath) wait little. */
const cacheTtlMs = 300;

let server: TestServer;
beforeAll(async () => {
  // Push endpoints on this machine are allowed, so devices can register (nothing is pushed to them here).
  server = await startTestServer({ AUTH_CACHE_TTL_MS: String(cacheTtlMs), PUSH_ALLOW: '127.0.0.1/32' });
});
afterAll(() => stopTestServer(server));

/** Removes a user's row behind the server's back: the store changes, no bus message says so. */
function removeUserRow(userId: string): void {
  const db = new Database(join(server.dataDir, 'chat.db'), { fileMustExist: true });
  try {
    db.prepare('DELETE FROM users WHERE user_id = ?').run(userId);
  } finally {
    db.close();
  }
}

/** Authenticated routes of every kind: reads, sends, creating conversations, lookups, push, uploads. */
function routes(convId: string, peer: TestUser): [method: string, path: string, body?: unknown][] {
  return [
    ['GET', '/api/v1/conversations'],
    ['POST', '/api/v1/conversations', { type: 'direct', member_ids: [peer.user_id] }],
    ['GET', `/api/v1/conversations/${convId}`],
    ['GET', `/api/v1/conversations/${convId}/messages`],
    ['POST', `/api/v1/conversations/${convId}/messages`, { client_msg_id: `m-${Date.now()}`, body: 'still here?' }],
    ['POST', `/api/v1/conversations/${convId}/read`, { seq: 1 }],
    ['GET', `/api/v1/users?username=${peer.username}`],
    ['GET', '/api/v1/push/devices'],
    ['POST', '/api/v1/attachments', { name: 'a.txt', content_type: 'text/plain', size: 1, sha256: '0'.repeat(64) }],
    ['GET', '/api/v1/me'],
  ];
}

async function expectRefused(user: TestUser, convId: string, peer: TestUser): Promise<void> {
  for (const [method, path, body] of routes(convId, peer)) {
    const res = await http(server.url, method, path, body, user.token);
    expect({ method, path, status: res.status, code: res.body.error?.code }).toEqual({ method, path, status: 401, code: 'unauthorized' });
  }
}

/** Opens a session with CONNECT and waits for it to be closed; returns the close code and the frames before it. */
async function connectRefused(token: string, deviceId: string): Promise<{ code: number; frames: Frame[] }> {
  const sock = await TestSocket.open(server.wsUrl);
  sock.send({ type: 'CONNECT', token, device_id: deviceId });
  const code = await Promise.race([sock.closed, sleep(5000).then(() => -1)]);
  if (code === -1) sock.close();
  return { code, frames: sock.frames };
}

describe('a token whose account no longer exists', () => {
  test('is refused on every REST route and on CONNECT, also right after being used', async () => {
    const bob = await registerUserPatiently(server.url);
    const carol = await registerUserPatiently(server.url);
    const convId = await createConversation(server.url, carol, 'direct', [bob]);
    // Bob's token works, so this shard has his state cached.
    for (const [method, path, body] of routes(convId, carol)) {
      const res = await http(server.url, method, path, body, bob.token);
      expect({ method, path, status: res.status }).not.toEqual({ method, path, status: 401 });
    }
    removeUserRow(bob.user_id);
    // The cache trusts what it read for at most its TTL: the store is the truth after that.
    await sleep(cacheTtlMs + 50);
    await expectRefused(bob, convId, carol);
    const { code, frames } = await connectRefused(bob.token, 'dev-b');
    expect(code).toBe(4001);
    expect(frames.find((f) => f.type === 'CONNACK')).toBeUndefined();
    // Over MQTT the refusal is the MQTT CONNACK (bad user name or password): no session, no frame.
    if (transport === 'mqtt') expect(frames).toEqual([]);
    else expect(frames.find((f) => f.type === 'ERROR')).toMatchObject({ code: 'unauthorized' });
  });

  test('ends a session that was open: its next frame is answered ERROR unauthorized, then 4001', async () => {
    const dave = await registerUserPatiently(server.url);
    const erin = await registerUserPatiently(server.url);
    const convId = await createConversation(server.url, erin, 'direct', [dave]);
    const { sock } = await TestSocket.connect(server.wsUrl, dave.token, 'dev-d');
    expect(await sock.sendMessage(convId, 'before', 'm-before')).toMatchObject({ type: 'ACK' });
    removeUserRow(dave.user_id);
    await sleep(cacheTtlMs + 50);
    sock.send({ type: 'SEND', client_msg_id: 'm-after', conv_id: convId, body: 'after' });
    expect(await sock.closed).toBe(4001);
    expect(sock.frames.find((f) => f.type === 'ACK')).toBeUndefined();
    expect(sock.frames.find((f) => f.type === 'ERROR')).toMatchObject({ code: 'unauthorized' });
    // Nothing was stored: the conversation holds only the message before.
    const history = await http(server.url, 'GET', `/api/v1/conversations/${convId}/messages`, undefined, erin.token);
    expect(history.body.messages.map((m: { body: string }) => m.body)).toEqual(['before']);
  });
});

// ---- signing out and deleting ----

const password = 'correct horse battery';

/** Signs in as `deviceId`: a token naming that device. */
async function login(user: TestUser, deviceId: string): Promise<TestUser & { device_id: string }> {
  const res = await authRequest(server.url, '/auth/login', { username: user.username, password, device_id: deviceId });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ user_id: user.user_id, device_id: deviceId, token: expect.any(String) });
  return { ...user, token: res.body.token as string, device_id: deviceId };
}

/** A Web Push subscription with real key shapes; its endpoint is never called by these tests. */
function subscription(device: string) {
  const p256dh = createECDH('prime256v1');
  p256dh.generateKeys();
  return {
    endpoint: `https://127.0.0.1:9/push/${device}`,
    keys: { p256dh: p256dh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

async function registerPush(user: TestUser, device: string): Promise<void> {
  const res = await http(server.url, 'PUT', `/api/v1/push/devices/${device}`, { platform: 'web', webpush: subscription(device) }, user.token);
  expect(res.status).toBe(201);
}

async function pushDevices(user: TestUser): Promise<string[]> {
  const res = await http(server.url, 'GET', '/api/v1/push/devices', undefined, user.token);
  expect(res.status).toBe(200);
  return (res.body.devices as { device_id: string }[]).map((d) => d.device_id).sort();
}

/** The session is answered ERROR unauthorized, then closed with 4001, without the test sending anything. */
async function expectSignedOut(sock: TestSocket, message: string): Promise<void> {
  const code = await Promise.race([sock.closed, sleep(3000).then(() => -1)]);
  expect(code).toBe(4001);
  expect(sock.frames.filter((f) => f.type === 'ERROR')).toEqual([{ type: 'ERROR', code: 'unauthorized', message, ref: null }]);
}

const status = async (user: TestUser, path = '/api/v1/conversations') => (await http(server.url, 'GET', path, undefined, user.token)).status;

describe('sign out everywhere', () => {
  test('ends the live WebSocket and long-poll sessions at once, refuses the old tokens, and a fresh login works', async () => {
    const frank = await registerUserPatiently(server.url);
    const laptop = await login(frank, 'laptop');
    const phone = await login(frank, 'phone');
    const other = await registerUserPatiently(server.url);
    const convId = await createConversation(server.url, other, 'direct', [frank]);
    await registerPush(phone, 'phone');
    const ws = (await TestSocket.connect(server.wsUrl, laptop.token, 'laptop', undefined, 'websocket')).sock;
    const lp = (await TestSocket.connect(server.wsUrl, phone.token, 'phone', undefined, 'longpoll')).sock;
    const bystander = (await TestSocket.connect(server.wsUrl, other.token, 'other-dev')).sock;

    const res = await http(server.url, 'POST', '/api/v1/auth/logout-all', undefined, laptop.token);
    expect(res.status).toBe(204);
    // No TTL to wait for: the announcement closes them (well within the cache's TTL).
    await Promise.all([expectSignedOut(ws, 'signed out'), expectSignedOut(lp, 'signed out')]);

    for (const token of [laptop.token, phone.token, frank.token]) {
      expect(await status({ ...frank, token })).toBe(401);
      expect(await connectRefused(token, 'laptop')).toMatchObject({ code: 4001 });
    }
    // Signed-out devices are pushed nothing more.
    const fresh = await login(frank, 'laptop');
    expect(await pushDevices(fresh)).toEqual([]);
    // A fresh login counts at once, on REST and on a session.
    expect(await status(fresh)).toBe(200);
    const again = await TestSocket.connect(server.wsUrl, fresh.token, 'laptop');
    expect(await again.sock.sendMessage(convId, 'back', 'm-back')).toMatchObject({ type: 'ACK' });
    again.sock.close();
    // Other users are not touched.
    expect(await bystander.sendMessage(convId, 'still here', 'm-other')).toMatchObject({ type: 'ACK' });
    bystander.close();
  });
});

describe('signing one device out', () => {
  test('removing a device ends its session and push registration only; it may sign in again', async () => {
    const gina = await registerUserPatiently(server.url);
    const laptop = await login(gina, 'laptop');
    const phone = await login(gina, 'phone');
    const peer = await registerUserPatiently(server.url);
    const convId = await createConversation(server.url, peer, 'direct', [gina]);
    await registerPush(laptop, 'laptop');
    await registerPush(phone, 'phone');
    const phoneSock = (await TestSocket.connect(server.wsUrl, phone.token, 'phone')).sock;
    const laptopSock = (await TestSocket.connect(server.wsUrl, laptop.token, 'laptop')).sock;

    expect((await http(server.url, 'DELETE', '/api/v1/me/devices/phone', undefined, laptop.token)).status).toBe(204);
    await expectSignedOut(phoneSock, 'signed out');
    expect(await status(phone)).toBe(401);
    // The laptop goes on: its session, its token, its push registration.
    expect(await laptopSock.sendMessage(convId, 'still on', 'm-laptop')).toMatchObject({ type: 'ACK' });
    expect(laptopSock.closeCode).toBeNull();
    expect(await status(laptop)).toBe(200);
    expect(await pushDevices(laptop)).toEqual(['laptop']);
    // The laptop's token cannot come back as the phone (it was issued before the phone's sign-out)...
    expect(await connectRefused(laptop.token, 'phone')).toMatchObject({ code: 4001 });
    // ...but the phone signing in again counts.
    const phoneAgain = await login(gina, 'phone');
    expect(await status(phoneAgain)).toBe(200);
    const back = await TestSocket.connect(server.wsUrl, phoneAgain.token, 'phone');
    expect(back.connack.device_id).toBe('phone');
    back.sock.close();
    laptopSock.close();
  });

  test('POST /auth/logout signs out the device the token names, or the one given', async () => {
    const hugo = await registerUserPatiently(server.url);
    const tablet = await login(hugo, 'tablet');
    const desk = await login(hugo, 'desk');
    const tabletSock = (await TestSocket.connect(server.wsUrl, tablet.token, 'tablet', undefined, 'longpoll')).sock;
    expect((await http(server.url, 'POST', '/api/v1/auth/logout', undefined, tablet.token)).status).toBe(204);
    await expectSignedOut(tabletSock, 'signed out');
    expect(await status(tablet)).toBe(401);
    expect(await status(desk)).toBe(200);
    // A token naming no device (issued before devices were named) must say which.
    const legacy = { ...hugo, token: server.tokens.issue(hugo.user_id) };
    expect((await http(server.url, 'POST', '/api/v1/auth/logout', {}, legacy.token)).status).toBe(400);
    expect((await http(server.url, 'POST', '/api/v1/auth/logout', { device_id: 'desk' }, legacy.token)).status).toBe(204);
    expect(await status(desk)).toBe(401);
    expect(await status(legacy)).toBe(200); // it named no device, and was not used as the desk
  });
});

describe('deleting the account', () => {
  test('asks for the password; ends the sessions; keeps the messages others received, signed "Deleted user"; leaves groups; reserves the username', async () => {
    const ivan = await registerUserPatiently(server.url);
    const phone = await login(ivan, 'phone');
    const jill = await registerUserPatiently(server.url);
    const kim = await registerUserPatiently(server.url);
    const direct = await createConversation(server.url, jill, 'direct', [ivan]);
    const group = await createConversation(server.url, jill, 'group', [ivan, kim], 'trio');
    await registerPush(phone, 'phone');
    const ivanSock = (await TestSocket.connect(server.wsUrl, phone.token, 'phone')).sock;
    expect(await ivanSock.sendMessage(direct, 'hi jill', 'i-1')).toMatchObject({ type: 'ACK' });
    expect(await ivanSock.sendMessage(group, 'hi all', 'i-2')).toMatchObject({ type: 'ACK' });
    const jillSock = (await TestSocket.connect(server.wsUrl, jill.token, 'jill-dev')).sock;
    jillSock.send({ type: 'PRESENCE_SUB', user_ids: [ivan.user_id] });
    expect(await jillSock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: ivan.user_id, state: 'online' });

    // A token alone is not enough.
    const wrong = await http(server.url, 'DELETE', '/api/v1/me', { password: 'not the password' }, phone.token);
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('forbidden');
    expect((await http(server.url, 'DELETE', '/api/v1/me', undefined, phone.token)).status).toBe(400);
    expect(ivanSock.closeCode).toBeNull();

    expect((await http(server.url, 'DELETE', '/api/v1/me', { password }, phone.token)).status).toBe(204);
    await expectSignedOut(ivanSock, 'account deleted');
    // His subscribers see him go offline, with no last seen (a deleted account shows none).
    expect(await jillSock.next((f) => f.type === 'PRESENCE')).toEqual({ type: 'PRESENCE', user_id: ivan.user_id, state: 'offline', last_seen: null });
    await jillSock.none((f) => f.type === 'PRESENCE' && f.last_seen !== null, 200);
    for (const token of [phone.token, ivan.token]) expect(await status({ ...ivan, token })).toBe(401);
    expect(await connectRefused(phone.token, 'phone')).toMatchObject({ code: 4001 });
    expect((await authRequest(server.url, '/auth/login', { username: ivan.username, password })).status).toBe(401);

    // The group saw him leave; the direct conversation keeps both members.
    const left = await jillSock.next((f) => f.type === 'DELIVER' && f.conv_id === group && f.kind === 'member_removed');
    expect(left).toMatchObject({ sender_id: ivan.user_id, user_ids: [ivan.user_id] });
    const groupView = await http(server.url, 'GET', `/api/v1/conversations/${group}`, undefined, jill.token);
    expect(groupView.body.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([jill.user_id, kim.user_id].sort());
    const directView = await http(server.url, 'GET', `/api/v1/conversations/${direct}`, undefined, jill.token);
    expect(directView.body.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([ivan.user_id, jill.user_id].sort());

    // His messages stay where others received them, under his id; his name reads "Deleted user".
    for (const conv of [direct, group]) {
      const history = await http(server.url, 'GET', `/api/v1/conversations/${conv}/messages`, undefined, jill.token);
      expect(history.body.messages.filter((m: { sender_id: string }) => m.sender_id === ivan.user_id).map((m: { body: string }) => m.body)).toEqual([conv === direct ? 'hi jill' : 'hi all']);
    }
    const names = await http(server.url, 'GET', `/api/v1/users?user_ids=${ivan.user_id},${jill.user_id}`, undefined, jill.token);
    expect(names.body.users).toContainEqual({ user_id: ivan.user_id, username: '', display_name: 'Deleted user', deleted: true });
    expect(names.body.users).toContainEqual({ user_id: jill.user_id, username: jill.username, display_name: expect.any(String) });
    const presence = await http(server.url, 'GET', `/api/v1/presence?user_ids=${ivan.user_id}`, undefined, jill.token);
    expect(presence.body.presence).toEqual([{ user_id: ivan.user_id, state: 'offline', last_seen: null }]);

    // Nobody finds him, adds him, or starts a conversation with him.
    expect((await http(server.url, 'GET', `/api/v1/users?username=${ivan.username}`, undefined, jill.token)).body.users).toEqual([]);
    expect((await http(server.url, 'POST', '/api/v1/conversations', { type: 'group', member_ids: [ivan.user_id, kim.user_id] }, jill.token)).status).toBe(404);
    expect((await http(server.url, 'POST', `/api/v1/conversations/${group}/members`, { user_ids: [ivan.user_id] }, jill.token)).status).toBe(404);

    // His name stays his for DELETED_USERNAME_RESERVE_DAYS (30 by default): nobody can pass for him.
    const taken = await authRequest(server.url, '/auth/register', { username: ivan.username, password: 'someone else entirely' });
    expect(taken.status).toBe(409);
    jillSock.close();
  });

  test('with DELETED_USERNAME_RESERVE_DAYS=0 the username is free at once; push registrations are gone', async () => {
    const own = await startTestServer({ DELETED_USERNAME_RESERVE_DAYS: '0', PUSH_ALLOW: '127.0.0.1/32' });
    try {
      const reg = await authRequest(own.url, '/auth/register', { username: `gone${process.pid}`, password, device_id: 'only' });
      expect(reg.status).toBe(201);
      expect(reg.body.device_id).toBe('only');
      const user = { user_id: reg.body.user_id as string, username: reg.body.username as string, token: reg.body.token as string };
      const put = await http(own.url, 'PUT', '/api/v1/push/devices/only', { platform: 'web', webpush: subscription('only') }, user.token);
      expect(put.status).toBe(201);
      const db = () => new Database(join(own.dataDir, 'chat.db'), { readonly: true, fileMustExist: true });
      expect((await http(own.url, 'DELETE', '/api/v1/me', { password }, user.token)).status).toBe(204);
      const conn = db();
      try {
        expect(conn.prepare('SELECT COUNT(*) AS n FROM push_registrations WHERE user_id = ?').get(user.user_id)).toEqual({ n: 0 });
        expect(conn.prepare('SELECT password_hash, display_name FROM users WHERE user_id = ?').get(user.user_id)).toEqual({ password_hash: '', display_name: 'Deleted user' });
      } finally {
        conn.close();
      }
      const next = await authRequest(own.url, '/auth/register', { username: user.username, password: 'a new person here' });
      expect(next.status).toBe(201);
      expect(next.body.user_id).not.toBe(user.user_id);
    } finally {
      await stopTestServer(own);
    }
  });
});

describe('AUTH_CACHE_TTL_MS=0', () => {
  test('every check reads the store: frames are handled (after their check), and refused once the account is gone', async () => {
    const own = await startTestServer({ AUTH_CACHE_TTL_MS: '0' });
    const prev = server;
    server = own;
    try {
      const a = await registerUserPatiently(own.url);
      const b = await registerUserPatiently(own.url);
      const convId = await createConversation(own.url, a, 'direct', [b]);
      const { sock } = await TestSocket.connect(own.wsUrl, a.token, 'dev-a');
      for (let i = 0; i < 5; i++) expect(await sock.sendMessage(convId, `m${i}`, `ttl0-${i}`)).toMatchObject({ type: 'ACK', seq: i + 2 });
      expect(await status(a)).toBe(200);
      removeUserRow(a.user_id);
      expect(await status(a)).toBe(401); // no TTL to wait for
      sock.send({ type: 'SEND', client_msg_id: 'ttl0-x', conv_id: convId, body: 'gone' });
      expect(await sock.closed).toBe(4001);
    } finally {
      server = prev;
      await stopTestServer(own);
    }
  });
});

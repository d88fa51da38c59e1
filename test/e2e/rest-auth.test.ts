/**
 * Registration, login, password storage, bearer tokens (REST and WebSocket CONNECT) and
 * user lookup, over real HTTP against an in-process server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import jwt from 'jsonwebtoken';
import {
  TestSocket,
  authRequest,
  http,
  registerUserPatiently,
  startTestServer,
  stopTestServer,
  type TestServer,
  type TestUser,
} from './harness';

let server: TestServer;
let secret: string;
let alice: TestUser;

beforeAll(async () => {
  server = await startTestServer();
  secret = readFileSync(join(server.dataDir, 'jwt-secret'), 'utf8').trim();
  alice = await registerUserPatiently(server.url);
});
afterAll(() => stopTestServer(server));

/** A unique username for this run (the name rules allow [A-Za-z0-9_.-], 3-32 chars). */
let nameCounter = 0;
const freshName = (prefix: string) => `${prefix}${process.pid}n${++nameCounter}`;

function readUsersTable(): { username: string; password_hash: string }[] {
  const db = new Database(join(server.dataDir, 'chat.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT username, password_hash FROM users').all() as { username: string; password_hash: string }[];
  } finally {
    db.close();
  }
}

describe('register', () => {
  test('answers 201 {user_id, username, device_id, token}, and the token authenticates', async () => {
    const name = freshName('Reg_');
    const res = await authRequest(server.url, '/auth/register', { username: name, password: 'a long enough password' });
    expect(res.status).toBe(201);
    // No device named: the server names one, so this token can be signed out alone.
    expect(res.body).toEqual({ user_id: expect.any(String), username: name.toLowerCase(), device_id: expect.stringMatching(/^d_/), token: expect.any(String) });
    expect(res.body.user_id).not.toBe('');

    const me = await http(server.url, 'GET', '/api/v1/me', undefined, res.body.token);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user_id: res.body.user_id, username: name.toLowerCase() });
    expect(me.body.settings).toEqual({ show_presence: true, show_last_seen: true, send_read_receipts: true, push_previews: true, discoverable: true });
    expect(me.body).not.toHaveProperty('password_hash');
  });

  // Conflicts are recognised by SQLite's error code, not instanceof: jest gives each test
  // file its own realm while better-sqlite3 binds its error class once per process.
  test('a taken username answers 409 JSON, also when it differs only in case', async () => {
    const name = freshName('dup');
    await registerUserPatiently(server.url, name);
    for (const again of [name, name.toUpperCase(), name[0].toUpperCase() + name.slice(1)]) {
      const res = await authRequest(server.url, '/auth/register', { username: again, password: 'another password' });
      expect(res.status).toBe(409);
      expect(res.body.error).toEqual({ code: 'conflict', message: expect.any(String) });
      expect(res.body).not.toHaveProperty('token');
    }
    expect(readUsersTable().filter((u) => u.username === name.toLowerCase())).toHaveLength(1);
  });

  test('concurrent registrations of one username: exactly one 201, the others 409', async () => {
    const name = freshName('race');
    const results = await Promise.all(
      [name, name.toUpperCase(), name, name.toUpperCase()].map((username) =>
        authRequest(server.url, '/auth/register', { username, password: 'racing password' }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    expect(readUsersTable().filter((u) => u.username === name.toLowerCase())).toHaveLength(1);
  });

  test('passwords are stored as salted scrypt hashes, never in clear', async () => {
    const password = 'Tr0ub4dor&3 very secret';
    const one = freshName('hash');
    const two = freshName('hash');
    await registerUserPatiently(server.url, one, password);
    await registerUserPatiently(server.url, two, password);

    const rows = readUsersTable().filter((u) => u.username === one || u.username === two);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.password_hash.startsWith('scrypt$')).toBe(true);
      expect(row.password_hash).not.toContain(password);
      expect(row.password_hash).not.toContain(Buffer.from(password).toString('base64'));
    }
    // Salted: the same password gives different hashes.
    expect(rows[0].password_hash).not.toBe(rows[1].password_hash);
  });
});

describe('login', () => {
  const password = 'login password 123';
  let user: TestUser;
  beforeAll(async () => {
    user = await registerUserPatiently(server.url, freshName('Login'), password);
  });

  test('the right password answers 200 {user_id, token} with a working token (username case-insensitive)', async () => {
    for (const username of [user.username, user.username.toUpperCase()]) {
      const res = await authRequest(server.url, '/auth/login', { username, password });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ user_id: user.user_id, token: expect.any(String) });
      expect(res.body).not.toHaveProperty('password_hash');
      const me = await http(server.url, 'GET', '/api/v1/me', undefined, res.body.token);
      expect(me.status).toBe(200);
      expect(me.body.user_id).toBe(user.user_id);
    }
  });

  test('a wrong password answers 401 JSON', async () => {
    const res = await authRequest(server.url, '/auth/login', { username: user.username, password: password + 'x' });
    expect(res.status).toBe(401);
    expect(res.body.error).toEqual({ code: 'unauthorized', message: expect.any(String) });
    expect(res.body).not.toHaveProperty('token');
  });

  test('an unknown user answers 401 with the same message as a wrong password', async () => {
    const wrong = await authRequest(server.url, '/auth/login', { username: user.username, password: 'not it at all' });
    const unknown = await authRequest(server.url, '/auth/login', { username: freshName('nobody'), password });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error?.code).toBe('unauthorized');
    // Not telling which one was wrong keeps usernames from being probed.
    expect(unknown.body.error?.message).toBe(wrong.body.error?.message);
  });
});

// ---- bad tokens ----

const now = () => Math.floor(Date.now() / 1000);

/** Each bad credential, built lazily (the secret and alice exist only after beforeAll). */
const badTokens: [string, () => string][] = [
  ['signed with another secret', () => jwt.sign({}, 'not-the-server-secret-but-long-enough-0123456789', { algorithm: 'HS256', subject: alice.user_id, expiresIn: 3600 })],
  ['malformed (not a JWT)', () => 'not-a-jwt'],
  ['malformed (three garbage segments)', () => 'aaa.bbb.ccc'],
  ['a valid token with its signature cut off', () => jwt.sign({}, secret, { algorithm: 'HS256', subject: alice.user_id, expiresIn: 3600 }).split('.').slice(0, 2).join('.') + '.'],
  ['expired (server secret, past exp)', () => jwt.sign({ sub: alice.user_id, iat: now() - 7200, exp: now() - 3600 }, secret, { algorithm: 'HS256' })],
  ['not valid yet (nbf in the future)', () => jwt.sign({ sub: alice.user_id, nbf: now() + 3600 }, secret, { algorithm: 'HS256', expiresIn: 7200 })],
  ['alg "none"', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: alice.user_id, exp: now() + 3600 })}.`],
  ['another algorithm (HS512) with the server secret', () => jwt.sign({}, secret, { algorithm: 'HS512', subject: alice.user_id, expiresIn: 3600 })],
  ['without a subject', () => jwt.sign({ user: alice.user_id }, secret, { algorithm: 'HS256', expiresIn: 3600 })],
];

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Authenticated endpoints a bad token must not get through; the conversation id need not exist. */
const guarded: [method: string, path: string, body?: unknown][] = [
  ['GET', '/api/v1/me'],
  ['PATCH', '/api/v1/me/settings', { show_presence: true }],
  ['GET', '/api/v1/users?username=someone'],
  ['GET', '/api/v1/presence?user_ids=u1'],
  ['GET', '/api/v1/conversations'],
  ['POST', '/api/v1/conversations', { type: 'group', member_ids: ['u1'] }],
  ['GET', '/api/v1/conversations/c-x'],
  ['GET', '/api/v1/conversations/c-x/messages'],
  ['GET', '/api/v1/conversations/c-x/events'],
  ['POST', '/api/v1/conversations/c-x/messages', { client_msg_id: 'm1', body: 'hi' }],
  ['POST', '/api/v1/conversations/c-x/read', { seq: 1 }],
];

async function rawRequest(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(server.url + path, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as any };
}

async function expectUnauthorizedEverywhere(headers: Record<string, string>): Promise<void> {
  for (const [method, path, body] of guarded) {
    const res = await rawRequest(method, path, headers, body);
    expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
    expect(res.type).toMatch(/application\/json/);
    expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  }
}

describe('REST refuses bad credentials with 401 {error:{code:"unauthorized"}}', () => {
  test('control: a good token passes the same endpoints (none answers 401)', async () => {
    for (const [method, path, body] of guarded) {
      const res = await rawRequest(method, path, { authorization: `Bearer ${alice.token}` }, body);
      expect({ method, path, status: res.status }).not.toEqual({ method, path, status: 401 });
    }
  });

  test.each(badTokens)('token %s', async (_name, make) => {
    await expectUnauthorizedEverywhere({ authorization: `Bearer ${make()}` });
  });

  test('no Authorization header', async () => {
    await expectUnauthorizedEverywhere({});
  });

  test('Authorization header without a bearer token', async () => {
    await expectUnauthorizedEverywhere({ authorization: 'Bearer ' });
    await expectUnauthorizedEverywhere({ authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` });
    await expectUnauthorizedEverywhere({ authorization: alice.token });
  });

  test('a correctly signed token for a user that does not exist', async () => {
    const ghost = jwt.sign({}, secret, { algorithm: 'HS256', subject: 'u-does-not-exist', expiresIn: 3600 });
    const me = await http(server.url, 'GET', '/api/v1/me', undefined, ghost);
    expect(me.status).toBe(401);
    expect(me.body.error.code).toBe('unauthorized');
  });
});

describe('WebSocket CONNECT with a bad token is closed with 4001', () => {
  async function connectWith(token: string): Promise<TestSocket> {
    const sock = await TestSocket.open(server.wsUrl);
    sock.send({ type: 'CONNECT', token, device_id: 'dev-1' });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([sock.closed, new Promise<string>((r) => (timer = setTimeout(() => r('still open'), 3000)))]);
    clearTimeout(timer);
    if (code === 'still open') sock.close();
    expect(code).toBe(4001);
    return sock;
  }

  test('control: a good token gets CONNACK', async () => {
    const { sock, connack } = await TestSocket.connect(server.wsUrl, alice.token, 'dev-ok');
    expect(connack.user_id).toBe(alice.user_id);
    sock.close();
  });

  test.each(badTokens)('token %s', async (_name, make) => {
    const sock = await connectWith(make());
    expect(sock.frames.find((f) => f.type === 'CONNACK')).toBeUndefined();
    expect(sock.frames.find((f) => f.type === 'ERROR')).toMatchObject({ code: 'unauthorized' });
  });

  test('a correctly signed token for a user that does not exist', async () => {
    const sock = await connectWith(jwt.sign({}, secret, { algorithm: 'HS256', subject: 'u-does-not-exist', expiresIn: 3600 }));
    expect(sock.frames.find((f) => f.type === 'CONNACK')).toBeUndefined();
  });
});

describe('user lookup', () => {
  let carol: TestUser;
  beforeAll(async () => {
    carol = await registerUserPatiently(server.url, freshName('Carol'));
  });

  test('finds a user by username, case-insensitively, with only public fields', async () => {
    for (const q of [carol.username, carol.username.toUpperCase()]) {
      const res = await http(server.url, 'GET', `/api/v1/users?username=${encodeURIComponent(q)}`, undefined, alice.token);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ users: [{ user_id: carol.user_id, username: carol.username, display_name: expect.any(String) }] });
    }
  });

  test('never returns the password hash', async () => {
    const res = await fetch(`${server.url}/api/v1/users?username=${carol.username}`, { headers: { authorization: `Bearer ${alice.token}` } });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toMatch(/password|scrypt/i);
  });

  test('an unknown username answers an empty list', async () => {
    const res = await http(server.url, 'GET', `/api/v1/users?username=${freshName('ghost')}`, undefined, alice.token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ users: [] });
  });

  test('a missing username answers 400', async () => {
    const res = await http(server.url, 'GET', '/api/v1/users', undefined, alice.token);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad_request');
  });
});

describe('brute force', () => {
  test('a burst of login attempts from one address is cut off with 429 rate_limited JSON', async () => {
    const own = await startTestServer();
    try {
      const user = await registerUserPatiently(own.url, freshName('brute'));
      // Sent at once, so the limiter (checked before the slow password hash) sees them together.
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => http(own.url, 'POST', '/api/v1/auth/login', { username: user.username, password: `guess number ${i}` })),
      );
      const limited = results.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(10);
      // With a retry hint (the account's backoff, or the address's bucket).
      expect(limited[0].body).toEqual({ error: { code: 'rate_limited', message: expect.any(String), retry_after_ms: expect.any(Number) } });
      expect(results.every((r) => r.status === 429 || r.status === 401)).toBe(true);
    } finally {
      await stopTestServer(own);
    }
  });
});

/**
 * Login throttling over real HTTP: wrong passwords slow one account's logins from every
 * address (per-account backoff), answered 429 rate_limited with Retry-After and
 * retry_after_ms; a right password forgets them; registration has its own per-address
 * limit, so failed logins never block signing up. Two client addresses: the loopback
 * network is all of 127/8, so a request bound to 127.0.0.2 reaches a server on 127.0.0.1
 * from another address.
 */
import { request } from 'node:http';
import { authRequest, http, registerUserPatiently, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => stopTestServer(server));

const password = 'correct horse battery';

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { user_id?: string; token?: string; error?: { code: string; message: string; retry_after_ms?: number } };
}

/** POSTs a login from `localAddress` (127.0.0.1 or 127.0.0.2). */
function loginFrom(localAddress: string, username: string, pw: string): Promise<Answer> {
  const { port } = new URL(server.url);
  const payload = JSON.stringify({ username, password: pw });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, localAddress, method: 'POST', path: '/api/v1/auth/login', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null, body: JSON.parse(text) as Answer['body'] }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('per-account backoff', () => {
  let victim: TestUser;
  beforeAll(async () => {
    victim = await registerUserPatiently(server.url, `victim${process.pid}`);
  });

  test('wrong passwords from two addresses close the account for both; Retry-After says how long; a right password then resets it', async () => {
    // Five wrong passwords (LOGIN_BACKOFF_FREE_ATTEMPTS), spread over two addresses: each
    // address alone stays far below its own limit.
    const spread = ['127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2', '127.0.0.1'];
    for (const address of spread) expect((await loginFrom(address, victim.username, 'guess')).status).toBe(401);

    for (const address of ['127.0.0.2', '127.0.0.1']) {
      const closed = await loginFrom(address, victim.username, 'another guess');
      expect(closed.status).toBe(429);
      expect(closed.body.error).toEqual({ code: 'rate_limited', message: expect.any(String), retry_after_ms: expect.any(Number) });
      expect(closed.body.error?.retry_after_ms).toBeGreaterThan(0);
      expect(closed.body.error?.retry_after_ms).toBeLessThanOrEqual(1000);
      expect(closed.retryAfter).toBe('1');
    }
    // Closed means closed: the right password is not even checked meanwhile.
    const right = await loginFrom('127.0.0.2', victim.username, password);
    expect(right.status).toBe(429);
    // Other accounts are not touched.
    const other = await registerUserPatiently(server.url);
    expect((await loginFrom('127.0.0.1', other.username, password)).status).toBe(200);

    await sleep((right.body.error?.retry_after_ms ?? 1000) + 50);
    const back = await loginFrom('127.0.0.2', victim.username, password);
    expect(back.status).toBe(200);
    expect(back.body.user_id).toBe(victim.user_id);
    // The success forgot the failures: a wrong password is a plain 401 again, four times over.
    for (let i = 0; i < 4; i++) expect((await loginFrom('127.0.0.1', victim.username, 'oops')).status).toBe(401);
    expect((await loginFrom('127.0.0.1', victim.username, password)).status).toBe(200);
  });

  test('the wait grows with each further wrong password', async () => {
    const user = await registerUserPatiently(server.url);
    for (let i = 0; i < 5; i++) expect((await loginFrom('127.0.0.1', user.username, 'guess')).status).toBe(401);
    const first = await loginFrom('127.0.0.2', user.username, 'guess');
    await sleep((first.body.error?.retry_after_ms ?? 1000) + 50);
    expect((await loginFrom('127.0.0.2', user.username, 'guess')).status).toBe(401); // the 6th counts...
    const second = await loginFrom('127.0.0.1', user.username, 'guess'); // ...and closes it for 2 s
    expect(second.status).toBe(429);
    expect(second.body.error?.retry_after_ms).toBeGreaterThan(1000);
    expect(second.body.error?.retry_after_ms).toBeLessThanOrEqual(2000);
    expect(second.retryAfter).toBe('2');
  });

  test('an unknown username is throttled like a real one (a refusal does not tell which names exist)', async () => {
    const ghost = `ghost${process.pid}`;
    for (let i = 0; i < 5; i++) expect((await loginFrom('127.0.0.2', ghost, 'guess')).status).toBe(401);
    expect((await loginFrom('127.0.0.2', ghost, 'guess')).status).toBe(429);
  });
});

describe('per-address limits', () => {
  test('a burst of failed logins from one address does not block registering from it', async () => {
    const own = await startTestServer();
    try {
      // Different usernames, so only the per-address limit (burst 20) is in play; the
      // registration goes out right behind them, while the address's login bucket is empty.
      const burst = Array.from({ length: 60 }, (_, i) => http(own.url, 'POST', '/api/v1/auth/login', { username: `nobody${i}x${process.pid}`, password: 'whatever it is' }));
      const reg = http(own.url, 'POST', '/api/v1/auth/register', { username: `fresh${process.pid}`, password });
      const limited = (await Promise.all(burst)).filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(30);
      expect(limited[0].body.error).toEqual({ code: 'rate_limited', message: expect.any(String), retry_after_ms: expect.any(Number) });
      expect((await reg).status).toBe(201);
    } finally {
      await stopTestServer(own);
    }
  });

  test('the per-address limits are settings: a load generator registers 200 users from one address, and logins follow their own', async () => {
    const own = await startTestServer({ REGISTER_PER_SECOND: '1', REGISTER_BURST: '300', LOGIN_PER_SECOND: '1', LOGIN_BURST: '3' });
    try {
      const regs = await Promise.all(Array.from({ length: 200 }, (_, i) => http(own.url, 'POST', '/api/v1/auth/register', { username: `load${i}x${process.pid}`, password })));
      expect(regs.map((r) => r.status)).toEqual(Array(200).fill(201));
      // Burst 3, 1 a second: of six logins at once, three pass and three wait.
      const logins = await Promise.all(regs.slice(0, 6).map((r) => http(own.url, 'POST', '/api/v1/auth/login', { username: r.body.username, password })));
      expect(logins.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429, 429]);
    } finally {
      await stopTestServer(own);
    }
    // 200 password hashes: seconds on a quiet machine, more on a loaded one.
  }, 90_000);

  test('deleting the account asks the password under the same backoff', async () => {
    const user = await registerUserPatiently(server.url);
    for (let i = 0; i < 5; i++) expect((await http(server.url, 'DELETE', '/api/v1/me', { password: 'guess' }, user.token)).status).toBe(403);
    const closed = await http(server.url, 'DELETE', '/api/v1/me', { password }, user.token);
    expect(closed.status).toBe(429);
    // ...and so does login, for the same account.
    expect((await authRequest(server.url, '/auth/login', { username: user.username, password })).status).toBe(200);
  });
});

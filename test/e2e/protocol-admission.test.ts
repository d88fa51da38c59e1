/**
 * Opening sessions (docs/protocol.md, "Opening sessions"): per client address and in all,
 * shared by /ws and POST /lp, refused with a 429 JSON answer before any session exists.
 * Both transports in one run (the limits are shared between them). The server trusts
 * X-Forwarded-For from 127.0.0.1, so a test plays other addresses by naming them there.
 */
import WebSocket from 'ws';
import { TestSocket, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

let server: TestServer;
let user: TestUser;

beforeAll(async () => {
  server = await startTestServer({
    SESSION_OPEN_PER_SECOND: '2',
    SESSION_OPEN_BURST: '6',
    MAX_PENDING_PER_ADDRESS: '3',
    MAX_PENDING_SESSIONS: '5',
    TRUST_PROXY: '127.0.0.1',
  });
  user = await registerUser(server.url);
});
afterAll(async () => {
  await stopTestServer(server);
});

interface Opened {
  status: number;
  body: unknown;
  retryAfter: string | null;
  /** Closes the session again (it never sent CONNECT). */
  close: () => Promise<void>;
}

const headersFor = (from?: string): Record<string, string> => (from === undefined ? {} : { 'x-forwarded-for': from });

/** POST /lp from `from` (an X-Forwarded-For address; none: 127.0.0.1 itself). */
async function openLp(from?: string): Promise<Opened> {
  const res = await fetch(`${server.url}/lp`, { method: 'POST', headers: headersFor(from) });
  const body = (await res.json()) as { sid?: string };
  const close = async () => {
    if (body.sid) await fetch(`${server.url}/lp/${body.sid}`, { method: 'DELETE' });
  };
  return { status: res.status, body, retryAfter: res.headers.get('retry-after'), close };
}

/** Opens /ws from `from`: 101 and a socket, or the HTTP refusal of the upgrade. */
function openWs(from?: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl, { headers: headersFor(from) });
    ws.once('open', () =>
      resolve({
        status: 101,
        body: null,
        retryAfter: null,
        close: () => new Promise<void>((r) => (ws.readyState === WebSocket.CLOSED ? r() : (ws.once('close', () => r()), ws.close()))),
      }),
    );
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), retryAfter: res.headers['retry-after'] ?? null, close: async () => undefined }));
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

const closeAll = async (opened: Opened[]) => {
  await Promise.all(opened.map((o) => o.close()));
  await sleep(300); // the server sees the closes
};

test('sessions without CONNECT: the 4th from one address is refused with 429 on both transports', async () => {
  const from = '198.51.100.1';
  const opened = [await openWs(from), await openLp(from), await openWs(from)];
  expect(opened.map((o) => o.status)).toEqual([101, 201, 101]);
  const lp = await openLp(from);
  const ws = await openWs(from);
  for (const refused of [lp, ws]) {
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: { code: 'rate_limited', message: 'too many sessions from this address waiting for CONNECT' } });
    expect(refused.retryAfter).toBe('1');
  }
  // Another address is not held up by this one.
  const other = await openLp('198.51.100.2');
  expect(other.status).toBe(201);
  // Once they are gone, the address opens again.
  await closeAll([...opened, other]);
  const again = await openWs(from);
  expect(again.status).toBe(101);
  await closeAll([again]);
});

test('sessions without CONNECT are capped in all, whatever their addresses', async () => {
  const opened = [];
  for (const from of ['198.51.100.11', '198.51.100.12', '198.51.100.13']) opened.push(await openLp(from), await openWs(from));
  const statuses = opened.map((o) => o.status);
  // Five are waiting for CONNECT in all: the sixth open is refused although its address has room.
  expect(statuses.slice(0, 5)).toEqual([201, 101, 201, 101, 201]);
  expect(statuses[5]).toBe(429);
  expect(opened[5].body).toEqual({ error: { code: 'rate_limited', message: 'too many sessions opening on this server; retry shortly' } });
  await closeAll(opened);
});

test('opening too fast from one address: 429 with Retry-After past the burst; a normal client connects once it refills', async () => {
  // 127.0.0.1 itself (no X-Forwarded-For): the address every test client really has.
  const started = Date.now();
  const results: Opened[] = [];
  while (results.length < 20 && !results.some((o) => o.status === 429)) {
    const o = results.length % 2 ? await openWs() : await openLp();
    results.push(o);
    await o.close(); // closed at once: only the opening rate binds
  }
  const passed = results.filter((o) => o.status !== 429).length;
  // The burst of 6 for both transports together, and what refilled at 2 a second meanwhile.
  expect(passed).toBeGreaterThanOrEqual(6);
  expect(passed).toBeLessThanOrEqual(6 + Math.ceil(((Date.now() - started) / 1000) * 2));
  const refused = results[results.length - 1];
  expect(refused.status).toBe(429);
  expect(refused.body).toEqual({ error: { code: 'rate_limited', message: 'opening sessions too fast' } });
  expect(refused.retryAfter).toBe('1');
  // 2 a second: a client retrying after a second gets in, on either transport.
  await sleep(1100);
  const ws = await TestSocket.connect(server.wsUrl, user.token, 'after-ws', undefined, 'websocket');
  expect(ws.connack.user_id).toBe(user.user_id);
  const lp = await TestSocket.connect(server.wsUrl, user.token, 'after-lp', undefined, 'longpoll');
  expect(lp.connack.user_id).toBe(user.user_id);
  ws.sock.close();
  lp.sock.close();
});

test("REST's per-address auth limit believes the same proxies", async () => {
  const login = (from: string, username = 'nobody-here') =>
    fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headersFor(from) },
      body: JSON.stringify({ username, password: 'wrong password!' }),
    }).then((r) => r.status);
  // All at once (a login hashes for a while, and the limit, 5 a second and 20 at once,
  // refills meanwhile), another client behind the same proxy last.
  // (Another account too: the per-account backoff throttles 'nobody-here' from every address.)
  const statuses = await Promise.all([...Array.from({ length: 30 }, () => login('198.51.100.50')), login('198.51.100.51', 'nobody-else')]);
  expect(statuses.slice(0, 30)).toContain(429);
  // Not limited by the first.
  expect(statuses[30]).toBe(401);
});

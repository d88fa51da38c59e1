/**
 * Malformed, oversized and unknown REST input answered with the right status and JSON
 * error, and nothing stored; health, readiness and metrics endpoints. Real HTTP against an
 * in-process server.
 */
import {
  createConversation,
  http,
  registerUserPatiently,
  sendRest,
  startTestServer,
  stopTestServer,
  type TestServer,
  type TestUser,
} from './harness';

// A small body limit keeps the oversized cases cheap; the frame limit stays the default 64 KiB.
const maxBodyChars = 200;

let server: TestServer;
let url: string;
let alice: TestUser;
let bob: TestUser;
let conv: string;

beforeAll(async () => {
  server = await startTestServer({ MAX_BODY_CHARS: String(maxBodyChars) });
  url = server.url;
  alice = await registerUserPatiently(url);
  bob = await registerUserPatiently(url);
  conv = await createConversation(url, alice, 'group', [bob], 'errors');
});
afterAll(() => stopTestServer(server));

interface Raw {
  status: number;
  type: string;
  text: string;
  body: any;
}

/** A request with full control of body bytes and headers; parses JSON answers. */
async function raw(method: string, path: string, opts: { body?: string; type?: string | null; token?: string } = {}): Promise<Raw> {
  const headers: Record<string, string> = {};
  if (opts.type !== null && opts.body !== undefined) headers['content-type'] = opts.type ?? 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(url + path, { method, headers, body: opts.body });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, text, body: type.includes('json') ? JSON.parse(text) : null };
}

function expectError(res: Raw, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(res.type).toMatch(/application\/json/);
  expect(res.body.error.message).toEqual(expect.any(String));
}

/** The conversation's events, to check that rejected requests stored nothing. */
async function eventCount(): Promise<number> {
  const res = await http(url, 'GET', `/api/v1/conversations/${conv}/events?after=0&limit=1000`, undefined, alice.token);
  expect(res.status).toBe(200);
  return res.body.events.length;
}

describe('malformed JSON', () => {
  test.each([
    ['POST', '/api/v1/auth/register', false],
    ['POST', '/api/v1/auth/login', false],
    ['POST', '/api/v1/conversations', true],
    ['POST', '/api/v1/conversations/:conv/messages', true],
    ['POST', '/api/v1/conversations/:conv/read', true],
    ['POST', '/api/v1/conversations/:conv/members', true],
    ['PATCH', '/api/v1/me/settings', true],
  ])('%s %s answers 400 bad_request', async (method, path, authed) => {
    const before = await eventCount();
    for (const body of ['{"type": "direct", ', '{not json}', "{'single': 'quotes'}", '{"a": 1}}', '\u0000']) {
      const res = await raw(method, path.replace(':conv', conv), { body, token: authed ? alice.token : undefined });
      expectError(res, 400, 'bad_request');
    }
    expect(await eventCount()).toBe(before);
  });

  test('an empty body where fields are required answers 400 naming one', async () => {
    for (const path of ['/api/v1/conversations', `/api/v1/conversations/${conv}/messages`, `/api/v1/conversations/${conv}/read`]) {
      const res = await raw('POST', path, { body: '', token: alice.token });
      expectError(res, 400, 'bad_request');
    }
  });

  test('a JSON body that is not an object answers 400', async () => {
    for (const body of ['[]', '"text"', '42', 'null']) {
      const res = await raw('POST', `/api/v1/conversations/${conv}/messages`, { body, token: alice.token });
      expectError(res, 400, 'bad_request');
    }
  });

  test('a JSON body sent as text/plain (so not parsed) answers 400', async () => {
    const res = await raw('POST', `/api/v1/conversations/${conv}/messages`, {
      body: JSON.stringify({ client_msg_id: 'plain-1', body: 'hi' }),
      type: 'text/plain',
      token: alice.token,
    });
    expectError(res, 400, 'bad_request');
  });
});

describe('schema violations answer 400 naming the field', () => {
  const cases: [string, string, string, () => unknown, string][] = [
    // [name, method, path, body, field the message must name]
    ['register: unknown field', 'POST', '/api/v1/auth/register', () => ({ username: 'validname1', password: 'long enough pw', admin: true }), 'admin'],
    ['register: missing password', 'POST', '/api/v1/auth/register', () => ({ username: 'validname2' }), 'password'],
    ['register: password too short', 'POST', '/api/v1/auth/register', () => ({ username: 'validname3', password: 'short' }), 'password'],
    ['register: username with spaces', 'POST', '/api/v1/auth/register', () => ({ username: 'has space', password: 'long enough pw' }), 'username'],
    ['register: username a number', 'POST', '/api/v1/auth/register', () => ({ username: 12345, password: 'long enough pw' }), 'username'],
    ['login: missing username', 'POST', '/api/v1/auth/login', () => ({ password: 'long enough pw' }), 'username'],
    ['create: unknown field', 'POST', '/api/v1/conversations', () => ({ type: 'group', member_ids: [bob.user_id], colour: 'red' }), 'colour'],
    ['create: missing member_ids', 'POST', '/api/v1/conversations', () => ({ type: 'group' }), 'member_ids'],
    ['create: member_ids a string', 'POST', '/api/v1/conversations', () => ({ type: 'group', member_ids: bob.user_id }), 'member_ids'],
    ['create: member id a number', 'POST', '/api/v1/conversations', () => ({ type: 'group', member_ids: [7] }), 'member_ids'],
    ['create: member_ids empty', 'POST', '/api/v1/conversations', () => ({ type: 'group', member_ids: [] }), 'member_ids'],
    ['create: unknown type', 'POST', '/api/v1/conversations', () => ({ type: 'channel', member_ids: [bob.user_id] }), 'type'],
    ['create: title a number', 'POST', '/api/v1/conversations', () => ({ type: 'group', member_ids: [bob.user_id], title: 5 }), 'title'],
    ['send: missing body', 'POST', '/api/v1/conversations/:conv/messages', () => ({ client_msg_id: 'c-1' }), 'body'],
    ['send: missing client_msg_id', 'POST', '/api/v1/conversations/:conv/messages', () => ({ body: 'hi' }), 'client_msg_id'],
    ['send: client_msg_id a number', 'POST', '/api/v1/conversations/:conv/messages', () => ({ client_msg_id: 1, body: 'hi' }), 'client_msg_id'],
    ['send: client_msg_id empty', 'POST', '/api/v1/conversations/:conv/messages', () => ({ client_msg_id: '', body: 'hi' }), 'client_msg_id'],
    ['send: client_msg_id too long', 'POST', '/api/v1/conversations/:conv/messages', () => ({ client_msg_id: 'x'.repeat(65), body: 'hi' }), 'client_msg_id'],
    ['send: body an object', 'POST', '/api/v1/conversations/:conv/messages', () => ({ client_msg_id: 'c-2', body: { text: 'hi' } }), 'body'],
    ['send: reply_to a string', 'POST', '/api/v1/conversations/:conv/messages', () => ({ client_msg_id: 'c-3', body: 'hi', reply_to: '1' }), 'reply_to'],
    ['send: unknown field', 'POST', '/api/v1/conversations/:conv/messages', () => ({ client_msg_id: 'c-4', body: 'hi', sender_id: bob.user_id }), 'sender_id'],
    ['read: missing seq', 'POST', '/api/v1/conversations/:conv/read', () => ({}), 'seq'],
    ['read: seq a string', 'POST', '/api/v1/conversations/:conv/read', () => ({ seq: '3' }), 'seq'],
    ['read: seq negative', 'POST', '/api/v1/conversations/:conv/read', () => ({ seq: -1 }), 'seq'],
    ['read: seq fractional', 'POST', '/api/v1/conversations/:conv/read', () => ({ seq: 1.5 }), 'seq'],
    ['members: user_ids missing', 'POST', '/api/v1/conversations/:conv/members', () => ({ users: [bob.user_id] }), 'user'],
    ['settings: wrong type', 'PATCH', '/api/v1/me/settings', () => ({ show_presence: 'no' }), 'show_presence'],
    ['settings: unknown field', 'PATCH', '/api/v1/me/settings', () => ({ invisible: true }), 'invisible'],
    ['settings: push_previews a string', 'PATCH', '/api/v1/me/settings', () => ({ push_previews: 'off' }), 'push_previews'],
  ];

  test.each(cases)('%s', async (_name, method, path, body, field) => {
    const before = await eventCount();
    const authed = !path.includes('/auth/');
    const res = await raw(method, path.replace(':conv', conv), { body: JSON.stringify(body()), token: authed ? alice.token : undefined });
    expectError(res, 400, 'bad_request');
    expect(res.body.error.message).toContain(field);
    expect(await eventCount()).toBe(before);
  });

  test('rejected settings change nothing', async () => {
    await raw('PATCH', '/api/v1/me/settings', { body: JSON.stringify({ show_presence: false, bogus: 1 }), token: alice.token });
    const me = await http(url, 'GET', '/api/v1/me', undefined, alice.token);
    expect(me.body.settings.show_presence).toBe(true);
  });

  test('push_previews is accepted, answered with every setting and kept (GET /me)', async () => {
    const set = await http(url, 'PATCH', '/api/v1/me/settings', { push_previews: false }, alice.token);
    expect(set.status).toBe(200);
    expect(set.body.settings).toEqual({ show_presence: true, show_last_seen: true, send_read_receipts: true, push_previews: false, discoverable: true });
    const me = await http(url, 'GET', '/api/v1/me', undefined, alice.token);
    expect(me.body.settings.push_previews).toBe(false);
    await http(url, 'PATCH', '/api/v1/me/settings', { push_previews: true }, alice.token);
    expect((await http(url, 'GET', '/api/v1/me', undefined, alice.token)).body.settings.push_previews).toBe(true);
  });
});

describe('oversized input', () => {
  test(`a body of MAX_BODY_CHARS (${maxBodyChars}) is accepted; one more character answers 413 too_large (as over WebSocket) and stores nothing`, async () => {
    const ok = await sendRest(url, alice, conv, 'a'.repeat(maxBodyChars), 'size-ok');
    expect(ok.status).toBe(201);

    const before = await eventCount();
    const res = await raw('POST', `/api/v1/conversations/${conv}/messages`, {
      body: JSON.stringify({ client_msg_id: 'size-over', body: 'a'.repeat(maxBodyChars + 1) }),
      token: alice.token,
    });
    expectError(res, 413, 'too_large');
    expect(res.body.error.message).toContain('body');
    // The same cause is the same error on every path: an edit's body, and the WebSocket frame.
    const edit = await raw('PATCH', `/api/v1/conversations/${conv}/messages/${ok.body.seq}`, {
      body: JSON.stringify({ client_msg_id: 'size-over-edit', body: 'a'.repeat(maxBodyChars + 1) }),
      token: alice.token,
    });
    expectError(edit, 413, 'too_large');
    expect(await eventCount()).toBe(before);
    // The key was not consumed: a valid retry with the same client_msg_id is a new message.
    expect((await sendRest(url, alice, conv, 'shorter now', 'size-over')).status).toBe(201);
  });

  test('a request body over the frame limit (64 KiB) answers 413 too_large and stores nothing', async () => {
    const before = await eventCount();
    const res = await raw('POST', `/api/v1/conversations/${conv}/messages`, {
      body: JSON.stringify({ client_msg_id: 'huge-1', body: 'b'.repeat(100_000) }),
      token: alice.token,
    });
    expectError(res, 413, 'too_large');
    expect(await eventCount()).toBe(before);
  });

  test('a message that is only whitespace answers 400 and stores nothing', async () => {
    const before = await eventCount();
    const res = await raw('POST', `/api/v1/conversations/${conv}/messages`, { body: JSON.stringify({ client_msg_id: 'blank-1', body: '  \n ' }), token: alice.token });
    expectError(res, 400, 'bad_request');
    expect(await eventCount()).toBe(before);
  });

  test('a send naming things that do not exist answers 400 and stores nothing', async () => {
    const before = await eventCount();
    const bad: Record<string, unknown>[] = [
      { client_msg_id: 'sem-1', body: 'hi', reply_to: 1_000_000 },
      { client_msg_id: 'sem-2', body: 'hi', mentions: ['u-not-a-member'] },
      { client_msg_id: 'sem-3', body: 'hi', attachments: ['a-unknown'] },
    ];
    for (const body of bad) {
      const res = await raw('POST', `/api/v1/conversations/${conv}/messages`, { body: JSON.stringify(body), token: alice.token });
      expectError(res, 400, 'bad_request');
    }
    expect(await eventCount()).toBe(before);
  });

  test('too many presence ids answers 400', async () => {
    const ids = Array.from({ length: 257 }, (_, i) => `u-${i}`).join(',');
    expectError(await raw('GET', `/api/v1/presence?user_ids=${ids}`, { token: alice.token }), 400, 'bad_request');
  });
});

describe('bad query parameters answer 400', () => {
  test.each([
    '/conversations?limit=abc',
    '/conversations?limit=-1',
    '/conversations?limit=1.5',
    '/conversations?limit=100000',
    '/conversations?limit=1&limit=2',
    '/conversations?cursor=not-a-cursor',
    '/conversations/:conv/messages?limit=abc',
    '/conversations/:conv/messages?before=abc',
    '/conversations/:conv/messages?before=-5',
    '/conversations/:conv/messages?limit=201',
    '/conversations/:conv/events?after=abc',
    '/conversations/:conv/events?after=1e3',
    '/conversations/:conv/events?limit=abc',
    '/conversations/:conv/events?limit=1001',
  ])('GET %s', async (path) => {
    const res = await raw('GET', '/api/v1' + path.replace(':conv', conv), { token: alice.token });
    expectError(res, 400, 'bad_request');
    const name = /\?(\w+)=/.exec(path)?.[1] as string;
    expect(res.body.error.message).toContain(name);
  });

  test('the same parameters in range are accepted (control)', async () => {
    for (const path of ['/conversations?limit=200', `/conversations/${conv}/messages?before=5&limit=200`, `/conversations/${conv}/events?after=0&limit=1000`]) {
      expect((await raw('GET', '/api/v1' + path, { token: alice.token })).status).toBe(200);
    }
  });
});

describe('unknown paths', () => {
  test.each([
    ['GET', '/api/v1/nope'],
    ['POST', '/api/v1/nope'],
    ['GET', '/api/v1/auth/register'],
    ['PUT', '/api/v1/conversations'],
    ['GET', '/api/v1/conversations/:conv/nope'],
    ['GET', '/api/v1/v2/conversations'],
  ])('%s %s answers 404 JSON', async (method, path) => {
    const res = await raw(method, path.replace(':conv', conv), { token: alice.token });
    expectError(res, 404, 'not_found');
  });
});

describe('health, readiness and metrics', () => {
  test('/healthz answers 200', async () => {
    const res = await raw('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  test('/readyz answers 200 while serving', async () => {
    const res = await raw('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
  });

  test('/metrics is Prometheus text with the chat metrics', async () => {
    await sendRest(url, alice, conv, 'count me', 'metrics-1');
    const res = await raw('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    for (const name of ['chat_connections', 'chat_events_total', 'chat_ack_latency_seconds', 'chat_live_actors']) {
      expect(res.text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    // Events were committed above, so the counter is above zero.
    const events = /^chat_events_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)$/m.exec(res.text);
    expect(Number(events?.[1])).toBeGreaterThan(0);
    const actors = /^chat_live_actors(?:\{[^}]*\})? (\d+)$/m.exec(res.text);
    expect(Number(actors?.[1])).toBeGreaterThan(0);
  });
});

test("requests node's HTTP parser refuses get the API's JSON error too: headers over 16 KiB (431), a malformed request line (400)", async () => {
  const big = await fetch(`${url}/api/v1/me?x=${'a'.repeat(20_000)}`);
  expect(big.status).toBe(431);
  expect(await big.json()).toEqual({ error: { code: 'too_large', message: 'request headers too large' } });
  // A request line no HTTP client sends: written on a bare socket.
  const { connect } = await import('node:net');
  const { port } = new URL(url);
  const answer = await new Promise<string>((resolve, reject) => {
    let text = '';
    const s = connect(Number(port), '127.0.0.1', () => s.write('GET /\x01 nonsense\r\n\r\n'));
    s.on('data', (d) => (text += d.toString()));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
  expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'bad_request', message: 'malformed HTTP request' } });
  // The server still answers.
  expect((await http(url, 'GET', '/healthz')).status).toBe(200);
});

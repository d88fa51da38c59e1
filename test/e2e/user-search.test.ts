/**
 * GET /api/v1/users/search and PATCH /api/v1/me over real HTTP: auth, paging, the
 * per-user rate limit, the discoverable setting, deleted users, bad input as 400 JSON.
 */
import { http, registerUserPatiently, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

// A small burst, refilled slowly: the limit test exhausts it in a few requests.
const burst = 30;

let server: TestServer;
let url: string;
let me: TestUser;
const prefix = `srch${process.pid}`;

interface SearchBody {
  users: { user_id: string; username: string; display_name: string; deleted?: true }[];
  next_cursor: string | null;
  error?: { code: string; message: string };
}

const search = (q: string, user: TestUser, extra = ''): Promise<{ status: number; body: SearchBody }> =>
  http<SearchBody>(url, 'GET', `/api/v1/users/search?q=${encodeURIComponent(q)}${extra}`, undefined, user.token);

beforeAll(async () => {
  server = await startTestServer({ USER_SEARCH_PER_SECOND: '1', USER_SEARCH_BURST: String(burst) });
  url = server.url;
  me = await registerUserPatiently(url, `${prefix}me`);
});
afterAll(() => stopTestServer(server));

test('finds people by username and display-name prefix, never the caller, paged by cursor', async () => {
  const a = await registerUserPatiently(url, `${prefix}a`);
  const b = await registerUserPatiently(url, `${prefix}b`);
  const c = await registerUserPatiently(url, `${prefix}c`);
  expect((await http(url, 'PATCH', '/api/v1/me', { display_name: 'Zelda Quux' }, c.token)).body).toEqual({
    user_id: c.user_id,
    username: c.username,
    display_name: 'Zelda Quux',
  });
  const first = await search(prefix.toUpperCase(), me, '&limit=2');
  expect(first.status).toBe(200);
  expect(first.body.users.map((u) => u.username)).toEqual([a.username, b.username]);
  expect(first.body.next_cursor).toEqual(expect.any(String));
  const second = await search(prefix, me, `&limit=2&cursor=${first.body.next_cursor}`);
  // `<prefix>me` is the caller: left out, so the page holds c only.
  expect(second.body.users.map((u) => u.username)).toEqual([c.username]);
  const byName = await search('zel', me);
  expect(byName.body.users).toEqual([{ user_id: c.user_id, username: c.username, display_name: 'Zelda Quux' }]);
  expect((await search('quu', me)).body.users.map((u) => u.user_id)).toEqual([c.user_id]);
});

test('hides users who turned discoverable off, and deleted accounts', async () => {
  const shy = await registerUserPatiently(url, `${prefix}shy`);
  const gone = await registerUserPatiently(url, `${prefix}gone`);
  const set = await http(url, 'PATCH', '/api/v1/me/settings', { discoverable: false }, shy.token);
  expect(set.body.settings.discoverable).toBe(false);
  expect((await http(url, 'DELETE', '/api/v1/me', { password: 'correct horse battery' }, gone.token)).status).toBe(204);
  const found = await search(`${prefix}`, me, '&limit=50');
  const names = found.body.users.map((u) => u.username);
  expect(names).not.toContain(shy.username);
  expect(names).not.toContain(gone.username);
  expect(found.body.users.some((u) => u.user_id === gone.user_id)).toBe(false);
  // The exact username still reaches someone who is not discoverable.
  expect((await http(url, 'GET', `/api/v1/users?username=${shy.username}`, undefined, me.token)).body.users[0].user_id).toBe(shy.user_id);
});

test('bad input is 400 with a JSON error; no token is 401', async () => {
  for (const [query, field] of [
    ['', 'q'],
    ['?q=a', 'q'],
    [`?q=${'x'.repeat(65)}`, 'q'],
    ['?q=ab&limit=0', 'limit'],
    ['?q=ab&limit=51', 'limit'],
    ['?q=ab&cursor=not-a-cursor', 'cursor'],
  ] as const) {
    const res = await http(url, 'GET', `/api/v1/users/search${query}`, undefined, me.token);
    expect({ query, status: res.status, code: res.body.error?.code }).toEqual({ query, status: 400, code: 'bad_request' });
    expect(res.body.error.message).toContain(field);
  }
  expect((await http(url, 'GET', '/api/v1/users/search?q=ab')).status).toBe(401);
  for (const body of [{ display_name: '' }, { display_name: '   ' }, { display_name: 'x'.repeat(65) }, { display_name: 'ok', extra: 1 }, {}]) {
    const res = await http(url, 'PATCH', '/api/v1/me', body, me.token);
    expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'bad_request' });
  }
});

test('each user has a search budget: over it, 429 rate_limited with Retry-After, others unaffected', async () => {
  const busy = await registerUserPatiently(url, `${prefix}busy`);
  let limited: Response | null = null;
  for (let i = 0; i < burst + 5 && limited === null; i++) {
    const res = await fetch(`${url}/api/v1/users/search?q=${prefix}`, { headers: { authorization: `Bearer ${busy.token}` } });
    if (res.status === 429) limited = res;
    else expect(res.status).toBe(200);
  }
  expect(limited).not.toBeNull();
  const body = (await (limited as Response).json()) as SearchBody;
  expect(body.error?.code).toBe('rate_limited');
  expect(Number((limited as Response).headers.get('retry-after'))).toBeGreaterThan(0);
  const other = await registerUserPatiently(url, `${prefix}other`);
  expect((await search(prefix, other)).status).toBe(200);
});

test('a cursor tells nothing and cannot be forged: sealed, a hand-made one is 400', async () => {
  const a = await registerUserPatiently(url, `${prefix}seal1`);
  await registerUserPatiently(url, `${prefix}seal2`);
  const first = await search(`${prefix}seal`, me, '&limit=1');
  expect(first.body.users.map((u) => u.user_id)).toEqual([a.user_id]);
  const cursor = first.body.next_cursor as string;
  // The last row looked at may be a user who is not listed: neither its id nor its name shows.
  const decoded = Buffer.from(cursor, 'base64url').toString('latin1');
  expect(decoded).not.toContain(a.user_id);
  expect(decoded).not.toContain(`${prefix}seal`);
  // A cursor made by hand (the store's row as JSON) starts no scan at a chosen place.
  const forged = Buffer.from(JSON.stringify({ term: `${prefix}seal1`, user_id: a.user_id })).toString('base64url');
  const refused = await search(`${prefix}seal`, me, `&limit=1&cursor=${forged}`);
  expect(refused.status).toBe(400);
  expect(refused.body.error?.code).toBe('bad_request');
  // A sealed cursor with one byte changed is refused too.
  const raw = Buffer.from(cursor, 'base64url');
  raw[raw.length - 1] ^= 1;
  expect((await search(`${prefix}seal`, me, `&limit=1&cursor=${raw.toString('base64url')}`)).status).toBe(400);
  expect((await search(`${prefix}seal`, me, `&limit=1&cursor=${cursor}`)).body.users.map((u) => u.username)).toEqual([`${prefix}seal2`.toLowerCase()]);
});

test('renames are limited per user: five at once, then 429 with a retry hint', async () => {
  const user = await registerUserPatiently(url, `${prefix}rn`);
  for (let i = 0; i < 5; i++) expect((await http(url, 'PATCH', '/api/v1/me', { display_name: `Name ${i}` }, user.token)).status).toBe(200);
  const over = await http<SearchBody>(url, 'PATCH', '/api/v1/me', { display_name: 'One too many' }, user.token);
  expect(over.status).toBe(429);
  expect(over.body.error?.code).toBe('rate_limited');
  expect((over.body.error as { retry_after_ms?: number } | undefined)?.retry_after_ms).toBeGreaterThan(0);
  // Another user's budget is untouched.
  expect((await http(url, 'PATCH', '/api/v1/me', { display_name: 'Unaffected' }, me.token)).status).toBe(200);
});

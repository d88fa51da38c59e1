import { FakeServer } from './fake-server';
import { ApiError, MUTED_FOREVER, RestClient } from '../../src/client';

let server: FakeServer;

beforeEach(async () => {
  server = await FakeServer.start();
});
afterEach(async () => {
  await server.stop();
});

function last() {
  return server.requests[server.requests.length - 1];
}

test('each call hits its endpoint with method, query, body and bearer token', async () => {
  const rest = new RestClient({ baseUrl: server.baseUrl + '/' });
  server.route('POST', '/api/v1/auth/register', () => ({ status: 201, body: { user_id: 'u_1', username: 'ann', token: 't_1' } }));
  await expect(rest.register({ username: 'ann', password: 'pw', display_name: 'Ann' })).resolves.toEqual({
    user_id: 'u_1',
    username: 'ann',
    token: 't_1',
  });
  expect(last().body).toEqual({ username: 'ann', password: 'pw', display_name: 'Ann' });
  expect(last().headers.authorization).toBeUndefined();

  server.route('POST', '/api/v1/auth/login', () => ({ status: 200, body: { user_id: 'u_1', token: 't_2' } }));
  const login = await rest.login({ username: 'ann', password: 'pw' });
  rest.setToken(login.token);

  server.route('GET', '/api/v1/users', () => ({ status: 200, body: { users: [{ user_id: 'u_2', username: 'bob', display_name: null }] } }));
  await expect(rest.findUsers('bob')).resolves.toEqual([{ user_id: 'u_2', username: 'bob', display_name: null }]);
  expect(last().query.get('username')).toBe('bob');
  expect(last().headers.authorization).toBe('Bearer t_2');

  await expect(rest.getUsers(['u_2', 'u_3'])).resolves.toEqual([{ user_id: 'u_2', username: 'bob', display_name: null }]);
  expect(last().query.get('user_ids')).toBe('u_2,u_3');
  await expect(rest.getUsers([])).resolves.toEqual([]);

  const conv = { conv_id: 'c/1', type: 'group', title: 't', members: [{ user_id: 'u_1', role: 'admin' }], created_at: 1 };
  server.route('POST', '/api/v1/conversations', () => ({ status: 201, body: conv }));
  await expect(rest.createConversation({ type: 'group', member_ids: ['u_2'], title: 't' })).resolves.toEqual(conv);
  expect(last().body).toEqual({ type: 'group', member_ids: ['u_2'], title: 't' });

  server.route('GET', '/api/v1/conversations', () => ({ status: 200, body: { conversations: [], next_cursor: null } }));
  await expect(rest.listConversations({ cursor: 'k', limit: 20 })).resolves.toEqual({ conversations: [], next_cursor: null });
  expect(last().query.toString()).toBe('cursor=k&limit=20');

  // Path segments are escaped: the id "c/1" is one segment.
  server.route('GET', '/api/v1/conversations/c%2F1', () => ({ status: 200, body: conv }));
  await expect(rest.getConversation('c/1')).resolves.toEqual(conv);

  server.route('POST', '/api/v1/conversations/c1/members', () => ({ status: 200, body: { ...conv, seq: 9 } }));
  await expect(rest.addMembers('c1', ['u_3'])).resolves.toEqual({ ...conv, seq: 9 });
  expect(last().body).toEqual({ user_ids: ['u_3'] });

  server.route('DELETE', '/api/v1/conversations/c1/members/u_3', () => ({ status: 200, body: { seq: 10 } }));
  await expect(rest.removeMember('c1', 'u_3')).resolves.toEqual({ seq: 10 });
  expect(last().method).toBe('DELETE');
  server.route('DELETE', '/api/v1/conversations/c1/members/u_4', () => ({ status: 204 }));
  await expect(rest.removeMember('c1', 'u_4')).resolves.toEqual({});

  server.route('GET', '/api/v1/conversations/c1/messages', () => ({ status: 200, body: { messages: [] } }));
  await expect(rest.getMessages('c1', { before: 100, limit: 50 })).resolves.toEqual([]);
  expect(last().query.toString()).toBe('before=100&limit=50');

  server.route('GET', '/api/v1/conversations/c1/events', () => ({ status: 200, body: { events: [], more: false } }));
  await expect(rest.getEvents('c1', { after: 7, limit: 10 })).resolves.toEqual({ events: [], more: false });
  expect(last().query.toString()).toBe('after=7&limit=10');

  const ack = { client_msg_id: 'm_1', conv_id: 'c1', seq: 8, ts: 5 };
  server.route('POST', '/api/v1/conversations/c1/messages', () => ({ status: 201, body: ack }));
  await expect(rest.sendMessage('c1', 'hi', { client_msg_id: 'm_1', reply_to: 2 })).resolves.toEqual(ack);
  expect(last().body).toEqual({ client_msg_id: 'm_1', body: 'hi', reply_to: 2 });

  server.route('GET', '/api/v1/presence', () => ({ status: 200, body: { presence: [{ user_id: 'a', state: 'online', last_seen: null }] } }));
  await expect(rest.getPresence(['a', 'b'])).resolves.toEqual([{ user_id: 'a', state: 'online', last_seen: null }]);
  expect(last().query.get('user_ids')).toBe('a,b');

  const settings = { show_presence: false, show_last_seen: true, send_read_receipts: true, push_previews: true, discoverable: true };
  server.route('PATCH', '/api/v1/me/settings', () => ({ status: 200, body: { settings } }));
  await expect(rest.updateSettings({ show_presence: false })).resolves.toEqual(settings);
  expect(last().body).toEqual({ show_presence: false });
  expect(last().headers['content-type']).toBe('application/json');

  const found = { users: [{ user_id: 'u_2', username: 'bob', display_name: 'Bob' }], next_cursor: 'c2' };
  server.route('GET', '/api/v1/users/search', () => ({ status: 200, body: found }));
  await expect(rest.searchUsers('bo', { cursor: 'c1', limit: 5 })).resolves.toEqual(found);
  expect(last().query.toString()).toBe('q=bo&cursor=c1&limit=5');

  server.route('PATCH', '/api/v1/me', () => ({ status: 200, body: { user_id: 'u_1', username: 'ann', display_name: 'Annie' } }));
  await expect(rest.updateProfile({ display_name: 'Annie' })).resolves.toEqual({ user_id: 'u_1', username: 'ann', display_name: 'Annie' });
  expect(last().body).toEqual({ display_name: 'Annie' });

  const me = { user_id: 'u_1', username: 'ann', display_name: 'Ann', settings };
  server.route('GET', '/api/v1/me', () => ({ status: 200, body: me }));
  await expect(rest.me()).resolves.toEqual(me);
});

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  expect(err).toBeInstanceOf(Error);
  return err as ApiError;
}

test('errors carry the server code and the HTTP status', async () => {
  const rest = new RestClient({ baseUrl: server.baseUrl, token: 't' });
  server.route('POST', '/api/v1/auth/register', () => ({ status: 409, body: { error: { code: 'conflict', message: 'username taken' } } }));
  const taken = await failure(rest.register({ username: 'ann', password: 'pw' }));
  expect([taken.status, taken.code, taken.message]).toEqual([409, 'conflict', 'username taken']);

  server.route('POST', '/api/v1/auth/login', () => ({ status: 401, body: { error: { code: 'unauthorized', message: 'wrong password' } } }));
  expect(await failure(rest.login({ username: 'ann', password: 'x' }))).toMatchObject({ status: 401, code: 'unauthorized' });

  // An unknown code in the body falls back to the status's code.
  server.route('GET', '/api/v1/conversations/c1', () => ({ status: 403, body: { error: { code: 'nope', message: 'not a member' } } }));
  expect(await failure(rest.getConversation('c1'))).toMatchObject({ status: 403, code: 'forbidden', message: 'not a member' });

  // A proxy's HTML error page.
  server.route('GET', '/api/v1/conversations', () => ({ status: 502, body: '<html>bad gateway</html>' }));
  expect(await failure(rest.listConversations())).toMatchObject({ status: 502, code: 'internal' });

  server.route('GET', '/api/v1/users', () => ({ status: 429, body: {} }));
  expect(await failure(rest.findUsers('x'))).toMatchObject({ status: 429, code: 'rate_limited', retryAfterMs: null });
  // The server's retry hint.
  server.route('POST', '/api/v1/auth/login', () => ({ status: 429, body: { error: { code: 'rate_limited', message: 'wait', retry_after_ms: 1500 } } }));
  expect(await failure(rest.login({ username: 'ann', password: 'x' }))).toMatchObject({ status: 429, code: 'rate_limited', retryAfterMs: 1500 });

  // No answer at all.
  const old = server;
  const port = Number(new URL(old.baseUrl).port);
  server = await FakeServer.start(); // keeps afterEach happy, on another port
  await old.stop();
  const offline = new RestClient({ baseUrl: `http://127.0.0.1:${port}` });
  expect(await failure(offline.findUsers('x'))).toMatchObject({ status: 0, code: 'unavailable' });
});

test('rich-message endpoints: reactions, edit, delete, threads, mute and mark-unread', async () => {
  const rest = new RestClient({ baseUrl: server.baseUrl, token: 't' });
  const ack = (seq: number, duplicate?: true) => ({ client_msg_id: `m_${seq}`, conv_id: 'c/1', seq, ts: 5, ...(duplicate ? { duplicate } : {}) });

  // First time 201, a retry with the same client_msg_id 200 with duplicate: true.
  let reactions = 0;
  server.route('POST', '/api/v1/conversations/c%2F1/messages/4/reactions', () => (++reactions === 1 ? { status: 201, body: ack(10) } : { status: 200, body: ack(10, true) }));
  await expect(rest.react('c/1', 4, 'm_10', '👍')).resolves.toEqual(ack(10));
  expect(last().body).toEqual({ client_msg_id: 'm_10', emoji: '👍' });
  expect(last().headers.authorization).toBe('Bearer t');
  await expect(rest.react('c/1', 4, 'm_10', '👍')).resolves.toEqual(ack(10, true));
  server.route('POST', '/api/v1/conversations/c%2F1/messages/5/reactions', () => ({ status: 201, body: ack(11) }));
  await rest.react('c/1', 5, 'm_11', null);
  expect(last().body).toEqual({ client_msg_id: 'm_11', emoji: null });

  server.route('PATCH', '/api/v1/conversations/c%2F1/messages/3', () => ({ status: 201, body: ack(12) }));
  await expect(rest.edit('c/1', 3, 'm_12', 'new body')).resolves.toEqual(ack(12));
  expect(last().body).toEqual({ client_msg_id: 'm_12', body: 'new body' });
  expect(last().headers['content-type']).toBe('application/json');

  server.route('DELETE', '/api/v1/conversations/c%2F1/messages/3', () => ({ status: 201, body: ack(13) }));
  await expect(rest.deleteMessage('c/1', 3, 'm_13')).resolves.toEqual(ack(13));
  expect([last().method, last().body, last().headers['content-type']]).toEqual(['DELETE', { client_msg_id: 'm_13' }, 'application/json']);

  const row = (seq: number, thread_root: number | null) => ({
    conv_id: 'c/1', seq, ts: seq, sender_id: 'u_1', kind: 'message', body: `m${seq}`, reply_to: thread_root, thread_root,
    attachments: [], mentions: [], client_msg_id: `m_${seq}`, reactions: { u_2: '👍' }, edited_at: null, deleted: false,
    reply_count: 2, link_preview: null,
  });
  const page = { root: row(3, null), replies: [row(6, 3), row(8, 3)], more: true };
  server.route('GET', '/api/v1/conversations/c%2F1/threads/6', () => ({ status: 200, body: page }));
  await expect(rest.thread('c/1', 6, { after: 3, limit: 2 })).resolves.toEqual(page);
  expect(last().query.toString()).toBe('after=3&limit=2');
  await rest.thread('c/1', 6);
  expect(last().query.toString()).toBe('');

  server.route('PUT', '/api/v1/conversations/c%2F1/mute', (req) => {
    const { until } = req.body as { until: number | null };
    return { status: 200, body: { conv_id: 'c/1', muted_until: until, muted: until !== null } };
  });
  await expect(rest.mute('c/1', MUTED_FOREVER)).resolves.toEqual({ conv_id: 'c/1', muted_until: -1, muted: true });
  expect(last().body).toEqual({ until: -1 });
  await expect(rest.mute('c/1', null)).resolves.toEqual({ conv_id: 'c/1', muted_until: null, muted: false });
  expect(last().body).toEqual({ until: null });

  server.route('POST', '/api/v1/conversations/c%2F1/unread', () => ({ status: 200, body: { conv_id: 'c/1', marked_unread: true } }));
  await expect(rest.markUnread('c/1')).resolves.toEqual({ conv_id: 'c/1', marked_unread: true });
  expect([last().method, last().body]).toEqual(['POST', undefined]);

  // Refusals map like every other call.
  server.route('PATCH', '/api/v1/conversations/c1/messages/3', () => ({ status: 403, body: { error: { code: 'forbidden', message: 'edit window over' } } }));
  expect(await failure(rest.edit('c1', 3, 'm_x', 'late'))).toMatchObject({ status: 403, code: 'forbidden', message: 'edit window over' });
  server.route('POST', '/api/v1/conversations/c1/messages/99/reactions', () => ({ status: 404, body: { error: { code: 'not_found', message: 'no such message' } } }));
  expect(await failure(rest.react('c1', 99, 'm_y', '👍'))).toMatchObject({ status: 404, code: 'not_found' });
});

test('the default fetch is called on globalThis, as browsers require ("Illegal invocation" otherwise)', async () => {
  const real = globalThis.fetch;
  // Browsers' fetch throws unless `this` is the global object (or undefined).
  const strict = function (this: unknown, url: string, init: RequestInit) {
    if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
    return real(url, init);
  };
  globalThis.fetch = strict as typeof fetch;
  try {
    server.route('GET', '/api/v1/users', () => ({ status: 200, body: { users: [] } }));
    await expect(new RestClient({ baseUrl: server.baseUrl, token: 't' }).findUsers('x')).resolves.toEqual([]);
  } finally {
    globalThis.fetch = real;
  }
});

test('account endpoints: devices named at sign-in, logout of a device or everywhere, removing a device, deleting the account', async () => {
  const rest = new RestClient({ baseUrl: server.baseUrl });
  server.route('POST', '/api/v1/auth/login', () => ({ status: 200, body: { user_id: 'u_1', device_id: 'phone', token: 't_1' } }));
  await expect(rest.login({ username: 'ann', password: 'pw', device_id: 'phone' })).resolves.toEqual({ user_id: 'u_1', device_id: 'phone', token: 't_1' });
  expect(last().body).toEqual({ username: 'ann', password: 'pw', device_id: 'phone' });
  rest.setToken('t_1');

  server.route('POST', '/api/v1/auth/logout', () => ({ status: 204 }));
  await expect(rest.logout()).resolves.toBeUndefined();
  expect(last().body).toEqual({});
  expect(last().headers.authorization).toBe('Bearer t_1');
  await rest.logout('tablet');
  expect(last().body).toEqual({ device_id: 'tablet' });

  server.route('POST', '/api/v1/auth/logout-all', () => ({ status: 204 }));
  await expect(rest.logoutEverywhere()).resolves.toBeUndefined();
  expect(last().method).toBe('POST');

  server.route('DELETE', '/api/v1/me/devices/old%2Fphone', () => ({ status: 204 }));
  await expect(rest.removeDevice('old/phone')).resolves.toBeUndefined();

  server.route('DELETE', '/api/v1/me', (req) =>
    (req.body as { password?: string }).password === 'pw' ? { status: 204 } : { status: 403, body: { error: { code: 'forbidden', message: 'wrong password' } } },
  );
  expect(await failure(rest.deleteAccount('nope'))).toMatchObject({ status: 403, code: 'forbidden' });
  await expect(rest.deleteAccount('pw')).resolves.toBeUndefined();
  expect(last().body).toEqual({ password: 'pw' });
});

/**
 * What an outsider can learn or cost the server through conversation ids: a conversation
 * they are not in answers exactly as one that does not exist, on every REST route and
 * frame that names one. Runs over WebSocket, over long-poll (jest project e2e-longpoll)
 * and over MQTT (e2e-mqtt); REST-only cases run once.
 */
import { TestSocket, createConversation, http, registerUserPatiently, startTestServer, stopTestServer, transport, type Frame, type TestServer, type TestUser } from './harness';
import { acked, cmid, request, sendOk } from './rich-helpers';

/** REST does not depend on the frame carrier: run those cases in the WebSocket project only. */
const restTest = transport === 'websocket' ? test : test.skip;

let server: TestServer;
let url: string;
let alice: TestUser;
let bob: TestUser;
let eve: TestUser;
let group: string;
let msgSeq: number;

beforeAll(async () => {
  server = await startTestServer();
  url = server.url;
  [alice, bob, eve] = [await registerUserPatiently(url), await registerUserPatiently(url), await registerUserPatiently(url)];
  group = await createConversation(url, alice, 'group', [bob], 'members only');
  const { sock } = await TestSocket.connect(server.wsUrl, alice.token, 'alice-setup');
  msgSeq = await sendOk(sock, group, 'for members only');
  sock.close();
});
afterAll(() => stopTestServer(server));

/** Every REST route that names a conversation, with a body it would accept from a member. */
function conversationRoutes(conv: string, seq: number): [string, string, string, unknown?][] {
  return [
    ['details', 'GET', `/conversations/${conv}`],
    ['messages', 'GET', `/conversations/${conv}/messages`],
    ['events', 'GET', `/conversations/${conv}/events?after=0`],
    ['thread', 'GET', `/conversations/${conv}/threads/${seq}`],
    ['send', 'POST', `/conversations/${conv}/messages`, { client_msg_id: cmid('out'), body: 'let me in' }],
    ['react', 'POST', `/conversations/${conv}/messages/${seq}/reactions`, { client_msg_id: cmid('out'), emoji: '👍' }],
    ['edit', 'PATCH', `/conversations/${conv}/messages/${seq}`, { client_msg_id: cmid('out'), body: 'mine now' }],
    ['unsend', 'DELETE', `/conversations/${conv}/messages/${seq}`, { client_msg_id: cmid('out') }],
    ['add member', 'POST', `/conversations/${conv}/members`, { user_ids: [eve.user_id] }],
    ['remove member', 'DELETE', `/conversations/${conv}/members/${bob.user_id}`],
    ['mute', 'PUT', `/conversations/${conv}/mute`, { until: -1 }],
    ['mark unread', 'POST', `/conversations/${conv}/unread`],
    ['read', 'POST', `/conversations/${conv}/read`, { seq: 1 }],
  ];
}

/** Every frame that names a conversation. */
function conversationFrames(conv: string, seq: number): Record<string, unknown>[] {
  return [
    { type: 'SEND', client_msg_id: cmid('out'), conv_id: conv, body: 'let me in' },
    { type: 'REACT', client_msg_id: cmid('out'), conv_id: conv, target_seq: seq, emoji: '👍' },
    { type: 'EDIT', client_msg_id: cmid('out'), conv_id: conv, target_seq: seq, body: 'mine now' },
    { type: 'DELETE', client_msg_id: cmid('out'), conv_id: conv, target_seq: seq },
    { type: 'MUTE', conv_id: conv, until: -1 },
    { type: 'MARK_UNREAD', conv_id: conv },
    { type: 'DELIVERED', conv_id: conv, seq },
    { type: 'READ', conv_id: conv, seq },
    { type: 'TYPING', conv_id: conv, state: 'started' },
  ];
}

/** The answer to a frame: the ERROR (or anything else) it got. */
async function answerOf(sock: TestSocket, frame: Record<string, unknown>): Promise<Frame> {
  if (typeof frame.client_msg_id === 'string') return request(sock, frame as { type: string; client_msg_id: string });
  sock.send(frame);
  return sock.next((f) => f.type === 'ERROR' || f.type === 'MUTE_SYNC' || f.type === 'READ_SYNC');
}

describe('a conversation the caller is not in answers as one that does not exist', () => {
  restTest('every REST route: 404 not_found with the same message for a non-member and an unknown id', async () => {
    const outsider = conversationRoutes(group, msgSeq);
    const unknown = conversationRoutes('c_doesNotExist0000', msgSeq);
    for (let i = 0; i < outsider.length; i++) {
      const [name, method, path, body] = outsider[i];
      const a = await http(url, method, '/api/v1' + path, body, eve.token);
      const [, uMethod, uPath, uBody] = unknown[i];
      const b = await http(url, uMethod, '/api/v1' + uPath, uBody, eve.token);
      expect({ name, status: a.status, error: a.body.error }).toEqual({ name, status: 404, error: { code: 'not_found', message: expect.any(String) } });
      expect({ name, status: a.status, error: a.body.error }).toEqual({ name, status: b.status, error: b.body.error });
    }
    // Nothing the outsider tried changed the conversation.
    const events = await http(url, 'GET', `/api/v1/conversations/${group}/events?after=0`, undefined, alice.token);
    expect((events.body.events as { kind: string }[]).map((e) => e.kind)).toEqual(['member_added', 'message']);
  });

  test('every frame: ERROR not_found with the same message for a non-member and an unknown id', async () => {
    const { sock } = await TestSocket.connect(server.wsUrl, eve.token, cmid('eve'));
    try {
      const outsider = conversationFrames(group, msgSeq);
      const unknown = conversationFrames('c_doesNotExist0000', msgSeq);
      for (let i = 0; i < outsider.length; i++) {
        const a = await answerOf(sock, outsider[i]);
        const b = await answerOf(sock, unknown[i]);
        const type = outsider[i].type;
        expect({ type, frame: a.type, code: a.code }).toEqual({ type, frame: 'ERROR', code: 'not_found' });
        expect({ type, code: a.code, message: a.message }).toEqual({ type, code: b.code, message: b.message });
      }
    } finally {
      sock.close();
    }
  });

  restTest('a removed member is an outsider too; a member without the role still gets 403 forbidden', async () => {
    const [host, member, leaving] = [await registerUserPatiently(url), await registerUserPatiently(url), await registerUserPatiently(url)];
    const conv = await createConversation(url, host, 'group', [member, leaving], 'roles');
    // A member asking for what only admins may do: the conversation is theirs to know about.
    const byMember = await http(url, 'POST', `/api/v1/conversations/${conv}/members`, { user_ids: [eve.user_id] }, member.token);
    expect([byMember.status, byMember.body.error?.code]).toEqual([403, 'forbidden']);
    expect((await http(url, 'DELETE', `/api/v1/conversations/${conv}/members/${leaving.user_id}`, undefined, host.token)).status).toBe(200);
    const gone = await http(url, 'GET', `/api/v1/conversations/${conv}/messages`, undefined, leaving.token);
    expect([gone.status, gone.body.error?.code]).toEqual([404, 'not_found']);
  });

  test('a member still gets their answers (control)', async () => {
    const { sock } = await TestSocket.connect(server.wsUrl, bob.token, cmid('bob'));
    try {
      expect(acked(await request(sock, { type: 'REACT', client_msg_id: cmid('ok'), conv_id: group, target_seq: msgSeq, emoji: '👍' }))).toBeGreaterThan(msgSeq);
    } finally {
      sock.close();
    }
  });
});

/** The shard's conversation actors in memory, as /metrics reports them. */
async function liveActors(): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^chat_live_actors (\d+)$/m.exec(text);
  if (!m) throw new Error('chat_live_actors missing from /metrics');
  return Number(m[1]);
}

const randomId = (): string => `c_${Math.random().toString(36).slice(2, 18)}`;

describe('ids of conversations that do not exist cost nothing', () => {
  test('frames for random ids leave no conversation actor behind', async () => {
    const before = await liveActors();
    // The gateway closes a connection after 20 refused frames in 10 s: a few frames per
    // connection; and each prober its own user, within the per-user frame budgets (TYPING's is 20).
    const probers = [eve];
    while (probers.length < 20) probers.push(await registerUserPatiently(url));
    for (let c = 0; c < 20; c++) {
      const { sock } = await TestSocket.connect(server.wsUrl, probers[c].token, cmid('probe'));
      const frames = [
        { type: 'SEND', client_msg_id: cmid('p'), conv_id: randomId(), body: 'hello?' },
        { type: 'REACT', client_msg_id: cmid('p'), conv_id: randomId(), target_seq: 2, emoji: '👍' },
        { type: 'EDIT', client_msg_id: cmid('p'), conv_id: randomId(), target_seq: 2, body: 'x' },
        { type: 'DELETE', client_msg_id: cmid('p'), conv_id: randomId(), target_seq: 2 },
        { type: 'MUTE', conv_id: randomId(), until: -1 },
        { type: 'MARK_UNREAD', conv_id: randomId() },
        { type: 'DELIVERED', conv_id: randomId(), seq: 3 },
        { type: 'READ', conv_id: randomId(), seq: 3 },
        { type: 'TYPING', conv_id: randomId(), state: 'started' },
      ];
      for (const f of [...frames, ...frames.map((f) => ({ ...f, conv_id: randomId(), ...('client_msg_id' in f ? { client_msg_id: cmid('p') } : {}) }))]) {
        sock.send(f);
      }
      for (let i = 0; i < 18; i++) expect(await sock.next((f) => f.type === 'ERROR')).toMatchObject({ code: 'not_found' });
      sock.close();
    }
    expect(await liveActors()).toBe(before);
  });

  restTest('REST requests for random ids leave no conversation actor behind; a new conversation works right after', async () => {
    const before = await liveActors();
    const routes = (conv: string) => conversationRoutes(conv, 2);
    for (let round = 0; round < 40; round++) {
      const answers = await Promise.all(routes(randomId()).map(([, method, path, body]) => http(url, method, '/api/v1' + path, body, eve.token)));
      for (const a of answers) expect(a.status).toBe(404);
    }
    expect(await liveActors()).toBe(before);

    // A real conversation is untouched by all that.
    const conv = await createConversation(url, eve, 'direct', [alice]);
    const { sock } = await TestSocket.connect(server.wsUrl, eve.token, cmid('eve-real'));
    try {
      await sendOk(sock, conv, 'a real one');
    } finally {
      sock.close();
    }
    expect(await liveActors()).toBe(before + 1);
  });
});

describe('lone UTF-16 surrogates are refused in every text field; surrogate pairs pass', () => {
  // Escapes as a client writes them: JSON.parse makes each a lone surrogate (or two in the wrong order).
  const lone: Record<string, string> = { 'lone high': '\\ud800', 'lone low': '\\udc00', 'reversed pair': '\\ude00\\ud83d' };
  const message = (field: string, type?: string) => `${type ? `${type}: ` : ''}${field} must be well-formed Unicode text (it holds a lone UTF-16 surrogate)`;
  /** JSON text of `template` with each "@" replaced by the raw escape `bad` (so the frame carries it as written). */
  const withEscape = (template: object, bad: string): string => JSON.stringify(template).split('@').join(bad);

  test('in frames: ERROR bad_request naming the field, nothing stored or delivered', async () => {
    const b = await TestSocket.connect(server.wsUrl, bob.token, cmid('bob-watch'));
    try {
      for (const [what, bad] of Object.entries(lone)) {
        const { sock } = await TestSocket.connect(server.wsUrl, alice.token, cmid('alice-lone'));
        const cases: [string, string, object][] = [
          ['SEND', 'body', { type: 'SEND', client_msg_id: cmid('l'), conv_id: group, body: 'hi @ there' }],
          ['SEND', 'client_msg_id', { type: 'SEND', client_msg_id: '@', conv_id: group, body: 'hi' }],
          ['SEND', 'mentions[0]', { type: 'SEND', client_msg_id: cmid('l'), conv_id: group, body: 'hi', mentions: ['@'] }],
          ['REACT', 'emoji', { type: 'REACT', client_msg_id: cmid('l'), conv_id: group, target_seq: msgSeq, emoji: '@' }],
          ['EDIT', 'body', { type: 'EDIT', client_msg_id: cmid('l'), conv_id: group, target_seq: msgSeq, body: '@' }],
          ['TYPING', 'conv_id', { type: 'TYPING', conv_id: `${group}@`, state: 'started' }],
          ['PRESENCE_SUB', 'user_ids[1]', { type: 'PRESENCE_SUB', user_ids: [bob.user_id, '@'] }],
        ];
        for (const [type, field, template] of cases) {
          const text = withEscape(template, bad);
          expect(text).toContain(bad);
          sock.send(text);
          const err = await sock.next((f) => f.type === 'ERROR' || f.type === 'ACK');
          expect({ what, type, code: err.code, message: err.message }).toEqual({ what, type, code: 'bad_request', message: message(field, type) });
        }
        sock.close();
        // A CONNECT is refused like any bad first frame.
        const raw = await TestSocket.open(server.wsUrl);
        raw.send(withEscape({ type: 'CONNECT', token: alice.token, device_id: 'phone@' }, bad));
        expect(await raw.closed).toBe(4002);
      }
      await b.sock.none((f) => f.type === 'DELIVER' || f.type === 'TYPING', 200);
      const events = await http(url, 'GET', `/api/v1/conversations/${group}/events?after=${msgSeq}`, undefined, alice.token);
      expect((events.body.events as { kind: string }[]).filter((e) => e.kind !== 'reaction')).toEqual([]);
    } finally {
      b.sock.close();
    }
  });

  test('in frames: astral characters (surrogate pairs) pass everywhere', async () => {
    const { sock } = await TestSocket.connect(server.wsUrl, alice.token, `phone-😀-${cmid()}`);
    const b = await TestSocket.connect(server.wsUrl, bob.token, cmid('bob-astral'));
    try {
      const seq = acked(await request(sock, { type: 'SEND', client_msg_id: cmid('😀'), conv_id: group, body: '😀 hi 🎉' }));
      expect(await b.sock.next((f) => f.type === 'DELIVER' && f.seq === seq)).toMatchObject({ body: '😀 hi 🎉' });
      acked(await request(sock, { type: 'REACT', client_msg_id: cmid('r'), conv_id: group, target_seq: seq, emoji: '😀' }));
      acked(await request(sock, { type: 'EDIT', client_msg_id: cmid('e'), conv_id: group, target_seq: seq, body: '🎉 edited 😀' }));
    } finally {
      sock.close();
      b.sock.close();
    }
  });

  restTest('in REST bodies: 400 bad_request naming the field, on every route with a body', async () => {
    const conv = await createConversation(url, alice, 'group', [bob], 'rest text');
    const seq = (await http(url, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: cmid('m'), body: 'hi' }, alice.token)).body.seq as number;
    const cases: [string, string, string, object, string | undefined][] = [
      ['register: display_name', 'POST', '/auth/register', { username: `lone${process.pid}x1`, password: 'correct horse battery', display_name: 'Eve @' }, undefined],
      ['register: password', 'POST', '/auth/register', { username: `lone${process.pid}x2`, password: 'correct horse @ battery' }, undefined],
      ['login: username', 'POST', '/auth/login', { username: 'eve@', password: 'correct horse battery' }, undefined],
      ['create: title', 'POST', '/conversations', { type: 'group', member_ids: [bob.user_id], title: 'party @' }, alice.token],
      ['create: member_ids[0]', 'POST', '/conversations', { type: 'group', member_ids: ['@'], title: 'x' }, alice.token],
      ['add members: user_ids[0]', 'POST', `/conversations/${conv}/members`, { user_ids: ['@'] }, alice.token],
      ['send: body', 'POST', `/conversations/${conv}/messages`, { client_msg_id: cmid('m'), body: 'hi @' }, alice.token],
      ['send: client_msg_id', 'POST', `/conversations/${conv}/messages`, { client_msg_id: '@', body: 'hi' }, alice.token],
      ['react: emoji', 'POST', `/conversations/${conv}/messages/${seq}/reactions`, { client_msg_id: cmid('r'), emoji: '@' }, alice.token],
      ['edit: body', 'PATCH', `/conversations/${conv}/messages/${seq}`, { client_msg_id: cmid('e'), body: '@' }, alice.token],
      ['unsend: client_msg_id', 'DELETE', `/conversations/${conv}/messages/${seq}`, { client_msg_id: '@' }, alice.token],
      ['upload: name', 'POST', '/attachments', { name: 'cat @.jpg', content_type: 'image/jpeg', size: 10, sha256: 'a'.repeat(64) }, alice.token],
      ['push: app_id', 'PUT', '/push/devices/d1', { platform: 'android', app_id: 'app@', fcm_token: 'tok' }, alice.token],
      ['push: webpush.keys.auth', 'PUT', '/push/devices/d1', { platform: 'web', webpush: { endpoint: 'https://push.example/x', keys: { p256dh: 'k', auth: '@' } } }, alice.token],
    ];
    for (const [what, bad] of Object.entries(lone)) {
      for (const [name, method, path, template, token] of cases) {
        const field = name.split(': ')[1];
        const res = await http(url, method, '/api/v1' + path, undefined, token, withEscape(template, bad));
        expect({ what, name, status: res.status, error: res.body.error }).toEqual({ what, name, status: 400, error: { code: 'bad_request', message: message(field) } });
      }
    }
    // Nothing of that was stored.
    const events = await http(url, 'GET', `/api/v1/conversations/${conv}/events?after=0`, undefined, alice.token);
    expect((events.body.events as { kind: string }[]).map((e) => e.kind)).toEqual(['member_added', 'message']);
    expect((await http(url, 'POST', '/api/v1/auth/login', { username: `lone${process.pid}x1`, password: 'correct horse battery' })).status).toBe(401);
  });

  restTest('in REST bodies: astral characters pass', async () => {
    const user = await registerUserPatiently(url);
    const named = await http(url, 'POST', '/api/v1/auth/register', { username: `astral${process.pid}`, password: 'correct horse battery', display_name: 'Zoë 😀' });
    expect(named.status).toBe(201);
    const conv = await http(url, 'POST', '/api/v1/conversations', { type: 'group', member_ids: [alice.user_id], title: '🎉 party' }, user.token);
    expect(conv.status).toBe(201);
    expect(conv.body.title).toBe('🎉 party');
    const sent = await http(url, 'POST', `/api/v1/conversations/${conv.body.conv_id}/messages`, { client_msg_id: cmid('😀'), body: '😀' }, user.token);
    expect(sent.status).toBe(201);
    const react = await http(url, 'POST', `/api/v1/conversations/${conv.body.conv_id}/messages/${sent.body.seq}/reactions`, { client_msg_id: cmid('r'), emoji: '😀' }, user.token);
    expect(react.status).toBe(201);
    const history = await http(url, 'GET', `/api/v1/conversations/${conv.body.conv_id}/messages`, undefined, user.token);
    expect(history.body.messages[0]).toMatchObject({ body: '😀', reactions: { [user.user_id]: '😀' } });
    const slot = await http(url, 'POST', '/api/v1/attachments', { name: '😀.jpg', content_type: 'image/jpeg', size: 10, sha256: 'a'.repeat(64) }, user.token);
    expect(slot.status).toBe(201);
  });

  restTest('path parameters cannot carry one: percent-encoded surrogates do not decode', async () => {
    const res = await http(url, 'GET', '/api/v1/conversations/c%ED%A0%80/messages', undefined, alice.token);
    expect(res.status).toBe(400);
  });
});

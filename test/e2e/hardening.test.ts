/**
 * What an outsider can learn or cost the server through conversation ids: a conversation
 * they are not in answers exactly as one that does not exist, on every REST route and
 * frame that names one. Runs over WebSocket and over long-poll (jest project
 * e2e-longpoll); REST-only cases run once.
 */
import { TestSocket, createConversation, http, registerUserPatiently, startTestServer, stopTestServer, transport, type Frame, type TestServer, type TestUser } from './harness';
import { acked, cmid, request, sendOk } from './rich-helpers';

/** REST does not depend on the frame carrier: run those cases in the WebSocket project only. */
const restTest = transport === 'longpoll' ? test.skip : test;

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
    // The gateway closes a connection after 20 refused frames in 10 s: a few frames per connection.
    for (let c = 0; c < 20; c++) {
      const { sock } = await TestSocket.connect(server.wsUrl, eve.token, cmid('probe'));
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

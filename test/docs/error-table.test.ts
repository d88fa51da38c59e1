/**
 * docs/protocol.md's error table against a running server. The table is parsed from the
 * doc; for every code in it, the condition it names is driven for real over WebSocket,
 * long-poll and REST, and each transport must answer that code (REST: with the table's
 * HTTP status). A code added to the table without a driver here fails, and so does a
 * transport that answers one condition with another code (as an over-long body once did).
 */
import type { Store } from '../../src/store';
import type { Sequencer } from '../../src/sequencer';
import { httpStatus, type ErrorCode } from '../../src/protocol/errors';
import { readDoc, tableAfter } from './markdown';
import {
  TestSocket,
  createConversation,
  http,
  registerUser,
  startTestServer,
  stopTestServer,
  type Frame,
  type HttpResult,
  type TestServer,
  type TestUser,
  type Transport,
} from '../e2e/harness';

const table = tableAfter(readDoc('docs/protocol.md'), 'Errors').map(([code, when, status]) => ({
  code: code.replace(/`/g, ''),
  when,
  status: Number(status),
}));

// Small limits, so one frame can be over MAX_FRAME_BYTES while its body is within
// MAX_BODY_CHARS, and a few sends exhaust a user's budget.
const maxFrameBytes = 16_384;
const maxBodyChars = 10_000;
const env = {
  MAX_FRAME_BYTES: String(maxFrameBytes),
  MAX_BODY_CHARS: String(maxBodyChars),
  RATE_LIMIT_PER_SECOND: '1',
  RATE_LIMIT_BURST: '4',
  REGISTER_PER_SECOND: '1000',
  REGISTER_BURST: '1000',
};

/** How the wrapped store and sequencer answer: as usual, as a locked database, or as a bug. */
let engines: 'ok' | 'busy' | 'bug' = 'ok';

function failing<T extends object>(engine: T): T {
  return new Proxy(engine, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || prop === 'close') return value;
      return (...args: unknown[]) => {
        if (engines === 'busy') return Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
        if (engines === 'bug') return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'seq')"));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(env, { wrapStore: (s: Store) => failing(s), wrapSequencer: (s: Sequencer) => failing(s) });
});
afterAll(() => stopTestServer(server));
afterEach(() => {
  engines = 'ok';
});

/** Two fresh users (fresh budgets) and their direct conversation; `ann` sent the first message. */
interface Scene {
  ann: TestUser;
  ben: TestUser;
  conv: string;
  seq: number;
}

async function scene(): Promise<Scene> {
  const ann = await registerUser(server.url);
  const ben = await registerUser(server.url);
  const conv = await createConversation(server.url, ann, 'direct', [ben]);
  const sent = await http(server.url, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: 'first', body: 'hi' }, ann.token);
  if (sent.status !== 201) throw new Error(`send failed: ${sent.status}`);
  return { ann, ben, conv, seq: sent.body.seq };
}

const unknownConv = 'c_0000000000000000';

/** Sends one frame over `sock` and returns the ERROR that answers it (by `ref`). */
async function refused(sock: TestSocket, frame: Frame & { client_msg_id: string }): Promise<Frame> {
  sock.send(frame);
  const answer = await sock.next((f) => (f.type === 'ERROR' && f.ref === frame.client_msg_id) || (f.type === 'ACK' && f.client_msg_id === frame.client_msg_id));
  sock.close();
  return answer;
}

async function connected(user: TestUser, via: Transport): Promise<TestSocket> {
  return (await TestSocket.connect(server.wsUrl, user.token, `d-${via}`, undefined, via)).sock;
}

/** The condition a code names, driven as a frame (answering the ERROR) and over REST. */
interface Driver {
  condition: string;
  frame: (via: Transport) => Promise<Frame>;
  rest: () => Promise<HttpResult>;
}

const send = (s: Scene, body: unknown, id = 'm2') => ({ type: 'SEND', client_msg_id: id, conv_id: s.conv, body });
const post = (s: Scene, body: unknown, token = s.ann.token, id = 'm2') =>
  http(server.url, 'POST', `/api/v1/conversations/${s.conv}/messages`, { client_msg_id: id, body }, token);

const drivers: Record<string, Driver[]> = {
  bad_request: [
    {
      condition: 'a body of the wrong type',
      frame: async (via) => {
        const s = await scene();
        return refused(await connected(s.ann, via), send(s, 5));
      },
      rest: async () => post(await scene(), 5),
    },
  ],
  unauthorized: [
    {
      condition: 'a forged token',
      frame: async (via) => {
        const sock = await TestSocket.open(server.wsUrl, {}, via);
        sock.send({ type: 'CONNECT', token: 'forged.token.here', device_id: 'd1' });
        return sock.next((f) => f.type === 'ERROR');
      },
      rest: () => http(server.url, 'GET', '/api/v1/conversations', undefined, 'forged.token.here'),
    },
  ],
  forbidden: [
    {
      condition: "editing someone else's message",
      frame: async (via) => {
        const s = await scene();
        return refused(await connected(s.ben, via), { type: 'EDIT', client_msg_id: 'e1', conv_id: s.conv, target_seq: s.seq, body: 'mine now' });
      },
      rest: async () => {
        const s = await scene();
        return http(server.url, 'PATCH', `/api/v1/conversations/${s.conv}/messages/${s.seq}`, { client_msg_id: 'e1', body: 'mine now' }, s.ben.token);
      },
    },
  ],
  not_found: [
    {
      condition: 'an unknown conversation',
      frame: async (via) => refused(await connected((await scene()).ann, via), { type: 'SEND', client_msg_id: 'm2', conv_id: unknownConv, body: 'hi' }),
      rest: async () => http(server.url, 'POST', `/api/v1/conversations/${unknownConv}/messages`, { client_msg_id: 'm2', body: 'hi' }, (await scene()).ann.token),
    },
  ],
  too_large: [
    {
      condition: 'a body over MAX_BODY_CHARS',
      frame: async (via) => {
        const s = await scene();
        return refused(await connected(s.ann, via), send(s, 'x'.repeat(maxBodyChars + 1)));
      },
      rest: async () => post(await scene(), 'x'.repeat(maxBodyChars + 1)),
    },
    {
      condition: 'a frame or request over MAX_FRAME_BYTES (its body within MAX_BODY_CHARS)',
      frame: async (via) => {
        const s = await scene();
        const sock = await connected(s.ann, via);
        // 9,000 characters, 18,000 bytes in UTF-8. A frame this size is not parsed, so its
        // ERROR cannot name it: `ref` is null.
        sock.send(send(s, 'é'.repeat(9_000)));
        const err = await sock.next((f) => f.type === 'ERROR' || f.type === 'ACK');
        sock.close();
        expect(err.ref).toBeNull();
        return err;
      },
      rest: async () => post(await scene(), 'é'.repeat(9_000)),
    },
  ],
  rate_limited: [
    {
      condition: "sends over the user's budget",
      frame: async (via) => {
        const s = await scene();
        const sock = await connected(s.ann, via);
        for (let i = 0; i < 8; i++) sock.send(send(s, 'hi', `r${i}`));
        const err = await sock.next((f) => f.type === 'ERROR');
        sock.close();
        return err;
      },
      rest: async () => {
        const s = await scene();
        // At once, so that no refill (1/s) can keep up however slow the machine.
        const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(s, 'hi', s.ann.token, `r${i}`)));
        return answers.find((a) => a.status !== 201) ?? answers[0];
      },
    },
  ],
  conflict: [
    {
      condition: 'a client_msg_id reused for another kind of command',
      frame: async (via) => {
        const s = await scene();
        return refused(await connected(s.ann, via), { type: 'REACT', client_msg_id: 'first', conv_id: s.conv, target_seq: s.seq, emoji: '👍' });
      },
      rest: async () => {
        const s = await scene();
        return http(server.url, 'POST', `/api/v1/conversations/${s.conv}/messages/${s.seq}/reactions`, { client_msg_id: 'first', emoji: '👍' }, s.ann.token);
      },
    },
  ],
  unavailable: [
    {
      condition: 'the store failing as a locked database does',
      frame: async (via) => {
        const s = await scene();
        const sock = await connected(s.ann, via);
        engines = 'busy';
        return refused(sock, send(s, 'hi'));
      },
      rest: async () => {
        const s = await scene();
        engines = 'busy';
        return post(s, 'hi');
      },
    },
  ],
  internal: [
    {
      condition: 'the store failing with a programming error',
      frame: async (via) => {
        const s = await scene();
        const sock = await connected(s.ann, via);
        engines = 'bug';
        return refused(sock, send(s, 'hi'));
      },
      rest: async () => {
        const s = await scene();
        engines = 'bug';
        return post(s, 'hi');
      },
    },
  ],
};

test('the table lists every error code the server has, with the status it answers', () => {
  expect(table.map((r) => r.code).sort()).toEqual(Object.keys(httpStatus).sort());
  for (const row of table) expect([row.code, row.status]).toEqual([row.code, httpStatus[row.code as ErrorCode]]);
});

test('every code in the table has a condition driven below', () => {
  expect(table.filter((r) => !drivers[r.code]).map((r) => r.code)).toEqual([]);
});

const cases = table.flatMap((row) => (drivers[row.code] ?? []).map((d) => ({ ...row, driver: d })));

describe.each(cases)('$code: $driver.condition', ({ code, status, driver }) => {
  test.each<Transport>(['websocket', 'longpoll'])(`an ERROR ${code} over %s`, async (via) => {
    const answer = await driver.frame(via);
    expect(answer).toMatchObject({ type: 'ERROR', code });
  });

  test(`REST answers ${status} ${code}`, async () => {
    const res = await driver.rest();
    expect({ status: res.status, code: (res.body as { error?: { code?: string } }).error?.code }).toEqual({ status, code });
  });
});

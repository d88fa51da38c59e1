/**
 * The long-poll transport over a real server (docs/protocol.md, "Long-poll"), spoken with
 * raw fetch requests: open, send, poll, cursor semantics, status codes, close reporting,
 * liveness, shutdown, and a long-poll user chatting with a WebSocket user. The protocol
 * suites also run whole over long-poll (jest project e2e-longpoll).
 */
import { TestSocket, createConversation, pollUntil, registerUser, sleep, startTestServer, stopTestServer, type Frame, type TestServer, type TestUser } from './harness';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

const maxFrameBytes = 4096;

beforeAll(async () => {
  server = await startTestServer({ CONNECT_TIMEOUT_MS: '500', MAX_FRAME_BYTES: String(maxFrameBytes), MARKER_FLUSH_MS: '50' });
  [alice, bob] = await Promise.all([registerUser(server.url), registerUser(server.url)]);
});
afterAll(() => stopTestServer(server));

interface Reply {
  status: number;
  type: string | null;
  text: string;
  body: any;
}

async function request(base: string, method: string, path: string, body?: string): Promise<Reply> {
  const res = await fetch(base + path, { method, body, headers: body === undefined ? {} : { 'content-type': 'text/plain' } });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text, body: text ? JSON.parse(text) : null };
}

interface PollAnswer {
  frames: Frame[];
  cursor: number;
  closed: { code: number; reason: string } | null;
}

/** A raw long-poll session: the sid and the cursor of the frames taken so far. */
class Raw {
  cursor = 0;
  constructor(
    readonly base: string,
    readonly sid: string,
  ) {}

  static async open(base = server.url): Promise<Raw> {
    const res = await request(base, 'POST', '/lp');
    expect(res.status).toBe(201);
    return new Raw(base, res.body.sid);
  }

  send(...frames: unknown[]): Promise<Reply> {
    return request(this.base, 'POST', `/lp/${this.sid}/send`, frames.map((f) => (typeof f === 'string' ? f : JSON.stringify(f))).join('\n'));
  }

  /** One poll at `cursor` (default: the frames taken so far); does not move the cursor. */
  async pollAt(cursor: number, waitMs?: number): Promise<Reply> {
    return request(this.base, 'GET', `/lp/${this.sid}/poll?cursor=${cursor}${waitMs === undefined ? '' : `&wait_ms=${waitMs}`}`);
  }

  /** Polls and takes the answer (moves the cursor). */
  async poll(waitMs?: number): Promise<PollAnswer> {
    const res = await this.pollAt(this.cursor, waitMs);
    expect(res.status).toBe(200);
    const answer = res.body as PollAnswer;
    this.cursor = answer.cursor;
    return answer;
  }

  /** Polls until a frame matching `pred` arrives; returns it with everything taken on the way. */
  async until(pred: (f: Frame) => boolean, timeoutMs = 5000): Promise<{ frame: Frame; taken: Frame[] }> {
    const taken: Frame[] = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const a = await this.poll(Math.max(0, Math.min(1000, deadline - Date.now())));
      taken.push(...a.frames);
      const frame = taken.find(pred);
      if (frame) return { frame, taken };
      if (a.closed) throw new Error(`closed ${JSON.stringify(a.closed)} while waiting; took ${JSON.stringify(taken)}`);
    }
    throw new Error(`timed out; took ${JSON.stringify(taken)}`);
  }

  /** Polls until the answer reports the close; returns the frames taken and the close. */
  async untilClosed(timeoutMs = 5000): Promise<{ frames: Frame[]; closed: { code: number; reason: string } }> {
    const frames: Frame[] = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const a = await this.poll(1000);
      frames.push(...a.frames);
      if (a.closed) return { frames, closed: a.closed };
    }
    throw new Error(`not closed in time; took ${JSON.stringify(frames)}`);
  }

  async connect(user: TestUser, deviceId: string): Promise<Frame> {
    expect((await this.send({ type: 'CONNECT', token: user.token, device_id: deviceId })).status).toBe(204);
    return (await this.until((f) => f.type === 'CONNACK')).frame;
  }
}

const isMsg = (f: Frame) => f.type === 'DELIVER' && f.kind === 'message';

describe('open, send, poll', () => {
  test('POST /lp opens a session with an opaque sid; frames sent come back through the poll', async () => {
    const res = await request(server.url, 'POST', '/lp');
    expect(res.status).toBe(201);
    expect(res.type).toMatch(/^application\/json/);
    expect(res.body).toEqual({ sid: expect.stringMatching(/^[A-Za-z0-9_-]{22,}$/), poll_ms: 25000 });
    const other = await request(server.url, 'POST', '/lp');
    expect(other.body.sid).not.toBe(res.body.sid);
    const raw = new Raw(server.url, res.body.sid);
    const connack = await raw.connect(alice, 'lp-open');
    expect(connack).toMatchObject({ type: 'CONNACK', user_id: alice.user_id, device_id: 'lp-open', heartbeat_ms: expect.any(Number) });
    expect(raw.cursor).toBe(1);
    // Several frames in one body (empty lines ignored) go through in order.
    expect((await raw.send({ type: 'PING' }, '', { type: 'PING' }, '')).status).toBe(204);
    const frames: Frame[] = [];
    while (frames.length < 2) frames.push(...(await raw.poll()).frames);
    expect(frames.map((f) => f.type)).toEqual(['PONG', 'PONG']);
    expect(raw.cursor).toBe(3);
    await request(server.url, 'DELETE', `/lp/${other.body.sid}`);
    await request(server.url, 'DELETE', `/lp/${raw.sid}`);
  });

  test('the poll answer is the frames as written, concatenated: {"frames":[...],"cursor":M,"closed":null}', async () => {
    const raw = await Raw.open();
    await raw.connect(alice, 'lp-bytes');
    await raw.send({ type: 'PING' });
    const res = await raw.pollAt(raw.cursor); // waits for the PONG
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/json; charset=utf-8');
    expect(res.text).toMatch(/^\{"frames":\[\{"type":"PONG","ts":\d+\}\],"cursor":2,"closed":null\}$/);
    await request(server.url, 'DELETE', `/lp/${raw.sid}`);
  });

  test('a poll with nothing to take waits, and wakes on the first frame', async () => {
    const raw = await Raw.open();
    await raw.connect(alice, 'lp-wait');
    const t0 = Date.now();
    const waiting = raw.poll();
    await sleep(300);
    await raw.send({ type: 'PING' });
    const answer = await waiting;
    expect(answer.frames.map((f) => f.type)).toEqual(['PONG']);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(5000);
    await request(server.url, 'DELETE', `/lp/${raw.sid}`);
  });

  test('wait_ms bounds the wait (0 answers at once); bad values are 400', async () => {
    const raw = await Raw.open();
    await raw.connect(alice, 'lp-waitms');
    let t0 = Date.now();
    expect(await raw.poll(0)).toEqual({ frames: [], cursor: 1, closed: null });
    expect(Date.now() - t0).toBeLessThan(200);
    t0 = Date.now();
    expect(await raw.poll(250)).toEqual({ frames: [], cursor: 1, closed: null });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
    expect(Date.now() - t0).toBeLessThan(2000);
    for (const q of ['wait_ms=-1', 'wait_ms=abc', 'wait_ms=1.5', 'cursor=x', '', 'cursor=-1']) {
      const query = q.startsWith('cursor') || q === '' ? q : `cursor=1&${q}`;
      const res = await request(server.url, 'GET', `/lp/${raw.sid}/poll?${query}`);
      expect({ q, status: res.status, body: res.body }).toEqual({ q, status: 400, body: { error: { code: 'bad_request', message: expect.any(String) } } });
    }
    await request(server.url, 'DELETE', `/lp/${raw.sid}`);
  });

  test('nothing is lost between polls: a lost answer is fetched again with the same cursor', async () => {
    const raw = await Raw.open();
    await raw.connect(alice, 'lp-lost');
    await raw.send({ type: 'PING' }, { type: 'PING' }, { type: 'PING' });
    // Until the three PONGs are queued (a wait_ms=0 poll does not wait for them).
    await pollUntil(() => raw.pollAt(1, 0), (r) => r.body.frames.length >= 3);
    const first = await raw.pollAt(1, 0); // pretend this answer never arrived
    expect(first.body.frames).toHaveLength(3);
    expect(first.body.cursor).toBe(4);
    const again = await raw.pollAt(1, 0);
    expect(again.text).toBe(first.text);
    // Taking two of them acknowledges those only.
    const partial = await raw.pollAt(3, 0);
    expect(partial.body).toEqual({ frames: [first.body.frames[2]], cursor: 4, closed: null });
    // Behind an acknowledged frame, or beyond the last one: 400.
    expect((await raw.pollAt(1, 0)).status).toBe(400);
    expect((await raw.pollAt(5, 0)).status).toBe(400);
    expect((await raw.pollAt(4, 0)).body).toEqual({ frames: [], cursor: 4, closed: null });
    await request(server.url, 'DELETE', `/lp/${raw.sid}`);
  });

  test('a second poll supersedes the waiting one, which answers at once with no frames', async () => {
    const raw = await Raw.open();
    await raw.connect(alice, 'lp-super');
    const t0 = Date.now();
    const first = raw.pollAt(1);
    await sleep(100);
    const second = raw.pollAt(1);
    const a = await first;
    expect(a.body).toEqual({ frames: [], cursor: 1, closed: null });
    expect(Date.now() - t0).toBeLessThan(2000);
    await raw.send({ type: 'PING' });
    expect((await second).body.frames.map((f: Frame) => f.type)).toEqual(['PONG']);
    await request(server.url, 'DELETE', `/lp/${raw.sid}`);
  });
});

describe('status codes and errors', () => {
  test('unknown sid: 404 with a JSON error on send, poll and DELETE; unknown paths under /lp are 404', async () => {
    const ghost = 'AAAAAAAAAAAAAAAAAAAAAA';
    for (const [method, path, body] of [
      ['POST', `/lp/${ghost}/send`, '{"type":"PING"}'],
      ['GET', `/lp/${ghost}/poll?cursor=0`, undefined],
      ['DELETE', `/lp/${ghost}`, undefined],
      ['GET', '/lp', undefined],
      ['POST', `/lp/${ghost}/nope`, undefined],
    ] as const) {
      const res = await request(server.url, method, path, body);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 404, body: { error: { code: 'not_found', message: expect.any(String) } } });
      expect(res.type).toMatch(/^application\/json/);
    }
  });

  test('a body over 16 × MAX_FRAME_BYTES is 413, nothing of it is processed, and the session lives on', async () => {
    const raw = await Raw.open();
    await raw.connect(alice, 'lp-413');
    const ping = JSON.stringify({ type: 'PING' });
    const huge = [ping, 'x'.repeat(maxFrameBytes * 16)].join('\n');
    const res = await request(server.url, 'POST', `/lp/${raw.sid}/send`, huge);
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: { code: 'too_large', message: expect.any(String) } });
    expect(await raw.poll(300)).toEqual({ frames: [], cursor: 1, closed: null }); // not even the PING
    // A frame over MAX_FRAME_BYTES but under the cap: ERROR too_large, as on a socket.
    await raw.send({ type: 'SEND', client_msg_id: 'big', conv_id: 'c_x', body: 'b'.repeat(maxFrameBytes + 10) });
    expect((await raw.until((f) => f.type === 'ERROR')).frame).toMatchObject({ code: 'too_large' });
    await raw.send({ type: 'PING' });
    await raw.until((f) => f.type === 'PONG');
    await request(server.url, 'DELETE', `/lp/${raw.sid}`);
  });

  test('no CONNECT in time: the poll reports closed 4002, sends get 410 with the close', async () => {
    const raw = await Raw.open();
    const t0 = Date.now();
    const { frames, closed } = await raw.untilClosed();
    expect(frames).toEqual([]);
    expect(closed).toEqual({ code: 4002, reason: expect.any(String) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    const res = await raw.send({ type: 'CONNECT', token: alice.token, device_id: 'late' });
    expect(res.status).toBe(410);
    expect(res.body).toEqual({ error: { code: 'conflict', message: 'session closed' }, close: closed });
    // The record stays so a lost answer can be fetched again.
    expect((await raw.pollAt(raw.cursor, 0)).body).toEqual({ frames: [], cursor: 0, closed });
  });

  test('first frame not CONNECT: closed 4002', async () => {
    const raw = await Raw.open();
    await raw.send({ type: 'PING' });
    expect((await raw.untilClosed()).closed.code).toBe(4002);
  });

  test('bad token at CONNECT: ERROR unauthorized, then closed 4001', async () => {
    const raw = await Raw.open();
    await raw.send({ type: 'CONNECT', token: 'not-a-jwt', device_id: 'd' });
    const { frames, closed } = await raw.untilClosed();
    expect(frames).toEqual([{ type: 'ERROR', code: 'unauthorized', message: expect.any(String), ref: null }]);
    expect(closed).toEqual({ code: 4001, reason: 'unauthorized' });
  });
});

describe('across transports', () => {
  test('a long-poll user and a WebSocket user chat both ways: ACK, DELIVER, RECEIPT, TYPING, READ_SYNC', async () => {
    const conv = await createConversation(server.url, alice, 'direct', [bob]);
    const a = await TestSocket.connect(server.wsUrl, alice.token, 'a-lp', undefined, 'longpoll');
    const b = await TestSocket.connect(server.wsUrl, bob.token, 'b-ws', undefined, 'websocket');
    const b2 = await TestSocket.connect(server.wsUrl, bob.token, 'b-lp', undefined, 'longpoll');
    expect(() => a.sock.ws).toThrow(); // really on long-poll

    // long-poll -> WebSocket
    const ack1 = await a.sock.sendMessage(conv, 'hello from long-poll', 'x-1');
    expect(ack1).toMatchObject({ type: 'ACK', client_msg_id: 'x-1', conv_id: conv });
    expect(await b.sock.next(isMsg)).toMatchObject({ seq: ack1.seq, sender_id: alice.user_id, body: 'hello from long-poll' });
    expect(await b2.sock.next(isMsg)).toMatchObject({ seq: ack1.seq });
    b.sock.send({ type: 'DELIVERED', conv_id: conv, seq: ack1.seq });
    expect(await a.sock.next((f) => f.type === 'RECEIPT')).toEqual({ type: 'RECEIPT', conv_id: conv, user_id: bob.user_id, seq: ack1.seq, kind: 'delivered' });

    // WebSocket -> long-poll
    const ack2 = await b.sock.sendMessage(conv, 'hello from a socket', 'x-2');
    expect(await a.sock.next(isMsg)).toMatchObject({ seq: ack2.seq, sender_id: bob.user_id, body: 'hello from a socket' });
    expect(await b2.sock.next(isMsg)).toMatchObject({ seq: ack2.seq }); // bob's other device, on long-poll

    // TYPING both ways.
    a.sock.send({ type: 'TYPING', conv_id: conv, state: 'started' });
    expect(await b.sock.next((f) => f.type === 'TYPING')).toEqual({ type: 'TYPING', conv_id: conv, user_id: alice.user_id, state: 'started' });
    b.sock.send({ type: 'TYPING', conv_id: conv, state: 'started' });
    expect(await a.sock.next((f) => f.type === 'TYPING')).toEqual({ type: 'TYPING', conv_id: conv, user_id: bob.user_id, state: 'started' });

    // READ on long-poll: READ_SYNC to alice's session, RECEIPT read to bob's socket.
    a.sock.send({ type: 'READ', conv_id: conv, seq: ack2.seq });
    expect(await a.sock.next((f) => f.type === 'READ_SYNC')).toMatchObject({ conv_id: conv, last_read_seq: ack2.seq, unread: 0 });
    expect(await b.sock.next((f) => f.type === 'RECEIPT' && f.kind === 'read')).toEqual({ type: 'RECEIPT', conv_id: conv, user_id: alice.user_id, seq: ack2.seq, kind: 'read' });

    // READ on the socket: READ_SYNC to both of bob's devices (one per transport), RECEIPT read to long-poll.
    const ack3 = await a.sock.sendMessage(conv, 'one more', 'x-3');
    await b.sock.next((f) => isMsg(f) && f.seq === ack3.seq);
    b.sock.send({ type: 'READ', conv_id: conv, seq: ack3.seq });
    const sync = { type: 'READ_SYNC', conv_id: conv, last_read_seq: ack3.seq, unread: 0, unread_mentions: 0, marked_unread: false };
    expect(await b.sock.next((f) => f.type === 'READ_SYNC' && f.last_read_seq === ack3.seq)).toEqual(sync);
    expect(await b2.sock.next((f) => f.type === 'READ_SYNC' && f.last_read_seq === ack3.seq)).toEqual(sync);
    expect(await a.sock.next((f) => f.type === 'RECEIPT' && f.kind === 'read')).toEqual({ type: 'RECEIPT', conv_id: conv, user_id: bob.user_id, seq: ack3.seq, kind: 'read' });
    for (const s of [a, b, b2]) s.sock.close();
  });
});

describe('closing and liveness', () => {
  test('DELETE closes like a client closing its socket: presence goes offline with the last session, then 404', async () => {
    const carol = await registerUser(server.url);
    const watcher = await TestSocket.connect(server.wsUrl, alice.token, 'watch-lp', undefined, 'websocket');
    watcher.sock.send({ type: 'PRESENCE_SUB', user_ids: [carol.user_id] });
    expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: carol.user_id, state: 'offline' });
    const one = await Raw.open();
    await one.connect(carol, 'c1');
    expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: carol.user_id, state: 'online' });
    const two = await Raw.open();
    await two.connect(carol, 'c2');
    const waiting = two.poll(); // a waiting poll learns of the DELETE at once
    expect((await request(server.url, 'DELETE', `/lp/${two.sid}`)).status).toBe(204);
    expect((await waiting).closed).toEqual({ code: 1000, reason: expect.any(String) });
    await watcher.sock.none((f) => f.type === 'PRESENCE');
    expect((await request(server.url, 'DELETE', `/lp/${one.sid}`)).status).toBe(204);
    expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: carol.user_id, state: 'offline', last_seen: expect.any(Number) });
    expect((await one.pollAt(one.cursor, 0)).status).toBe(404);
    expect((await one.send({ type: 'PING' })).status).toBe(404);
    watcher.sock.close();
  });

  test('a session that stops polling is dropped by the heartbeat; one whose poll waits is not', async () => {
    const hb = await startTestServer({ HEARTBEAT_MS: '1000' });
    try {
      const [dan, eve] = await Promise.all([registerUser(hb.url), registerUser(hb.url)]);
      const watcher = await TestSocket.connect(hb.wsUrl, eve.token, 'watch-hb', undefined, 'websocket');
      watcher.sock.send({ type: 'PRESENCE_SUB', user_ids: [dan.user_id] });
      await watcher.sock.next((f) => f.type === 'PRESENCE');
      const silent = await Raw.open(hb.url);
      await silent.connect(dan, 'silent');
      await watcher.sock.next((f) => f.type === 'PRESENCE' && f.state === 'online');
      const keeper = await Raw.open(hb.url);
      await keeper.connect(eve, 'keeper');
      const t0 = Date.now();
      const kept = keeper.poll(25_000); // waits through several sweeps
      // `silent` makes no request from here on.
      // Dropped after one to two sweeps without a request (slack for a loaded machine).
      expect(await watcher.sock.next((f) => f.type === 'PRESENCE', 10_000)).toMatchObject({ user_id: dan.user_id, state: 'offline' });
      expect(Date.now() - t0).toBeLessThan(8000);
      // Its next poll (within the ~30 s the record is kept) learns the session was dropped.
      const { closed } = await silent.untilClosed();
      expect(closed).toEqual({ code: 1006, reason: expect.any(String) });
      await sleep(Math.max(0, 3000 - (Date.now() - t0)));
      await keeper.send({ type: 'PING' });
      const answer = await kept;
      expect(answer.frames.map((f) => f.type)).toEqual(['PONG']);
      expect(answer.closed).toBeNull();
      watcher.sock.close();
    } finally {
      await stopTestServer(hb);
    }
  });

  test('stop: a waiting poll answers at once with closed 1012; sessions are counted in the metrics', async () => {
    const s = await startTestServer();
    try {
      const dan = await registerUser(s.url);
      const raw = await Raw.open(s.url);
      await raw.connect(dan, 'stop');
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/^chat_longpoll_sessions 1$/m);
      expect(metrics).toMatch(/^chat_connections 1$/m);
      const waiting = raw.poll();
      await sleep(50);
      const t0 = Date.now();
      const stopping = s.stop();
      const answer = await waiting;
      expect(answer.closed).toEqual({ code: 1012, reason: 'shard restarting' });
      expect(Date.now() - t0).toBeLessThan(3000);
      await stopping;
    } finally {
      await stopTestServer(s); // stop() is idempotent
    }
  });

  test('stop while the client is between two polls: REST answers 503, and the next poll still gets closed 1012 before the server goes', async () => {
    const s = await startTestServer();
    try {
      const eve = await registerUser(s.url);
      const raw = await Raw.open(s.url);
      await raw.connect(eve, 'between');
      // No poll is waiting when the shard stops; the client asks a moment later.
      const stopping = s.stop();
      await sleep(30);
      // The shard waits for this session's poll; meanwhile REST is refused with a JSON 503
      // and the health probe still answers.
      const rest = await fetch(`${s.url}/api/v1/conversations`, { headers: { authorization: `Bearer ${eve.token}` } });
      expect(rest.status).toBe(503);
      expect(await rest.json()).toEqual({ error: { code: 'unavailable', message: 'shard restarting' } });
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      const answer = await raw.poll();
      expect(answer.closed).toEqual({ code: 1012, reason: 'shard restarting' });
      await stopping;
    } finally {
      await stopTestServer(s);
    }
  });
});

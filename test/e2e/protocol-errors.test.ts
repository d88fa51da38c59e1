/**
 * Bad input over the socket: each gets the right ERROR or close code, and nothing is stored.
 * Runs over WebSocket, over long-poll (jest project e2e-longpoll) and over MQTT (e2e-mqtt).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import WebSocket from 'ws';
import { TestSocket, createConversation, registerUser, sleep, startTestServer, stopTestServer, transport, type TestServer, type TestUser } from './harness';

// WebSocket-only mechanics (binary frames, close 1009, ws-level pings); their long-poll
// counterparts are in longpoll.test.ts, their MQTT ones in mqtt.test.ts and mqtt-sessions.test.ts.
const testWs = transport === 'websocket' ? test : test.skip;
// Over MQTT the MQTT CONNECT carries the token, so there is no session before a valid one
// and no first frame to get wrong; mqtt.test.ts has the MQTT CONNECT's refusals.
const testNotMqtt = transport === 'mqtt' ? test.skip : test;

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let conv: string;
let db: Database.Database;

const eventCount = () => (db.prepare('SELECT COUNT(*) AS n FROM events WHERE conv_id = ?').get(conv) as { n: number }).n;

beforeAll(async () => {
  server = await startTestServer({
    CONNECT_TIMEOUT_MS: '300',
    HEARTBEAT_MS: '1000',
    MAX_BODY_CHARS: '100',
    MAX_FRAME_BYTES: '4096',
    RATE_LIMIT_PER_SECOND: '1',
    RATE_LIMIT_BURST: '5',
  });
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
  conv = await createConversation(server.url, alice, 'direct', [bob]);
  db = new Database(join(server.dataDir, 'chat.db'), { readonly: true });
});
afterAll(async () => {
  db.close();
  await stopTestServer(server);
});

/**
 * A first frame that is not a valid CONNECT: its ERROR, then close 4002 at once (the reason
 * tells it from the connect timeout, which would also close with 4002 after 300 ms here).
 */
async function expectBadFirstFrame(s: TestSocket, code: string): Promise<void> {
  expect(await s.closed).toBe(4002);
  expect(s.closeReason).toBe('first frame must be a valid CONNECT');
  expect(s.frames).toEqual([expect.objectContaining({ type: 'ERROR', code, ref: null })]);
}

testNotMqtt('first frame other than CONNECT: ERROR bad_request, then close 4002 at once', async () => {
  const s = await TestSocket.open(server.wsUrl);
  s.send({ type: 'PING' });
  await expectBadFirstFrame(s, 'bad_request');
});

testNotMqtt('malformed first frame: ERROR bad_request, then close 4002 at once', async () => {
  const s = await TestSocket.open(server.wsUrl);
  s.send('{not json');
  await expectBadFirstFrame(s, 'bad_request');
});

testNotMqtt('oversized first frame: ERROR too_large, then close 4002 at once', async () => {
  const s = await TestSocket.open(server.wsUrl);
  s.send({ type: 'CONNECT', token: alice.token, device_id: 'd'.repeat(5000) });
  await expectBadFirstFrame(s, 'too_large');
});

// Long-poll bodies are text: there is no binary frame to send (MQTT: a first frame comes after the MQTT CONNECT).
testWs('binary first frame: ERROR bad_request, then close 4002 at once', async () => {
  const s = await TestSocket.open(server.wsUrl);
  s.ws.send(Buffer.from(JSON.stringify({ type: 'CONNECT', token: alice.token, device_id: 'bin' })), { binary: true });
  await expectBadFirstFrame(s, 'bad_request');
});

testNotMqtt('no CONNECT in time closes with 4002', async () => {
  const s = await TestSocket.open(server.wsUrl);
  expect(await s.closed).toBe(4002);
});

testNotMqtt('bad token at CONNECT: ERROR unauthorized then close 4001', async () => {
  const s = await TestSocket.open(server.wsUrl);
  s.send({ type: 'CONNECT', token: 'not-a-jwt', device_id: 'd' });
  expect(await s.closed).toBe(4001);
  expect(s.frames[0]).toMatchObject({ type: 'ERROR', code: 'unauthorized' });
});

testNotMqtt('valid token of a user deleted since: ERROR unauthorized then close 4001', async () => {
  const gone = await registerUser(server.url);
  const rw = new Database(join(server.dataDir, 'chat.db'));
  try {
    rw.prepare('DELETE FROM users WHERE user_id = ?').run(gone.user_id);
  } finally {
    rw.close();
  }
  const s = await TestSocket.open(server.wsUrl);
  s.send({ type: 'CONNECT', token: gone.token, device_id: 'd' });
  expect(await s.closed).toBe(4001);
  expect(s.frames).toEqual([expect.objectContaining({ type: 'ERROR', code: 'unauthorized', ref: null })]);
});

test('each bad frame gets an ERROR with the right code and the connection lives on', async () => {
  const { sock } = await TestSocket.connect(server.wsUrl, alice.token, 'bad-frames');
  const before = eventCount();
  const cases: [unknown, string, string | null][] = [
    ['{oops', 'bad_request', null],
    [[1, 2], 'bad_request', null],
    [{ type: 'NOPE' }, 'bad_request', null],
    [{ no_type: true }, 'bad_request', null],
    [{ type: 'SEND', client_msg_id: 'x1', conv_id: conv }, 'bad_request', 'x1'],
    [{ type: 'SEND', client_msg_id: 'x2', conv_id: conv, body: 42 }, 'bad_request', 'x2'],
    [{ type: 'SEND', client_msg_id: 'x3', conv_id: conv, body: 'a'.repeat(101) }, 'too_large', 'x3'],
    [{ type: 'SEND', client_msg_id: 'x'.repeat(65), conv_id: conv, body: 'hi' }, 'bad_request', 'x'.repeat(64)],
    [{ type: 'SEND', client_msg_id: 'x5', conv_id: conv, body: 'hi', extra: 1 }, 'bad_request', 'x5'],
    [{ type: 'SEND', client_msg_id: 'x6', conv_id: conv, body: '   ' }, 'bad_request', 'x6'],
    [{ type: 'SEND', client_msg_id: 'x7', conv_id: 'c_unknown', body: 'hi' }, 'not_found', 'x7'],
    [{ type: 'READ', conv_id: conv, seq: -1 }, 'bad_request', null],
    [{ type: 'TYPING', conv_id: conv, state: 'dancing' }, 'bad_request', null],
    [{ type: 'CONNECT', token: alice.token, device_id: 'again' }, 'bad_request', null],
  ];
  for (const [frame, code, ref] of cases) {
    sock.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    const err = await sock.next((f) => f.type === 'ERROR');
    expect({ frame, code: err.code, ref: err.ref }).toEqual({ frame, code, ref });
    expect(typeof err.message).toBe('string');
  }
  // Oversized (above MAX_FRAME_BYTES, below the hard cap): ERROR too_large, still usable.
  sock.send({ type: 'SEND', client_msg_id: 'big', conv_id: conv, body: 'b'.repeat(5000) });
  expect(await sock.next((f) => f.type === 'ERROR')).toMatchObject({ code: 'too_large' });
  // Still usable.
  sock.send({ type: 'PING' });
  await sock.next((f) => f.type === 'PONG');
  expect(eventCount()).toBe(before);
  sock.close();
});

// Long-poll bodies are text: there is no binary frame to send (MQTT payloads are bytes: non-UTF-8 ones in mqtt.test.ts).
testWs('binary frames are refused with bad_request and the connection lives on', async () => {
  const { sock } = await TestSocket.connect(server.wsUrl, alice.token, 'binary');
  sock.ws.send(Buffer.from('{"type":"PING"}'), { binary: true });
  expect(await sock.next((f) => f.type === 'ERROR')).toMatchObject({ code: 'bad_request' });
  sock.send({ type: 'PING' });
  await sock.next((f) => f.type === 'PONG');
  sock.close();
});

test('non-member commands are not_found, as for an unknown conversation', async () => {
  const eve = await registerUser(server.url);
  const { sock } = await TestSocket.connect(server.wsUrl, eve.token, 'eve');
  const before = eventCount();
  expect(await sock.sendMessage(conv, 'intrude', 'eve-1')).toMatchObject({ type: 'ERROR', code: 'not_found', ref: 'eve-1' });
  for (const frame of [
    { type: 'READ', conv_id: conv, seq: 1 },
    { type: 'DELIVERED', conv_id: conv, seq: 1 },
    { type: 'TYPING', conv_id: conv, state: 'started' },
  ]) {
    sock.send(frame);
    expect(await sock.next((f) => f.type === 'ERROR')).toMatchObject({ code: 'not_found', ref: null });
  }
  // Replay of a conversation the user is not in returns nothing.
  const other = await TestSocket.connect(server.wsUrl, eve.token, 'eve2', { convs: { [conv]: 0 } });
  expect(other.connack.missed).toEqual([]);
  expect(eventCount()).toBe(before);
  sock.close();
  other.sock.close();
});

// Long-poll answers such a body with 413 and the session lives on (longpoll.test.ts); over MQTT
// this frame is under the packet cap (16 × MAX_FRAME_BYTES + 1 KiB): the cap is in mqtt.test.ts.
testWs('a frame above the hard cap closes with 1009', async () => {
  const { sock } = await TestSocket.connect(server.wsUrl, alice.token, 'huge');
  sock.send('x'.repeat(4096 * 16 + 10));
  expect(await sock.closed).toBe(1009);
});

test('sends over the rate limit get rate_limited; repeated abuse closes with 4008', async () => {
  const { sock } = await TestSocket.connect(server.wsUrl, bob.token, 'rate');
  const before = eventCount();
  const results: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = await sock.sendMessage(conv, `r${i}`, `rate-${i}`);
    results.push(r.type === 'ACK' ? 'ack' : r.code);
  }
  expect(results.slice(0, 5)).toEqual(['ack', 'ack', 'ack', 'ack', 'ack']);
  expect(results.slice(5)).toEqual(['rate_limited', 'rate_limited', 'rate_limited']);
  expect(eventCount()).toBe(before + 5);
  for (let i = 0; i < 60; i++) sock.send({ type: 'SEND', client_msg_id: `flood-${i}`, conv_id: conv, body: 'x' });
  expect(await sock.closed).toBe(4008);
});

test("MARK_UNREAD spends from the send budget: past it rate_limited, and no READ_SYNC on the user's devices", async () => {
  const carol = await registerUser(server.url);
  const c = await createConversation(server.url, carol, 'direct', [alice]);
  const { sock } = await TestSocket.connect(server.wsUrl, carol.token, 'marker');
  const other = await TestSocket.connect(server.wsUrl, carol.token, 'other-device');
  for (let i = 0; i < 8; i++) sock.send({ type: 'MARK_UNREAD', conv_id: c });
  for (let i = 0; i < 3; i++) expect(await sock.next((f) => f.type === 'ERROR')).toMatchObject({ code: 'rate_limited', ref: null });
  for (let i = 0; i < 5; i++) expect(await other.sock.next((f) => f.type === 'READ_SYNC')).toMatchObject({ conv_id: c, marked_unread: true });
  await other.sock.none((f) => f.type === 'READ_SYNC');
  sock.close();
  other.sock.close();
});

// ws-level pings; a long-poll session that stops polling is dropped in longpoll.test.ts, an
// MQTT connection past its keep-alive in mqtt-sessions.test.ts.
testWs('heartbeats drop a connection that stops answering pings', async () => {
  const ws = new WebSocket(server.wsUrl, { autoPong: false });
  const s = new TestSocket(ws);
  await new Promise((r) => ws.once('open', r));
  s.send({ type: 'CONNECT', token: alice.token, device_id: 'silent' });
  await s.next((f) => f.type === 'CONNACK');
  const t0 = Date.now();
  const code = await s.closed;
  expect(code).toBe(1006); // terminated: no close frame
  expect(Date.now() - t0).toBeLessThan(5000);
});

test('a slow consumer is closed with 4003', async () => {
  const slow = await startTestServer({ MAX_SOCKET_BUFFER_BYTES: '65536', RATE_LIMIT_PER_SECOND: '100000', RATE_LIMIT_BURST: '100000' });
  try {
    const u1 = await registerUser(slow.url);
    const u2 = await registerUser(slow.url);
    const c = await createConversation(slow.url, u1, 'direct', [u2]);
    const reader = await TestSocket.connect(slow.wsUrl, u2.token, 'slow');
    // Stop reading: the kernel buffers fill, then the server's send buffer grows (long-poll:
    // no poll takes the frames, so the session's queue grows).
    reader.sock.pause();
    // An MQTT writer's PUBACKs for its own ACKs queue behind its 18 MB of PUBLISHes, so the
    // server would rightly count those ACKs as unread and close the writer too: over MQTT
    // the reader is the carrier under test, the writer is on WebSocket.
    const writer = await TestSocket.connect(slow.wsUrl, u1.token, 'fast', undefined, transport === 'mqtt' ? 'websocket' : transport);
    const body = 'z'.repeat(9000);
    for (let i = 0; i < 2000; i++) writer.sock.send({ type: 'SEND', client_msg_id: `s${i}`, conv_id: c, body });
    await writer.sock.next((f) => f.type === 'ACK' && f.client_msg_id === 's1999', 15000);
    reader.sock.resume();
    const code = await Promise.race([reader.sock.closed, sleep(10000).then(() => -1)]);
    expect(code).toBe(4003);
    writer.sock.close();
  } finally {
    await stopTestServer(slow);
  }
}, 40000);

/** Reconnect replay, multi-device consistency and the inbox cursor. */
import { TestSocket, createConversation, http, registerUser, sleep, startTestServer, stopTestServer, type Frame, type TestServer, type TestUser } from './harness';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startTestServer({ REPLAY_LIMIT: '20', MARKER_FLUSH_MS: '50' });
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
});
afterAll(() => stopTestServer(server));

const isMsg = (f: Frame) => f.type === 'DELIVER' && f.kind === 'message';

test('a client that drops mid-stream gets exactly the events it missed on reconnect', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'a');
  let b = await TestSocket.connect(server.wsUrl, bob.token, 'b');
  const seen = new Map<number, string>();
  for (let i = 0; i < 5; i++) {
    await a.sock.sendMessage(conv, `before-${i}`, `mid-${i}`);
    const f = await b.sock.next(isMsg);
    seen.set(f.seq, f.body);
  }
  const lastSeen = Math.max(...seen.keys());
  b.sock.terminate(); // dropped without a goodbye (no close handshake, no DELETE)
  await sleep(50);
  const missedAcks = [];
  for (let i = 5; i < 12; i++) missedAcks.push((await a.sock.sendMessage(conv, `during-${i}`, `mid-${i}`)).seq);

  b = await TestSocket.connect(server.wsUrl, bob.token, 'b', { convs: { [conv]: lastSeen } });
  const missed = b.connack.missed.filter((e: Frame) => e.kind === 'message');
  expect(missed.map((e: Frame) => e.seq)).toEqual(missedAcks);
  expect(missed.map((e: Frame) => e.body)).toEqual([5, 6, 7, 8, 9, 10, 11].map((i) => `during-${i}`));
  expect(b.connack.more).toBe(false);
  // Nothing seen before comes again, and live delivery continues after the replay.
  const live = await a.sock.sendMessage(conv, 'after', 'mid-live');
  const f = await b.sock.next(isMsg);
  expect(f.seq).toBe(live.seq);
  await b.sock.none(isMsg);
  a.sock.close();
  b.sock.close();
});

test('replay is capped per conversation with more=true, and /events pages the rest', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'capped');
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'a-cap');
  const acks: number[] = [];
  for (let i = 0; i < 30; i++) acks.push((await a.sock.sendMessage(conv, `c${i}`, `cap-${i}`)).seq);
  const b = await TestSocket.connect(server.wsUrl, bob.token, 'b-cap', { convs: { [conv]: 0 } });
  expect(b.connack.more).toBe(true);
  expect(b.connack.missed).toHaveLength(20);
  const seqs: number[] = b.connack.missed.map((e: Frame) => e.seq);
  expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  const rest = await http(server.url, 'GET', `/api/v1/conversations/${conv}/events?after=${seqs[seqs.length - 1]}`, undefined, bob.token);
  const all = [...seqs, ...rest.body.events.map((e: Frame) => e.seq)];
  expect(all.filter((s) => acks.includes(s))).toEqual(acks);
  expect(rest.body.more).toBe(false);
  a.sock.close();
  b.sock.close();
});

test('three devices see the same history and unread counts; a READ on one reaches the others', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const devices = await Promise.all(['phone', 'laptop', 'tablet'].map((d) => TestSocket.connect(server.wsUrl, bob.token, d)));
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'a-multi');
  const acks = [];
  for (let i = 0; i < 4; i++) acks.push(await a.sock.sendMessage(conv, `multi-${i}`, `multi-${i}`));
  for (const d of devices) {
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await d.sock.next(isMsg)).seq);
    expect(got).toEqual(acks.map((x) => x.seq));
  }
  devices[0].sock.send({ type: 'READ', conv_id: conv, seq: acks[2].seq });
  for (const d of devices) {
    expect(await d.sock.next((f) => f.type === 'READ_SYNC')).toEqual({ type: 'READ_SYNC', conv_id: conv, last_read_seq: acks[2].seq, unread: 1, unread_mentions: 0, marked_unread: false });
  }
  // A fresh connection of any device reports the same inbox row.
  const fresh = await TestSocket.connect(server.wsUrl, bob.token, 'desktop');
  const row = fresh.connack.inbox.find((r: Frame) => r.conv_id === conv);
  expect(row).toMatchObject({ last_seq: acks[3].seq, last_read_seq: acks[2].seq, unread: 1, preview: 'multi-3' });
  // Bob sends from the phone: his other devices get the DELIVER, the phone only the ACK.
  const own = await devices[0].sock.sendMessage(conv, 'from phone', 'own-1');
  for (const d of [devices[1], devices[2], fresh]) expect((await d.sock.next(isMsg)).seq).toBe(own.seq);
  await devices[0].sock.none(isMsg);
  for (const d of [...devices, fresh, a]) d.sock.close();
});

test('the inbox cursor returns only rows changed since the last CONNACK', async () => {
  const carol = await registerUser(server.url);
  const quiet = await createConversation(server.url, carol, 'direct', [alice]);
  const busy = await createConversation(server.url, carol, 'direct', [bob]);
  const first = await TestSocket.connect(server.wsUrl, carol.token, 'c1');
  expect(first.connack.inbox.map((r: Frame) => r.conv_id).sort()).toEqual([quiet, busy].sort());
  first.sock.close();
  await sleep(20);
  // Rows changed within the cursor's safety margin come again; older ones do not.
  const again = await TestSocket.connect(server.wsUrl, carol.token, 'c1', { inbox_cursor: first.connack.inbox_cursor });
  expect(typeof again.connack.inbox_cursor).toBe('string');
  const future = String(Date.now() + 60_000);
  const none = await TestSocket.connect(server.wsUrl, carol.token, 'c1', { inbox_cursor: future });
  expect(none.connack.inbox).toEqual([]);
  again.sock.close();
  none.sock.close();
});

test('a duplicate SEND returns the original ACK and creates no second event, even across reconnects', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'dup');
  const b = await TestSocket.connect(server.wsUrl, bob.token, 'dup-b');
  const first = await a.sock.sendMessage(conv, 'once', 'same-id');
  // In flight twice at once:
  a.sock.send({ type: 'SEND', client_msg_id: 'burst', conv_id: conv, body: 'x' });
  a.sock.send({ type: 'SEND', client_msg_id: 'burst', conv_id: conv, body: 'x' });
  const ackA = await a.sock.next((f) => f.type === 'ACK' && f.client_msg_id === 'burst');
  const ackB = await a.sock.next((f) => f.type === 'ACK' && f.client_msg_id === 'burst');
  expect(ackB.seq).toBe(ackA.seq);
  expect([ackA.duplicate, ackB.duplicate].filter(Boolean)).toEqual([true]);
  a.sock.close();
  const again = await TestSocket.connect(server.wsUrl, alice.token, 'dup');
  const retry = await again.sock.sendMessage(conv, 'once', 'same-id');
  expect(retry).toMatchObject({ type: 'ACK', seq: first.seq, ts: first.ts, duplicate: true });
  const events = await http(server.url, 'GET', `/api/v1/conversations/${conv}/events?after=0`, undefined, bob.token);
  expect(events.body.events.filter((e: Frame) => e.client_msg_id === 'same-id')).toHaveLength(1);
  expect(events.body.events.filter((e: Frame) => e.client_msg_id === 'burst')).toHaveLength(1);
  // Bob got each message once.
  const got = [(await b.sock.next(isMsg)).client_msg_id, (await b.sock.next(isMsg)).client_msg_id];
  expect(got).toEqual(['same-id', 'burst']);
  await b.sock.none(isMsg);
  again.sock.close();
  b.sock.close();
});

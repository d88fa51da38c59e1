import { TestSocket, createConversation, http, registerUser, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
});
afterAll(() => stopTestServer(server));

describe('send, ack and deliver over real sockets', () => {
  test('SEND is ACKed after commit and DELIVERed to every other session of every member', async () => {
    const conv = await createConversation(server.url, alice, 'direct', [bob]);
    const a1 = await TestSocket.connect(server.wsUrl, alice.token, 'a-phone');
    const a2 = await TestSocket.connect(server.wsUrl, alice.token, 'a-laptop');
    const b1 = await TestSocket.connect(server.wsUrl, bob.token, 'b-phone');
    expect(a1.connack).toMatchObject({ user_id: alice.user_id, device_id: 'a-phone', more: false });

    const ack = await a1.sock.sendMessage(conv, 'hello bob', 'm-1');
    expect(ack).toMatchObject({ type: 'ACK', client_msg_id: 'm-1', conv_id: conv });
    expect(ack.seq).toBeGreaterThan(1); // seq 1 is the conversation's member_added announcement

    const atBob = await b1.sock.next((f) => f.type === 'DELIVER' && f.kind === 'message');
    expect(atBob).toMatchObject({ conv_id: conv, seq: ack.seq, sender_id: alice.user_id, body: 'hello bob', client_msg_id: 'm-1' });
    const atOtherDevice = await a2.sock.next((f) => f.type === 'DELIVER' && f.kind === 'message');
    expect(atOtherDevice.seq).toBe(ack.seq);
    await a1.sock.none((f) => f.type === 'DELIVER' && f.kind === 'message');

    // The event is durable and readable over REST.
    const events = await http(server.url, 'GET', `/api/v1/conversations/${conv}/events?after=0`, undefined, bob.token);
    expect(events.body.events.map((e: { seq: number }) => e.seq)).toContain(ack.seq);
    for (const s of [a1, a2, b1]) s.sock.close();
  });
});

describe('frames pipelined behind CONNECT', () => {
  test('are handled after the CONNACK, in order, as the connected user (not refused as a stranger)', async () => {
    const conv = await createConversation(server.url, alice, 'direct', [bob]);
    const b1 = await TestSocket.connect(server.wsUrl, bob.token, 'b-pipe');
    const a = await TestSocket.open(server.wsUrl);
    // A client resending its outbox right after CONNECT, without waiting for the CONNACK.
    a.send({ type: 'CONNECT', token: alice.token, device_id: 'a-pipe' });
    a.send({ type: 'SEND', client_msg_id: 'pipe-1', conv_id: conv, body: 'one' });
    a.send({ type: 'SEND', client_msg_id: 'pipe-2', conv_id: conv, body: 'two' });
    a.send({ type: 'PING' });
    const connack = await a.next((f) => f.type === 'CONNACK');
    expect(connack.user_id).toBe(alice.user_id);
    const one = await a.next((f) => f.type === 'ACK' || f.type === 'ERROR');
    const two = await a.next((f) => f.type === 'ACK' || f.type === 'ERROR');
    expect([one, two]).toEqual([
      expect.objectContaining({ type: 'ACK', client_msg_id: 'pipe-1' }),
      expect.objectContaining({ type: 'ACK', client_msg_id: 'pipe-2' }),
    ]);
    expect(two.seq).toBeGreaterThan(one.seq);
    await a.next((f) => f.type === 'PONG');
    expect(a.frames.filter((f) => f.type === 'ERROR')).toEqual([]);
    expect((await b1.sock.next((f) => f.type === 'DELIVER' && f.kind === 'message')).body).toBe('one');
    a.close();
    b1.sock.close();
  });
});

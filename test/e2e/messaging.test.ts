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

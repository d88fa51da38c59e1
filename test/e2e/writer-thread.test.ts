/**
 * A server with SQLITE_WRITER=thread end to end: sends, dedup, REST history, read markers
 * and reconnect replay all go through the writer thread and read back on the loop.
 */
import { TestSocket, createConversation, http, registerUser, startTestServer, stopTestServer, type Frame, type TestServer, type TestUser } from './harness';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  server = await startTestServer({ SQLITE_WRITER: 'thread', MARKER_FLUSH_MS: '20' });
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
});
afterAll(() => stopTestServer(server));

const isMsg = (f: Frame) => f.type === 'DELIVER' && f.kind === 'message';

test('messages, retries, history, unread and replay work with writes on the writer thread', async () => {
  const health = await http(server.url, 'GET', '/readyz');
  expect(health.status).toBe(200);
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const a = await TestSocket.connect(server.wsUrl, alice.token, 'a');
  const acks = [];
  for (let i = 0; i < 5; i++) acks.push(await a.sock.sendMessage(conv, `hello ${i}`, `wt-${i}`));
  expect(acks.map((x) => x.seq)).toEqual([2, 3, 4, 5, 6]);
  // A retry of a committed send answers the original seq.
  const retry = await a.sock.sendMessage(conv, 'hello 0', 'wt-0');
  expect(retry).toMatchObject({ seq: 2, duplicate: true });

  const b = await TestSocket.connect(server.wsUrl, bob.token, 'b', { convs: { [conv]: 3 } });
  expect(b.connack.missed.filter((e: Frame) => e.kind === 'message').map((e: Frame) => e.body)).toEqual(['hello 2', 'hello 3', 'hello 4']);
  expect(b.connack.inbox.find((r: Frame) => r.conv_id === conv)).toMatchObject({ unread: 5, last_seq: 6 });

  b.sock.send({ type: 'READ', conv_id: conv, seq: 6 });
  const sync = await b.sock.next((f) => f.type === 'READ_SYNC');
  expect(sync).toMatchObject({ conv_id: conv, last_read_seq: 6, unread: 0 });
  const history = await http<{ messages: Frame[] }>(server.url, 'GET', `/api/v1/conversations/${conv}/messages?limit=10`, undefined, bob.token);
  expect(history.body.messages.map((m) => m.body)).toEqual(['hello 0', 'hello 1', 'hello 2', 'hello 3', 'hello 4']);
  const inbox = await http<{ conversations: Frame[] }>(server.url, 'GET', '/api/v1/conversations', undefined, bob.token);
  expect(inbox.body.conversations.find((r) => r.conv_id === conv)).toMatchObject({ unread: 0, last_read_seq: 6 });
  a.sock.close();
  b.sock.close();
});

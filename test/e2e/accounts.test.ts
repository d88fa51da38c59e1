/**
 * Accounts end to end: a token counts only while its account exists and its user has not
 * signed it out, on every REST route and on the WebSocket or long-poll session (CONNECT,
 * then every frame); sign-out everywhere, removing one device, deleting the account.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  TestSocket,
  createConversation,
  http,
  registerUserPatiently,
  sleep,
  startTestServer,
  stopTestServer,
  type Frame,
  type TestServer,
  type TestUser,
} from './harness';

/** Short, so the tests that go around the bus (the store changed underneath) wait little. */
const cacheTtlMs = 300;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ AUTH_CACHE_TTL_MS: String(cacheTtlMs) });
});
afterAll(() => stopTestServer(server));

/** Removes a user's row behind the server's back: the store changes, no bus message says so. */
function removeUserRow(userId: string): void {
  const db = new Database(join(server.dataDir, 'chat.db'), { fileMustExist: true });
  try {
    db.prepare('DELETE FROM users WHERE user_id = ?').run(userId);
  } finally {
    db.close();
  }
}

/** Authenticated routes of every kind: reads, sends, creating conversations, lookups, push, uploads. */
function routes(convId: string, peer: TestUser): [method: string, path: string, body?: unknown][] {
  return [
    ['GET', '/api/v1/conversations'],
    ['POST', '/api/v1/conversations', { type: 'direct', member_ids: [peer.user_id] }],
    ['GET', `/api/v1/conversations/${convId}`],
    ['GET', `/api/v1/conversations/${convId}/messages`],
    ['POST', `/api/v1/conversations/${convId}/messages`, { client_msg_id: `m-${Date.now()}`, body: 'still here?' }],
    ['POST', `/api/v1/conversations/${convId}/read`, { seq: 1 }],
    ['GET', `/api/v1/users?username=${peer.username}`],
    ['GET', '/api/v1/push/devices'],
    ['POST', '/api/v1/attachments', { name: 'a.txt', content_type: 'text/plain', size: 1, sha256: '0'.repeat(64) }],
    ['GET', '/api/v1/me'],
  ];
}

async function expectRefused(user: TestUser, convId: string, peer: TestUser): Promise<void> {
  for (const [method, path, body] of routes(convId, peer)) {
    const res = await http(server.url, method, path, body, user.token);
    expect({ method, path, status: res.status, code: res.body.error?.code }).toEqual({ method, path, status: 401, code: 'unauthorized' });
  }
}

/** Opens a session with CONNECT and waits for it to be closed; returns the close code and the frames before it. */
async function connectRefused(token: string, deviceId: string): Promise<{ code: number; frames: Frame[] }> {
  const sock = await TestSocket.open(server.wsUrl);
  sock.send({ type: 'CONNECT', token, device_id: deviceId });
  const code = await Promise.race([sock.closed, sleep(5000).then(() => -1)]);
  if (code === -1) sock.close();
  return { code, frames: sock.frames };
}

describe('a token whose account no longer exists', () => {
  test('is refused on every REST route and on CONNECT, also right after being used', async () => {
    const bob = await registerUserPatiently(server.url);
    const carol = await registerUserPatiently(server.url);
    const convId = await createConversation(server.url, carol, 'direct', [bob]);
    // Bob's token works, so this shard has his state cached.
    for (const [method, path, body] of routes(convId, carol)) {
      const res = await http(server.url, method, path, body, bob.token);
      expect({ method, path, status: res.status }).not.toEqual({ method, path, status: 401 });
    }
    removeUserRow(bob.user_id);
    // The cache trusts what it read for at most its TTL: the store is the truth after that.
    await sleep(cacheTtlMs + 50);
    await expectRefused(bob, convId, carol);
    const { code, frames } = await connectRefused(bob.token, 'dev-b');
    expect(code).toBe(4001);
    expect(frames.find((f) => f.type === 'CONNACK')).toBeUndefined();
    expect(frames.find((f) => f.type === 'ERROR')).toMatchObject({ code: 'unauthorized' });
  });

  test('ends a session that was open: its next frame is answered ERROR unauthorized, then 4001', async () => {
    const dave = await registerUserPatiently(server.url);
    const erin = await registerUserPatiently(server.url);
    const convId = await createConversation(server.url, erin, 'direct', [dave]);
    const { sock } = await TestSocket.connect(server.wsUrl, dave.token, 'dev-d');
    expect(await sock.sendMessage(convId, 'before', 'm-before')).toMatchObject({ type: 'ACK' });
    removeUserRow(dave.user_id);
    await sleep(cacheTtlMs + 50);
    sock.send({ type: 'SEND', client_msg_id: 'm-after', conv_id: convId, body: 'after' });
    expect(await sock.closed).toBe(4001);
    expect(sock.frames.find((f) => f.type === 'ACK')).toBeUndefined();
    expect(sock.frames.find((f) => f.type === 'ERROR')).toMatchObject({ code: 'unauthorized' });
    // Nothing was stored: the conversation holds only the message before.
    const history = await http(server.url, 'GET', `/api/v1/conversations/${convId}/messages`, undefined, erin.token);
    expect(history.body.messages.map((m: { body: string }) => m.body)).toEqual(['before']);
  });
});

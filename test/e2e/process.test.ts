/**
 * The built server as a real process: first start creates its data, SIGKILL never leads
 * to a reused seq or a lost acked event, SIGTERM flushes and closes sockets with 1012,
 * and info logs carry neither bodies nor tokens.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestSocket, createConversation, http, registerUser, spawnServer, type Frame } from './harness';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'chat-proc-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

test('first start creates the database and a persisted token secret; tokens survive a restart', async () => {
  const s1 = await spawnServer({ DATA_DIR: dataDir });
  expect(existsSync(join(dataDir, 'chat.db'))).toBe(true);
  expect(existsSync(join(dataDir, 'jwt-secret'))).toBe(true);
  const user = await registerUser(s1.url);
  s1.proc.kill('SIGTERM');
  expect(await s1.exited).toBe(0);
  const s2 = await spawnServer({ DATA_DIR: dataDir });
  const me = await http(s2.url, 'GET', '/api/v1/me', undefined, user.token);
  expect(me.status).toBe(200);
  s2.proc.kill('SIGTERM');
  await s2.exited;
});

test('an invalid configuration value stops the process with a message naming the key', async () => {
  await expect(spawnServer({ DATA_DIR: dataDir, PORT: 'eighty' })).rejects.toThrow(/PORT/);
});

test('after SIGKILL no seq is reused, no acked event is lost, and dedup still holds', async () => {
  const s1 = await spawnServer({ DATA_DIR: dataDir });
  const alice = await registerUser(s1.url);
  const bob = await registerUser(s1.url);
  const conv = await createConversation(s1.url, alice, 'direct', [bob]);
  const a = await TestSocket.connect(s1.wsUrl, alice.token, 'a');
  const acked: Frame[] = [];
  for (let i = 0; i < 10; i++) acked.push(await a.sock.sendMessage(conv, `before crash ${i}`, `k${i}`));
  s1.proc.kill('SIGKILL');
  await s1.exited;

  const s2 = await spawnServer({ DATA_DIR: dataDir });
  const a2 = await TestSocket.connect(s2.wsUrl, alice.token, 'a');
  const retry = await a2.sock.sendMessage(conv, 'before crash 9', 'k9');
  expect(retry).toMatchObject({ type: 'ACK', seq: acked[9].seq, duplicate: true });
  const after = await a2.sock.sendMessage(conv, 'after crash', 'k10');
  expect(after.seq).toBeGreaterThan(acked[9].seq);
  const events = await http(s2.url, 'GET', `/api/v1/conversations/${conv}/events?after=0&limit=1000`, undefined, bob.token);
  const messages = events.body.events.filter((e: Frame) => e.kind === 'message');
  expect(messages.map((e: Frame) => e.seq)).toEqual([...acked.map((x) => x.seq), after.seq]);
  const seqs = events.body.events.map((e: Frame) => e.seq);
  expect(new Set(seqs).size).toBe(seqs.length);
  a2.sock.close();
  s2.proc.kill('SIGTERM');
  await s2.exited;
});

test('SIGTERM answers every accepted send, closes sockets with 1012, and logs no bodies or tokens', async () => {
  const s = await spawnServer({ DATA_DIR: dataDir, SQLITE_SYNC: 'full' });
  const alice = await registerUser(s.url);
  const bob = await registerUser(s.url);
  const conv = await createConversation(s.url, alice, 'direct', [bob]);
  const a = await TestSocket.connect(s.wsUrl, alice.token, 'a');
  const secretBody = 'top-secret-body-text';
  for (let i = 0; i < 50; i++) a.sock.send({ type: 'SEND', client_msg_id: `t${i}`, conv_id: conv, body: `${secretBody} ${i}` });
  await a.sock.next((f) => f.type === 'ACK' && f.client_msg_id === 't0');
  s.proc.kill('SIGTERM');
  expect(await a.sock.closed).toBe(1012);
  expect(await s.exited).toBe(0);
  const answered = a.sock.frames.filter((f) => f.type === 'ACK' || f.type === 'ERROR').length + 1;
  const acked = a.sock.frames.filter((f) => f.type === 'ACK').length + 1;

  const s2 = await spawnServer({ DATA_DIR: dataDir });
  const events = await http(s2.url, 'GET', `/api/v1/conversations/${conv}/events?after=0&limit=1000`, undefined, bob.token);
  const stored = events.body.events.filter((e: Frame) => e.kind === 'message').length;
  // Every ACK is durable; sends answered with ERROR (shutting down) were not stored.
  expect(stored).toBe(acked);
  expect(answered).toBeLessThanOrEqual(50);
  const logs = s.output() + s2.output();
  expect(logs).toContain('"level":"info"');
  expect(logs).not.toContain(secretBody);
  expect(logs).not.toContain(alice.token);
  expect(logs).not.toContain('correct horse');
  s2.proc.kill('SIGTERM');
  await s2.exited;
});

/**
 * Three shard processes on Cassandra and Redis: users connected to different shards chat
 * 1:1 and in a 250-member group, and typing, receipts, presence and read sync cross shards.
 * Conversations are placed on the ring, so each test checks who owns what and connects
 * senders to shards that do not own the conversation.
 */
import { Ring } from '../../src/cluster/ring';
import { TokenService } from '../../src/auth';
import { TestSocket, createConversation, http, registerUser, sleep, type ChildServer, type Frame, type TestUser } from '../e2e/harness';
import { cassandraConfig, dropKeyspace } from './cassandra-env';
import { newClusterEnv, spawnShards, stopShards, waitForRing } from './cluster-env';
import { connectCassandra } from '../../src/cassandra';
import { CassandraStore } from '../../src/store';

jest.setTimeout(120_000);

const env = newClusterEnv('it_cluster');
const { run, keyspace, secret } = env;
const shardIds = ['s1', 's2', 's3'];
const ring = new Ring(shardIds);
let shards = new Map<string, ChildServer>();

const shard = (id: string): ChildServer => shards.get(id) as ChildServer;
/** A shard other than the conversation's owner (so every command crosses a link). */
const notOwner = (convId: string, n = 0): ChildServer => shard(shardIds.filter((s) => s !== ring.owner(convId))[n % 2]);

beforeAll(async () => {
  shards = await spawnShards(env, shardIds);
  // Every shard sees the same three-shard ring before the tests start.
  await waitForRing([...shards.values()], ring.version);
}, 180_000);

afterAll(async () => {
  await stopShards(shards.values());
  await dropKeyspace(keyspace);
}, 60_000);

const isMsg = (f: Frame) => f.type === 'DELIVER' && f.kind === 'message';

test('1:1 across shards: messages both ways, typing, delivered and read receipts, read sync to another device', async () => {
  const alice = await registerUser(shard('s1').url);
  const bob = await registerUser(shard('s2').url);
  const conv = await createConversation(shard('s3').url, alice, 'direct', [bob]);
  const a = await TestSocket.connect(notOwner(conv, 0).wsUrl, alice.token, 'a1');
  const b1 = await TestSocket.connect(notOwner(conv, 1).wsUrl, bob.token, 'b1');
  const b2 = await TestSocket.connect(shard(ring.owner(conv)).wsUrl, bob.token, 'b2');

  const ack = await a.sock.sendMessage(conv, 'hello across shards', `x-${run}-1`);
  expect(ack).toMatchObject({ type: 'ACK', conv_id: conv, seq: 2 });
  for (const d of [b1, b2]) expect(await d.sock.next(isMsg)).toMatchObject({ seq: 2, body: 'hello across shards', sender_id: alice.user_id });
  const reply = await b1.sock.sendMessage(conv, 'hi back', `x-${run}-2`);
  expect(reply).toMatchObject({ type: 'ACK', seq: 3 });
  expect(await a.sock.next(isMsg)).toMatchObject({ seq: 3, body: 'hi back' });
  expect(await b2.sock.next(isMsg)).toMatchObject({ seq: 3 }); // the sender's other device

  b1.sock.send({ type: 'TYPING', conv_id: conv, state: 'started' });
  expect(await a.sock.next((f) => f.type === 'TYPING')).toEqual({ type: 'TYPING', conv_id: conv, user_id: bob.user_id, state: 'started' });

  a.sock.send({ type: 'DELIVERED', conv_id: conv, seq: 3 });
  expect(await b1.sock.next((f) => f.type === 'RECEIPT')).toMatchObject({ kind: 'delivered', user_id: alice.user_id, seq: 3 });
  a.sock.send({ type: 'READ', conv_id: conv, seq: 3 });
  expect(await b1.sock.next((f) => f.type === 'RECEIPT' && f.kind === 'read')).toMatchObject({ user_id: alice.user_id, seq: 3 });
  expect(await a.sock.next((f) => f.type === 'READ_SYNC')).toMatchObject({ last_read_seq: 3, unread: 0 });

  // A second device of alice on the third shard gets her read state and the history.
  const a2 = await TestSocket.connect(shard(ring.owner(conv)).wsUrl, alice.token, 'a2', { convs: { [conv]: 1 } });
  expect(a2.connack.missed.filter((e: Frame) => e.kind === 'message').map((e: Frame) => e.seq)).toEqual([2, 3]);
  expect(a2.connack.inbox.find((r: Frame) => r.conv_id === conv)).toMatchObject({ last_read_seq: 3, unread: 0 });
  for (const s of [a, b1, b2, a2]) s.sock.close();
});

test('presence crosses shards: online and offline reach a subscriber on another shard', async () => {
  const watcher = await registerUser(shard('s1').url);
  const target = await registerUser(shard('s2').url);
  const w = await TestSocket.connect(shard('s1').wsUrl, watcher.token, 'w');
  w.sock.send({ type: 'PRESENCE_SUB', user_ids: [target.user_id] });
  expect(await w.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: target.user_id, state: 'offline' });
  const t = await TestSocket.connect(shard('s3').wsUrl, target.token, 't');
  expect(await w.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: target.user_id, state: 'online' });
  t.sock.close();
  expect(await w.sock.next((f) => f.type === 'PRESENCE', 10_000)).toMatchObject({ user_id: target.user_id, state: 'offline' });
  w.sock.close();
});

test('hiding and showing presence reach subscribers on every shard at once', async () => {
  const target = await registerUser(shard('s1').url);
  const watchers = await Promise.all(['s1', 's2', 's3'].map(async (id) => {
    const u = await registerUser(shard(id).url);
    const w = await TestSocket.connect(shard(id).wsUrl, u.token, `hw-${id}`);
    w.sock.send({ type: 'PRESENCE_SUB', user_ids: [target.user_id] });
    expect(await w.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ state: 'offline' });
    return w;
  }));
  const t = await TestSocket.connect(shard('s2').wsUrl, target.token, 'ht');
  for (const w of watchers) expect(await w.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ state: 'online' });
  // The settings change is made through a third shard's REST API.
  await http(shard('s3').url, 'PATCH', '/api/v1/me/settings', { show_presence: false }, target.token);
  for (const w of watchers) {
    expect(await w.sock.next((f) => f.type === 'PRESENCE')).toEqual({ type: 'PRESENCE', user_id: target.user_id, state: 'offline', last_seen: null });
  }
  await http(shard('s1').url, 'PATCH', '/api/v1/me/settings', { show_presence: true }, target.token);
  for (const w of watchers) expect(await w.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: target.user_id, state: 'online' });
  t.sock.close();
  for (const w of watchers) w.sock.close();
});

test('a 250-member group spread over three shards: one message reaches every other member once', async () => {
  // Members are created in the store directly (registration is rate-limited per address).
  const db = await connectCassandra(cassandraConfig(keyspace));
  const store = await CassandraStore.open(db);
  const tokens = new TokenService(secret, 3600);
  const members: TestUser[] = [];
  try {
    for (let i = 0; i < 250; i++) {
      const user_id = `u_${run}_g${i}`;
      await store.createUser({ user_id, username: `g${run}x${i}`, display_name: `G ${i}`, password_hash: 'x', created_at: Date.now() });
      members.push({ user_id, username: `g${run}x${i}`, token: tokens.issue(user_id) });
    }
  } finally {
    await store.close();
    await db.close();
  }
  const conv = await createConversation(shard('s2').url, members[0], 'group', members.slice(1), 'big');
  const sockets = await Promise.all(members.map((m, i) => TestSocket.connect(shard(shardIds[i % 3]).wsUrl, m.token, 'd')));
  const sender = await TestSocket.connect(notOwner(conv).wsUrl, members[0].token, 'sender');
  const ack = await sender.sock.sendMessage(conv, 'to all 250', `g-${run}`);
  expect(ack.type).toBe('ACK');
  const got = await Promise.all(sockets.slice(1).map((s) => s.sock.next((f) => isMsg(f) && f.seq === ack.seq, 15_000)));
  expect(got.every((f) => f.body === 'to all 250')).toBe(true);
  // The sender's other device got it too; nobody gets it twice.
  expect(await sockets[0].sock.next((f) => isMsg(f) && f.seq === ack.seq)).toMatchObject({ body: 'to all 250' });
  await sleep(300);
  expect(sockets.filter((s) => s.sock.frames.some((f) => isMsg(f) && f.seq === ack.seq)).length).toBe(0);
  for (const s of [...sockets, sender]) s.sock.close();
});

test('a sign-out on one shard ends the sessions on the others at once, and every shard refuses the token; login backoff is counted across shards', async () => {
  const user = await registerUser(shard('s1').url);
  const login = async (on: string, device: string, password = 'correct horse battery') =>
    http(shard(on).url, 'POST', '/api/v1/auth/login', { username: user.username, password, device_id: device });
  const phone = (await login('s2', 'phone')).body.token as string;
  const laptop = (await login('s3', 'laptop')).body.token as string;
  // Every shard has the tokens' state cached (for AUTH_CACHE_TTL_MS): only the bus can tell them now.
  for (const id of shardIds) for (const token of [phone, laptop]) expect((await http(shard(id).url, 'GET', '/api/v1/conversations', undefined, token)).status).toBe(200);
  const onS2 = await TestSocket.connect(shard('s2').wsUrl, phone, 'phone');
  const onS3 = await TestSocket.connect(shard('s3').wsUrl, laptop, 'laptop');

  expect((await http(shard('s1').url, 'POST', '/api/v1/auth/logout-all', undefined, laptop)).status).toBe(204);
  const started = Date.now();
  for (const s of [onS2, onS3]) {
    expect(await s.sock.closed).toBe(4001);
    expect(s.sock.frames.find((f) => f.type === 'ERROR')).toMatchObject({ code: 'unauthorized', message: 'signed out' });
  }
  expect(Date.now() - started).toBeLessThan(2000); // well within the cache's 5 s: the bus did it
  for (const id of shardIds) for (const token of [phone, laptop]) expect((await http(shard(id).url, 'GET', '/api/v1/conversations', undefined, token)).status).toBe(401);
  const fresh = (await login('s2', 'phone')).body.token as string;
  for (const id of shardIds) expect((await http(shard(id).url, 'GET', '/api/v1/conversations', undefined, fresh)).status).toBe(200);

  // Five wrong passwords spread over the shards close the account on all of them.
  for (const id of ['s1', 's2', 's3', 's1', 's2']) expect((await login(id, 'x', 'wrong password')).status).toBe(401);
  const closed = await login('s3', 'x');
  expect(closed.status).toBe(429);
  expect(closed.body.error.retry_after_ms).toBeGreaterThan(0);
});

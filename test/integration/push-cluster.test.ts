/**
 * Push in the distributed mode (Cassandra, Redis, jobs on bullmq): the recipient's device
 * is registered through one shard, the message is sequenced by its owner, and the owner is
 * SIGKILLed inside the batching window: the delayed burst job is in Redis, so the surviving
 * shard runs it and the push service receives exactly one notification. Liveness comes from
 * the Redis socket map: a device connected to any shard is not pushed.
 */
import { Ring } from '../../src/cluster/ring';
import { TestSocket, createConversation, http, pollUntil, registerUser, sleep, type ChildServer, type Frame } from '../e2e/harness';
import { LocalPushService } from '../push/local-service';
import { dropKeyspace } from './cassandra-env';
import { newClusterEnv, spawnShards, stopShards, waitForRing } from './cluster-env';

jest.setTimeout(120_000);

const env = newClusterEnv('it_push');
const ids = ['s1', 's2'];
let shards = new Map<string, ChildServer>();
let push: LocalPushService;

beforeAll(async () => {
  push = await LocalPushService.start();
  shards = await spawnShards(env, ids, { PUSH_ALLOW: '127.0.0.1/32', PUSH_CA_FILE: push.caFile, JOBS_STALLED_MS: '1000' });
  await waitForRing([...shards.values()], new Ring(ids).version);
}, 180_000);

afterAll(async () => {
  await stopShards(shards.values());
  await push.close();
  await dropKeyspace(env.keyspace);
}, 60_000);

const subscription = (device: string) => push.subscription(device);
test('the owner dies inside the batching window: the surviving shard pushes, once; a device connected anywhere is not pushed', async () => {
  const ring = new Ring(ids);
  const s = (id: string) => shards.get(id) as ChildServer;
  const alice = await registerUser(s('s2').url);
  const bob = await registerUser(s('s2').url);
  // A conversation owned by s1, the shard that will die.
  let conv = '';
  for (let i = 0; i < 40 && conv === ''; i++) {
    const carol = await registerUser(s('s2').url);
    const id = await createConversation(s('s2').url, alice, 'group', [bob, carol], `g${i}`);
    if (ring.owner(id) === 's1') conv = id;
  }
  expect(conv).not.toBe('');
  expect((await http(s('s2').url, 'PUT', '/api/v1/push/devices/bob-phone', { platform: 'web', webpush: subscription('bob-phone') }, bob.token)).status).toBe(201);
  expect((await http(s('s2').url, 'PUT', '/api/v1/push/devices/bob-laptop', { platform: 'web', webpush: subscription('bob-laptop') }, bob.token)).status).toBe(201);
  // bob's laptop is connected to s2: the socket map in Redis says so to every shard.
  const laptop = await TestSocket.connect(s('s2').wsUrl, bob.token, 'bob-laptop');
  const a = await TestSocket.connect(s('s2').wsUrl, alice.token, 'alice-web');
  const ack = await a.sock.sendMessage(conv, 'are you around?', `push-${env.run}`);
  expect(ack.type).toBe('ACK');
  await laptop.sock.next((f: Frame) => f.type === 'DELIVER' && f.seq === ack.seq);
  // The burst's job is queued with the event; the owner dies before the window closes.
  await sleep(50);
  s('s1').proc.kill('SIGKILL');
  await pollUntil(async () => push.of('bob-phone').length, (n) => n >= 1, 20_000);
  await sleep(1500); // a second copy would be here by now
  expect(push.of('bob-phone')).toHaveLength(1);
  expect(push.of('bob-phone')[0]?.payload).toMatchObject({ kind: 'message', conv_id: conv, seq: ack.seq });
  expect(push.of('bob-laptop')).toHaveLength(0);
  laptop.sock.close();
  a.sock.close();
});

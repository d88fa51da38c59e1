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
const windowsOn = async (shard: ChildServer): Promise<number> =>
  Number(/chat_push_windows_total (\d+)/.exec(await (await fetch(`${shard.url}/metrics`)).text())?.[1] ?? 'NaN');

// Before the test that kills s1: it needs both shards.
test('a device registered through one shard is pushed at once by the owner on another, which had learned the user had none', async () => {
  const ring = new Ring(ids);
  const s = (id: string) => shards.get(id) as ChildServer;
  const alice = await registerUser(s('s2').url);
  let dave = await registerUser(s('s2').url);
  let conv = '';
  for (let i = 0; i < 40 && conv === ''; i++) {
    dave = await registerUser(s('s2').url);
    const id = await createConversation(s('s2').url, alice, 'direct', [dave]);
    if (ring.owner(id) === 's1') conv = id;
  }
  expect(conv).not.toBe('');
  const a = await TestSocket.connect(s('s2').wsUrl, alice.token, 'alice-reach');
  // Dave has no device. The window jobs (run by either shard) find none; once the owner s1
  // has run one, its messages open no window: its window counter stops moving.
  let learned = false;
  for (let i = 0; i < 30 && !learned; i++) {
    const before = await windowsOn(s('s1'));
    expect((await a.sock.sendMessage(conv, `no device yet ${i}`, `reach-${env.run}-${i}`)).type).toBe('ACK');
    await sleep(700); // past the window and its job
    learned = (await windowsOn(s('s1'))) === before;
  }
  expect(learned).toBe(true);
  // Dave installs the app through s2; s1 hears of it on the bus and opens a window again.
  expect((await http(s('s2').url, 'PUT', '/api/v1/push/devices/dave-phone', { platform: 'web', webpush: subscription('dave-phone') }, dave.token)).status).toBe(201);
  await sleep(200); // the bus message crosses
  const ack = await a.sock.sendMessage(conv, 'now on your phone', `reach-${env.run}-last`);
  await pollUntil(async () => push.of('dave-phone').length, (n) => n >= 1, 10_000);
  expect(push.of('dave-phone')[0]?.payload).toMatchObject({ kind: 'message', conv_id: conv, seq: ack.seq });
  a.sock.close();
});

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

/**
 * MQTT in the distributed mode (Cassandra, Redis, two shards): an MQTT session is a session
 * like any other. A device on MQTT at one shard gets fan-out from a conversation owned by
 * either shard, its sends are sequenced by the owner, presence says it is online while it
 * is connected, and push treats it as online (the Redis socket map) until it disconnects.
 * Driven by the stock `mqtt` client.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { Ring } from '../../src/cluster/ring';
import { TestSocket, createConversation, http, pollUntil, registerUser, sleep, type ChildServer, type Frame, type TestUser } from '../e2e/harness';
import { LocalPushService } from '../push/local-service';
import { dropKeyspace } from './cassandra-env';
import { newClusterEnv, spawnShards, stopShards, waitForRing } from './cluster-env';

jest.setTimeout(120_000);

const env = newClusterEnv('it_mqtt');
const ids = ['s1', 's2'];
let shards = new Map<string, ChildServer>();
let push: LocalPushService;
const s = (id: string) => shards.get(id) as ChildServer;

beforeAll(async () => {
  push = await LocalPushService.start();
  shards = await spawnShards(env, ids, { PUSH_ALLOW: '127.0.0.1/32', PUSH_CA_FILE: push.caFile });
  await waitForRing([...shards.values()], new Ring(ids).version);
}, 180_000);

afterAll(async () => {
  await stopShards(shards.values());
  await push.close();
  await dropKeyspace(env.keyspace);
}, 60_000);

/** A device over MQTT 5 with the protocol CONNECT done: its frames, in arrival order. */
async function mqttDevice(shard: ChildServer, user: TestUser, deviceId: string): Promise<{ client: MqttClient; frames: Frame[]; qos: Map<string, number> }> {
  const client = mqtt.connect(shard.mqttUrl as string, { clientId: deviceId, username: user.user_id, password: user.token, protocolVersion: 5, reconnectPeriod: 0 });
  const frames: Frame[] = [];
  const qos = new Map<string, number>();
  client.on('message', (topic, payload, packet) => {
    if (topic !== `down/${user.user_id}/${deviceId}`) return;
    const frame = JSON.parse(payload.toString()) as Frame;
    frames.push(frame);
    qos.set(frame.type, packet.qos);
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.subscribe(`down/${user.user_id}/${deviceId}`, { qos: 1 });
  client.publish('up', JSON.stringify({ type: 'CONNECT' }), { qos: 1 });
  await pollUntil(async () => frames.some((f) => f.type === 'CONNACK'), (ok) => ok, 10_000);
  return { client, frames, qos };
}

/** A conversation between `a` and a new user, owned by shard `owner`. */
async function convOwnedBy(owner: string, a: TestUser): Promise<{ conv: string; b: TestUser }> {
  const ring = new Ring(ids);
  for (let i = 0; i < 40; i++) {
    const b = await registerUser(s('s2').url);
    const conv = await createConversation(s('s2').url, a, 'direct', [b]);
    if (ring.owner(conv) === owner) return { conv, b };
  }
  throw new Error(`no conversation owned by ${owner}`);
}

test.each(['s1', 's2'])('an MQTT device on s1 sends and receives in a conversation owned by %s', async (owner) => {
  const alice = await registerUser(s('s1').url);
  const { conv, b: bob } = await convOwnedBy(owner, alice);
  const phone = await mqttDevice(s('s1'), alice, `alice-phone-${owner}`);
  const { sock } = await TestSocket.connect(s('s2').wsUrl, bob.token, 'bob-web');
  try {
    const ack = await sock.sendMessage(conv, 'over the bus', `w-${env.run}-${owner}`);
    expect(ack.type).toBe('ACK');
    await pollUntil(async () => phone.frames.some((f) => f.type === 'DELIVER' && f.seq === ack.seq), (ok) => ok, 10_000);
    expect(phone.frames.find((f) => f.type === 'DELIVER' && f.seq === ack.seq)).toMatchObject({ conv_id: conv, body: 'over the bus', sender_id: bob.user_id });
    expect(phone.qos.get('DELIVER')).toBe(1);
    phone.client.publish('up', JSON.stringify({ type: 'SEND', client_msg_id: `m-${env.run}-${owner}`, conv_id: conv, body: 'from the phone' }), { qos: 1 });
    const delivered = await sock.next((f) => f.type === 'DELIVER' && f.body === 'from the phone', 10_000);
    await pollUntil(async () => phone.frames.some((f) => f.type === 'ACK' && f.seq === delivered.seq), (ok) => ok, 10_000);
  } finally {
    phone.client.end(true);
    sock.close();
  }
});

test('presence and push count an MQTT device as online until it disconnects', async () => {
  const alice = await registerUser(s('s1').url);
  const { conv, b: bob } = await convOwnedBy('s2', alice);
  expect((await http(s('s2').url, 'PUT', '/api/v1/push/devices/alice-phone', { platform: 'web', webpush: push.subscription('alice-phone') }, alice.token)).status).toBe(201);
  const phone = await mqttDevice(s('s1'), alice, 'alice-phone');
  const { sock } = await TestSocket.connect(s('s2').wsUrl, bob.token, 'bob-web');
  try {
    sock.send({ type: 'PRESENCE_SUB', user_ids: [alice.user_id] });
    expect(await sock.next((f) => f.type === 'PRESENCE' && f.user_id === alice.user_id)).toMatchObject({ state: 'online' });
    const online = await sock.sendMessage(conv, 'you are here', `p-${env.run}-1`);
    await pollUntil(async () => phone.frames.some((f) => f.type === 'DELIVER' && f.seq === online.seq), (ok) => ok, 10_000);
    await sleep(2500); // past the push batching window: nothing may come for a connected device
    expect(push.of('alice-phone')).toHaveLength(0);

    phone.client.end(true);
    expect(await sock.next((f) => f.type === 'PRESENCE' && f.user_id === alice.user_id, 10_000)).toMatchObject({ state: 'offline' });
    const offline = await sock.sendMessage(conv, 'now you are not', `p-${env.run}-2`);
    await pollUntil(async () => push.of('alice-phone').length, (n) => n >= 1, 15_000);
    expect(push.of('alice-phone')[0]?.payload).toMatchObject({ kind: 'message', conv_id: conv, seq: offline.seq });
  } finally {
    phone.client.end(true);
    sock.close();
  }
});

test('the same device connecting to the other shard takes over: the older connection gets 4009', async () => {
  const alice = await registerUser(s('s1').url);
  const first = await mqttDevice(s('s1'), alice, 'alice-tablet');
  let notice = '';
  first.client.on('message', (topic, payload) => {
    if (topic.endsWith('/close')) notice = payload.toString();
  });
  const second = await mqttDevice(s('s2'), alice, 'alice-tablet');
  try {
    await pollUntil(async () => notice, (n) => n !== '', 10_000);
    expect(JSON.parse(notice)).toEqual({ code: 4009, reason: 'the device connected again' });
    expect(second.frames.some((f) => f.type === 'CONNACK')).toBe(true);
  } finally {
    first.client.end(true);
    second.client.end(true);
  }
});

/**
 * Push in the distributed mode (Cassandra, Redis, jobs on bullmq): the recipient's device
 * is registered through one shard, the message is sequenced by its owner, and the owner is
 * SIGKILLed inside the batching window: the delayed burst job is in Redis, so the surviving
 * shard runs it and the push service receives exactly one notification. Liveness comes from
 * the Redis socket map: a device connected to any shard is not pushed.
 */
import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Ring } from '../../src/cluster/ring';
import { TestSocket, createConversation, http, pollUntil, registerUser, sleep, type ChildServer, type Frame } from '../e2e/harness';
import { makeTestTls } from '../push/tls';
import { dropKeyspace } from './cassandra-env';
import { newClusterEnv, spawnShards, stopShards, waitForRing } from './cluster-env';

jest.setTimeout(120_000);

// http_ece ships no types; the one call used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ece = require('http_ece') as { decrypt(body: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: Buffer }): Buffer };

const env = newClusterEnv('it_push');
const ids = ['s1', 's2'];
let shards = new Map<string, ChildServer>();
let pushService: https.Server;
let port: number;
const keys = new Map<string, { ecdh: ECDH; auth: Buffer }>();
const received: { device: string; payload: Record<string, unknown> }[] = [];

beforeAll(async () => {
  const tls = makeTestTls();
  pushService = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const device = (req.url ?? '').split('/')[2];
      const k = keys.get(device);
      if (!k) return void res.writeHead(404).end();
      const plain = ece.decrypt(Buffer.concat(chunks), { version: 'aes128gcm', privateKey: k.ecdh, authSecret: k.auth });
      received.push({ device, payload: JSON.parse(plain.toString('utf8')) as Record<string, unknown> });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => pushService.listen(0, '127.0.0.1', resolve));
  port = (pushService.address() as AddressInfo).port;
  const caFile = join(tmpdir(), `push-ca-${env.run}.pem`);
  writeFileSync(caFile, tls.cert);
  shards = await spawnShards(env, ids, { PUSH_ALLOW: '127.0.0.1/32', PUSH_CA_FILE: caFile, JOBS_STALLED_MS: '1000' });
  await waitForRing([...shards.values()], new Ring(ids).version);
}, 180_000);

afterAll(async () => {
  await stopShards(shards.values());
  pushService.closeAllConnections();
  await new Promise((r) => pushService.close(r));
  await dropKeyspace(env.keyspace);
}, 60_000);

function subscription(device: string) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  keys.set(device, { ecdh, auth });
  return { endpoint: `https://127.0.0.1:${port}/push/${device}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
}

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
  await pollUntil(async () => received.filter((r) => r.device === 'bob-phone').length, (n) => n >= 1, 20_000);
  await sleep(1500); // a second copy would be here by now
  expect(received.filter((r) => r.device === 'bob-phone')).toHaveLength(1);
  expect(received.find((r) => r.device === 'bob-phone')?.payload).toMatchObject({ kind: 'message', conv_id: conv, seq: ack.seq });
  expect(received.filter((r) => r.device === 'bob-laptop')).toHaveLength(0);
  laptop.sock.close();
  a.sock.close();
});

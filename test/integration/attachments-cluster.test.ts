/**
 * Attachments in the distributed mode against real engines: two shards on Cassandra and
 * Redis (jobs on bullmq) with BLOB=s3 on S3Proxy. Bytes go straight to the S3 API through
 * presigned URLs; the upload is completed on another shard than the one that gave the slot;
 * the recipient, on the other shard, gets the photo with its placeholder and thumbnail and
 * then its display size (made by a bullmq job on whichever shard took it); downloads are
 * presigned S3 GETs; refusals leave nothing in the bucket; unsend lets the collector delete
 * the content.
 */
import { createHash, randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { S3BlobStore } from '../../src/blob';
import { TestSocket, createConversation, http, pollUntil, registerUser, type ChildServer, type Frame, type TestUser } from '../e2e/harness';
import { cameraJpeg } from '../media/fixtures';
import { dropKeyspace } from './cassandra-env';
import { newClusterEnv, spawnShards, stopShards, waitForRing } from './cluster-env';
import { Ring } from '../../src/cluster/ring';

jest.setTimeout(120_000);

const env = newClusterEnv('it_attach');
const bucket = `relay-it-${env.run}`;
const s3 = {
  S3_ENDPOINT: process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000',
  S3_REGION: process.env.S3_REGION ?? 'us-east-1',
  S3_ACCESS_KEY: process.env.S3_ACCESS_KEY ?? 'relay-test',
  S3_SECRET_KEY: process.env.S3_SECRET_KEY ?? 'relay-test-secret',
};
let shards = new Map<string, ChildServer>();
let objects: S3BlobStore;
let photo: Buffer;
let alice: TestUser;
let bob: TestUser;
let conv: string;
const sockets: TestSocket[] = [];

const shard = (id: string) => shards.get(id) as ChildServer;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  shards = await spawnShards(env, ['s1', 's2'], { ...s3, BLOB: 's3', S3_BUCKET: bucket, ATTACH_GC_INTERVAL_MS: '300' });
  await waitForRing([...shards.values()], new Ring(['s1', 's2']).version);
  objects = await S3BlobStore.open({ endpoint: s3.S3_ENDPOINT, region: s3.S3_REGION, bucket, accessKey: s3.S3_ACCESS_KEY, secretKey: s3.S3_SECRET_KEY, pathStyle: true });
  photo = await cameraJpeg();
  alice = await registerUser(shard('s1').url);
  bob = await registerUser(shard('s2').url);
  conv = await createConversation(shard('s1').url, alice, 'direct', [bob]);
}, 180_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await stopShards(shards.values());
  await dropKeyspace(env.keyspace);
}, 60_000);

async function slot(base: string, user: TestUser, bytes: Buffer, declared = bytes) {
  const res = await http(base, 'POST', '/api/v1/attachments', { name: 'photo.jpg', content_type: 'image/jpeg', size: declared.length, sha256: sha(declared) }, user.token);
  expect(res.status).toBe(201);
  return res.body as { attachment_id: string; upload_url: string; upload_headers: Record<string, string> };
}

async function putTo(url: string, headers: Record<string, string>, bytes: Buffer): Promise<number> {
  const res = await fetch(url, { method: 'PUT', headers, body: new Uint8Array(bytes) });
  await res.arrayBuffer();
  return res.status;
}

test('a photo crosses shards: S3 upload, completion elsewhere, placeholder and thumbnail at once, display from a bullmq job', async () => {
  const s = await slot(shard('s1').url, alice, photo);
  // The PUT goes to the S3 API, not to a shard.
  expect(new URL(s.upload_url).port).toBe(new URL(s3.S3_ENDPOINT).port);
  expect(await putTo(s.upload_url, s.upload_headers, photo)).toBe(200);
  const done = await http(shard('s2').url, 'POST', `/api/v1/attachments/${s.attachment_id}/complete`, undefined, alice.token);
  expect(done.status).toBe(200);
  expect(done.body).toMatchObject({ kind: 'image', width: 3000, height: 4000, display: null });
  expect(await objects.stat(`uploads/${s.attachment_id}`)).toBeNull();
  expect(await objects.stat(`blobs/${sha(photo)}`)).toMatchObject({ size: photo.length });

  const a = await TestSocket.connect(shard('s1').wsUrl, alice.token, 'a1');
  const b = await TestSocket.connect(shard('s2').wsUrl, bob.token, 'b1');
  sockets.push(a.sock, b.sock);
  const ack = await a.sock.sendMessage(conv, 'look', `att-${env.run}`, { attachments: [s.attachment_id] });
  expect(ack.type).toBe('ACK');
  const msg = await b.sock.next((f: Frame) => f.type === 'DELIVER' && f.seq === ack.seq);
  expect(msg.attachments[0]).toMatchObject({ id: s.attachment_id, placeholder: expect.any(String), thumbnail: { width: 240, height: 320 } });
  const ready = await b.sock.next((f: Frame) => f.type === 'DELIVER' && f.kind === 'attachment_ready', 20_000);
  expect(ready).toMatchObject({ target_seq: ack.seq, attachment: { id: s.attachment_id, display: { width: 1200, height: 1600 } } });

  // The recipient downloads from S3 directly; the rendition carries no EXIF.
  const url = await http(shard('s1').url, 'GET', `/api/v1/attachments/${s.attachment_id}/url?rendition=display`, undefined, bob.token);
  expect(url.status).toBe(200);
  expect(new URL(url.body.url as string).port).toBe(new URL(s3.S3_ENDPOINT).port);
  const got = Buffer.from(await (await fetch(url.body.url as string)).arrayBuffer());
  const meta = await sharp(got).metadata();
  expect([meta.format, meta.width, meta.height, meta.exif]).toEqual(['jpeg', 1200, 1600, undefined]);

  // Unsend: the message's attachment goes, and the collector deletes the content from S3.
  a.sock.send({ type: 'DELETE', client_msg_id: `del-${env.run}`, conv_id: conv, target_seq: ack.seq });
  const del = await a.sock.next((f: Frame) => (f.type === 'ACK' || f.type === 'ERROR') && (f.client_msg_id ?? f.ref) === `del-${env.run}`);
  expect(del.type).toBe('ACK');
  await pollUntil(async () => (await objects.stat(`blobs/${sha(photo)}`)) === null && (await objects.stat(`renditions/${sha(photo)}/display`)) === null, (gone) => gone, 10_000);
});

test('on S3 too, a refused completion leaves nothing in the bucket, and a non-member gets no URL', async () => {
  const other = Buffer.concat([photo.subarray(0, photo.length - 64), randomBytes(64)]);
  const s = await slot(shard('s2').url, alice, other, photo);
  expect(await putTo(s.upload_url, s.upload_headers, other)).toBe(200);
  const done = await http(shard('s1').url, 'POST', `/api/v1/attachments/${s.attachment_id}/complete`, undefined, alice.token);
  expect(done.status).toBe(400);
  expect(done.body.error.message).toMatch(/hash mismatch/);
  expect(await objects.stat(`uploads/${s.attachment_id}`)).toBeNull();
  expect(await objects.stat(`blobs/${sha(other)}`)).toBeNull();

  const ok = await slot(shard('s1').url, alice, photo);
  expect(await putTo(ok.upload_url, ok.upload_headers, photo)).toBe(200);
  expect((await http(shard('s1').url, 'POST', `/api/v1/attachments/${ok.attachment_id}/complete`, undefined, alice.token)).status).toBe(200);
  const stranger = await registerUser(shard('s2').url);
  expect((await http(shard('s2').url, 'GET', `/api/v1/attachments/${ok.attachment_id}/url?rendition=thumbnail`, undefined, stranger.token)).status).toBe(404);
});

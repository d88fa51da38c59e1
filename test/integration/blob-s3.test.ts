/**
 * The BlobStore contract against a real S3 API: S3Proxy on the filesystem provider in CI and
 * on laptops (scripts/services/s3proxy.sh), or any S3-compatible service named by S3_ENDPOINT,
 * S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY. Each run uses a bucket of its own, created by the
 * engine (it creates a missing bucket) and emptied and removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'minio';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/blob';
import { blobContract } from '../blob/contract';

const endpoint = new URL(process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000');
const opts: S3BlobStoreOptions = {
  endpoint: endpoint.toString().replace(/\/$/, ''),
  region: process.env.S3_REGION ?? 'us-east-1',
  bucket: `relay-it-${randomBytes(4).toString('hex')}`,
  accessKey: process.env.S3_ACCESS_KEY ?? 'relay-test',
  secretKey: process.env.S3_SECRET_KEY ?? 'relay-test-secret',
  pathStyle: true,
};
let store: S3BlobStore;

beforeAll(async () => {
  store = await S3BlobStore.open(opts);
});

afterAll(async () => {
  // Empties and removes the run's bucket through a plain client (the engine never lists).
  const admin = new Client({ endPoint: endpoint.hostname, port: Number(endpoint.port || 80), useSSL: endpoint.protocol === 'https:', accessKey: opts.accessKey, secretKey: opts.secretKey, region: opts.region, pathStyle: true });
  const names: string[] = [];
  for await (const item of admin.listObjectsV2(opts.bucket, '', true)) if (item.name) names.push(item.name);
  if (names.length > 0) await admin.removeObjects(opts.bucket, names);
  await admin.removeBucket(opts.bucket);
});

// S3Proxy's filesystem provider is no atomic replace for readers (see BlobContext.racingReads):
// set S3_RACING_READS=1 when S3_ENDPOINT is a real S3 service.
blobContract('S3 API through the minio client', { store: () => store, racingReads: process.env.S3_RACING_READS === '1' });

test('opening again finds the bucket it created (shards start concurrently)', async () => {
  const [a, b] = await Promise.all([S3BlobStore.open(opts), S3BlobStore.open(opts)]);
  const k = `test/reopen-${Date.now()}`;
  await a.write(k, Buffer.from('x'), 'text/plain');
  expect(await b.stat(k)).toEqual({ size: 1, contentType: 'text/plain' });
});

test('wrong credentials fail at open with the service error, not later', async () => {
  await expect(S3BlobStore.open({ ...opts, secretKey: 'wrong-secret' })).rejects.toThrow();
});

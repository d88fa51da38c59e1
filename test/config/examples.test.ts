/**
 * The example configurations under config/ load through CONFIG_FILE exactly as the
 * server loads them, so none can drift from the schema: an unknown or invalid key, or a
 * new engine setting the distributed example lacks, fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { schema } from '../../src/config/schema';

const dir = join(__dirname, '..', '..', 'config');
const file = (name: string): string => join(dir, name);
const keys = (name: string): string[] => Object.keys(JSON.parse(readFileSync(file(name), 'utf8')) as object);

/** What the production profile leaves to the environment; none of it may sit in a file. */
const secrets = {
  JWT_SECRET: 'j'.repeat(48),
  S3_ACCESS_KEY: 'access-key-from-env',
  S3_SECRET_KEY: 'secret-key-from-env',
  PUSH_VAPID_PUBLIC_KEY: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url'),
  PUSH_VAPID_PRIVATE_KEY: Buffer.alloc(32, 2).toString('base64url'),
};

test('config/ holds exactly the documented examples', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const examples = ['distributed.json', 'embedded.json', 'production.json'];
  expect(readdirSync(dir).sort()).toEqual(examples);
  for (const name of examples) {
    expect(readme).toContain(`config/${name}`);
    // loadConfig refuses these too; named here so the failure says which file.
    expect(keys(name).filter((k) => !(k in schema.properties))).toEqual([]);
  }
});

test('embedded.json is the embedded default, spelled out', () => {
  expect(loadConfig({ CONFIG_FILE: file('embedded.json') })).toEqual(loadConfig({}));
});

test('distributed.json sets every engine setting and loads with the shared secrets from the environment', () => {
  const perShard = ['CLUSTER_ADVERTISE_URL'];
  const engineKeys = Object.keys(schema.properties).filter(
    (k) => /^(STORE|BUS|BLOB)$|^(CASSANDRA|REDIS|CLUSTER|JOBS|S3)_/.test(k) && !perShard.includes(k) && !(k in secrets),
  );
  expect(engineKeys.filter((k) => !keys('distributed.json').includes(k))).toEqual([]);
  expect(() => loadConfig({ CONFIG_FILE: file('distributed.json') })).toThrow(/^JWT_SECRET:/);
  const c = loadConfig({ CONFIG_FILE: file('distributed.json'), ...secrets, SHARD_ID: 'shard-1', CLUSTER_ADVERTISE_URL: 'http://shard-1:8080' });
  expect(c).toMatchObject({ store: 'cassandra', bus: 'redis', shardId: 'shard-1', cluster: { advertiseUrl: 'http://shard-1:8080' } });
  expect(c.blob).toMatchObject({ engine: 's3', accessKey: secrets.S3_ACCESS_KEY, secretKey: secrets.S3_SECRET_KEY });
});

test('production.json keeps every secret out of the file and refuses to start without them', () => {
  expect(keys('production.json').filter((k) => k in secrets)).toEqual([]);
  expect(() => loadConfig({ CONFIG_FILE: file('production.json') })).toThrow(/^JWT_SECRET:/);
  const { S3_ACCESS_KEY: _a, S3_SECRET_KEY: _s, ...withoutS3 } = secrets;
  expect(() => loadConfig({ CONFIG_FILE: file('production.json'), ...withoutS3 })).toThrow(/^S3_ACCESS_KEY:/);
  const c = loadConfig({ CONFIG_FILE: file('production.json'), ...secrets });
  expect(c).toMatchObject({ store: 'cassandra', bus: 'redis', jwtSecret: secrets.JWT_SECRET });
  expect(c.cassandra).toMatchObject({ replicationFactor: 3, consistency: 'LOCAL_QUORUM', serialConsistency: 'LOCAL_SERIAL' });
  expect(c.push.vapidKeys).toEqual({ publicKey: secrets.PUSH_VAPID_PUBLIC_KEY, privateKey: secrets.PUSH_VAPID_PRIVATE_KEY });
  expect(c.blob).toMatchObject({ engine: 's3', accessKey: secrets.S3_ACCESS_KEY, pathStyle: false });
});

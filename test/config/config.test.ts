import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { schema } from '../../src/config/schema';

/** A well-formed VAPID pair (a P-256 point's shape and a 32-byte scalar), as a cluster needs. */
const vapid = {
  PUSH_VAPID_PUBLIC_KEY: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url'),
  PUSH_VAPID_PRIVATE_KEY: Buffer.alloc(32, 2).toString('base64url'),
};

test('defaults are the documented ones', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', dataDir: './data', store: 'sqlite', bus: 'memory', logLevel: 'info', shardId: null, jwtSecret: null });
  expect(c.limits).toEqual({ maxFrameBytes: 65536, maxBodyChars: 10000, maxIdChars: 64, maxGroupMembers: 250, maxPresenceSub: 256, maxAttachments: 10, maxMentions: 50, maxEmojiChars: 32 });
});

test('environment strings are coerced and validated', () => {
  expect(loadConfig({ PORT: '9000', RATE_LIMIT_BURST: '7' })).toMatchObject({ port: 9000, rateLimitBurst: 7 });
});

test.each([
  [{ PORT: 'abc' }, /^PORT:/],
  [{ PORT: '70000' }, /^PORT:/],
  [{ STORE: 'postgres' }, /^STORE:/],
  [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL:/],
  [{ JWT_SECRET: 'short' }, /^JWT_SECRET:/],
  [{ SHARD_ID: 'has space' }, /^SHARD_ID:/],
])('invalid %p is refused naming the key', (env, message) => {
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(message);
});

test('AUTH_RECHECK_MS: 5 min by default, 0 allowed (every heartbeat), a bad value refused naming the key', () => {
  expect(loadConfig({})).toMatchObject({ authCacheTtlMs: 5000, authRecheckMs: 300_000 });
  expect(loadConfig({ AUTH_RECHECK_MS: '0' }).authRecheckMs).toBe(0);
  expect(loadConfig({ AUTH_RECHECK_MS: '60000' }).authRecheckMs).toBe(60_000);
  for (const bad of ['5m', '-1', '1.5', '3600001']) {
    expect(() => loadConfig({ AUTH_RECHECK_MS: bad })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTH_RECHECK_MS: bad })).toThrow(/^AUTH_RECHECK_MS: must .*\(got /);
  }
});

test('a config file sets keys; the environment wins; unknown keys are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ PORT: 7000, HOST: '127.0.0.1' }));
  expect(loadConfig({ CONFIG_FILE: file, HOST: '::1' })).toMatchObject({ port: 7000, host: '::1' });
  writeFileSync(file, JSON.stringify({ PROT: 7000 }));
  expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(/^PROT: unknown configuration key/);
  writeFileSync(file, '{nope');
  expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(/^CONFIG_FILE:/);
});

test('rich-message keys: edit window, emoji length, link preview switches and allowlist', () => {
  const c = loadConfig({ EDIT_WINDOW_MS: '0', MAX_EMOJI_CHARS: '8', LINK_PREVIEWS: 'off', LINK_PREVIEW_ALLOW: ' 127.0.0.2, 10.1.0.0/16 ,::1/128', LINK_PREVIEW_MAX_REDIRECTS: '0' });
  expect(c.editWindowMs).toBe(0);
  expect(c.limits.maxEmojiChars).toBe(8);
  expect(c.linkPreviews).toEqual({ enabled: false, allow: ['127.0.0.2/32', '10.1.0.0/16', '::1/128'], timeoutMs: 5000, maxBytes: 524288, maxRedirects: 0 });
  expect(loadConfig({}).linkPreviews).toMatchObject({ enabled: true, allow: [] });
  expect(loadConfig({}).editWindowMs).toBe(15 * 60_000);
  for (const bad of ['localhost', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/8/1', '::1/129', '10.0.0.0/x']) {
    expect(() => loadConfig({ LINK_PREVIEW_ALLOW: bad })).toThrow(/LINK_PREVIEW_ALLOW/);
  }
  expect(() => loadConfig({ LINK_PREVIEWS: 'maybe' })).toThrow(/LINK_PREVIEWS/);
});

test('distributed-mode keys: engines, Cassandra and Redis settings, cluster timings', () => {
  const secret = 's'.repeat(40);
  const c = loadConfig({
    STORE: 'cassandra',
    BUS: 'redis',
    JWT_SECRET: secret,
    ...vapid,
    CASSANDRA_CONTACT_POINTS: '10.0.0.1:9042, 10.0.0.2:9042',
    CASSANDRA_REPLICATION_FACTOR: '3',
    CLUSTER_ADVERTISE_URL: 'http://10.0.0.9:8080',
  });
  expect(c.store).toBe('cassandra');
  expect(c.cassandra).toEqual({
    contactPoints: ['10.0.0.1:9042', '10.0.0.2:9042'],
    localDataCenter: 'datacenter1',
    keyspace: 'relay',
    replicationFactor: 3,
    consistency: 'LOCAL_QUORUM',
    serialConsistency: 'LOCAL_SERIAL',
  });
  expect(c.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'relay:' });
  expect(c.cluster).toEqual({ advertiseUrl: 'http://10.0.0.9:8080', heartbeatMs: 1000, shardTtlMs: 3000, retryMs: 10_000 });
  expect(() => loadConfig({ BUS: 'redis' })).toThrow(/JWT_SECRET/);
  // One VAPID pair for every shard: without it each would generate its own.
  expect(() => loadConfig({ BUS: 'redis', JWT_SECRET: secret })).toThrow(/^PUSH_VAPID_PUBLIC_KEY: required with BUS=redis/);
  expect(() => loadConfig({ BUS: 'redis', JWT_SECRET: secret, PUSH_VAPID_PUBLIC_KEY: vapid.PUSH_VAPID_PUBLIC_KEY })).toThrow(/^PUSH_VAPID_PRIVATE_KEY/);
  expect(() => loadConfig({ BUS: 'redis', JWT_SECRET: secret, ...vapid, CLUSTER_HEARTBEAT_MS: '5000', CLUSTER_SHARD_TTL_MS: '3000' })).toThrow(/CLUSTER_SHARD_TTL_MS/);
  expect(() => loadConfig({ CASSANDRA_KEYSPACE: 'Bad-Name' })).toThrow(/CASSANDRA_KEYSPACE/);
  expect(() => loadConfig({ CASSANDRA_CONSISTENCY: 'TWO' })).toThrow(/CASSANDRA_CONSISTENCY/);
  expect(c.jobs).toEqual({ stalledMs: 5000 });
  expect(loadConfig({ JOBS_STALLED_MS: '1500' }).jobs).toEqual({ stalledMs: 1500 });
  expect(() => loadConfig({ JOBS_STALLED_MS: '100' })).toThrow(/JOBS_STALLED_MS/);
});

test('attachment keys: blob engine, S3 settings, limits, lifetimes', () => {
  const local = loadConfig({});
  expect(local.blob).toEqual({ engine: 'local', publicUrl: null });
  expect(local.attachments).toMatchObject({ maxImageBytes: 25 * 1024 * 1024, maxFileBytes: 50 * 1024 * 1024, uploadTtlSeconds: 300, unsentTtlMs: 24 * 3600_000 });
  expect(local.attachments.types).toContain('image/jpeg');
  expect(loadConfig({ PUBLIC_URL: 'https://chat.example.com' }).blob).toEqual({ engine: 'local', publicUrl: 'https://chat.example.com' });
  expect(() => loadConfig({ PUBLIC_URL: 'https://chat.example.com/app' })).toThrow(/PUBLIC_URL/);
  const s3 = loadConfig({ BLOB: 's3', S3_ACCESS_KEY: 'k', S3_SECRET_KEY: 's', S3_PATH_STYLE: 'off', ATTACH_TYPES: 'image/png, Text/Plain' });
  expect(s3.blob).toEqual({ engine: 's3', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', bucket: 'relay-attachments', accessKey: 'k', secretKey: 's', pathStyle: false });
  expect(s3.attachments.types).toEqual(['image/png', 'text/plain']);
  expect(() => loadConfig({ BLOB: 's3' })).toThrow(/S3_ACCESS_KEY/);
  expect(() => loadConfig({ ATTACH_MAX_PIXELS: '5' })).toThrow(/ATTACH_MAX_PIXELS/);
});

test('the README documents every configuration key', () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const missing = Object.keys(schema.properties).filter((key) => !readme.includes(`| \`${key}\` |`));
  expect(missing).toEqual([]);
});

test('push keys: VAPID pair or none, subject fallback, allowlist, timeout', () => {
  const c = loadConfig({});
  expect(c.push).toEqual({ allow: [], timeoutMs: 10_000, vapidKeys: null, vapidSubject: 'mailto:push@localhost', fcmServiceAccount: null, caFile: null });
  expect(loadConfig({ PUBLIC_URL: 'https://chat.example.com' }).push.vapidSubject).toBe('https://chat.example.com');
  expect(loadConfig({ PUBLIC_URL: 'https://chat.example.com', PUSH_VAPID_SUBJECT: 'mailto:ops@example.com' }).push.vapidSubject).toBe('mailto:ops@example.com');
  expect(() => loadConfig({ PUSH_VAPID_SUBJECT: 'ops@example.com' })).toThrow(/^PUSH_VAPID_SUBJECT:/);
  const publicKey = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
  const privateKey = Buffer.alloc(32, 2).toString('base64url');
  expect(loadConfig({ PUSH_VAPID_PUBLIC_KEY: publicKey, PUSH_VAPID_PRIVATE_KEY: privateKey }).push.vapidKeys).toEqual({ publicKey, privateKey });
  expect(() => loadConfig({ PUSH_VAPID_PUBLIC_KEY: publicKey })).toThrow(/^PUSH_VAPID_PRIVATE_KEY:/);
  expect(() => loadConfig({ PUSH_VAPID_PRIVATE_KEY: privateKey })).toThrow(/^PUSH_VAPID_PUBLIC_KEY:/);
  expect(() => loadConfig({ PUSH_VAPID_PUBLIC_KEY: privateKey, PUSH_VAPID_PRIVATE_KEY: privateKey })).toThrow(/^PUSH_VAPID_PUBLIC_KEY:/);
  expect(() => loadConfig({ PUSH_VAPID_PUBLIC_KEY: publicKey, PUSH_VAPID_PRIVATE_KEY: publicKey })).toThrow(/^PUSH_VAPID_PRIVATE_KEY:/);
  expect(loadConfig({ PUSH_ALLOW: '127.0.0.1, fd00::/8', PUSH_TIMEOUT_MS: '2500', PUSH_FCM_SERVICE_ACCOUNT: '/etc/relay/fcm.json' }).push).toMatchObject({
    allow: ['127.0.0.1/32', 'fd00::/8'],
    timeoutMs: 2500,
    fcmServiceAccount: '/etc/relay/fcm.json',
  });
  expect(() => loadConfig({ PUSH_ALLOW: 'localhost' })).toThrow(/^PUSH_ALLOW:/);
  expect(() => loadConfig({ PUSH_TIMEOUT_MS: '5' })).toThrow(/^PUSH_TIMEOUT_MS:/);
});

test('opening limits and trusted proxies', () => {
  const c = loadConfig({});
  expect(c.admission).toEqual({ openPerSecond: 20, openBurst: 100, maxPending: 10_000, maxPendingPerAddress: 100 });
  expect(c.trustProxy).toEqual([]);
  expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1, ::1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1/32', '::1/128']);
  expect(() => loadConfig({ TRUST_PROXY: 'proxy.internal' })).toThrow(/^TRUST_PROXY:/);
  expect(() => loadConfig({ SESSION_OPEN_BURST: '0' })).toThrow(/SESSION_OPEN_BURST/);
});

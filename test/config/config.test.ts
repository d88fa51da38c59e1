import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

test('defaults match DESIGN.md section 7a', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', dataDir: './data', store: 'sqlite', bus: 'memory', logLevel: 'info', shardId: null, jwtSecret: null });
  expect(c.limits).toEqual({ maxFrameBytes: 65536, maxBodyChars: 10000, maxIdChars: 64, maxGroupMembers: 250, maxPresenceSub: 256, maxAttachments: 10, maxMentions: 50 });
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

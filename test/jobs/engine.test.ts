import { loadConfig } from '../../src/config';
import { MemoryJobs, openJobs, RedisJobs } from '../../src/jobs';
import { generateVAPIDKeys } from 'web-push';

const pair = generateVAPIDKeys();
/** A cluster (BUS=redis) needs one Web Push pair. */
const vapid = { PUSH_VAPID_PUBLIC_KEY: pair.publicKey, PUSH_VAPID_PRIVATE_KEY: pair.privateKey };

// Neither engine connects anywhere before the first register() or add().
test('the jobs engine follows BUS: memory in one process, Redis for a cluster', async () => {
  const memory = openJobs(loadConfig({}));
  const redis = openJobs(loadConfig({ BUS: 'redis', JWT_SECRET: 's'.repeat(40), ...vapid, JOBS_STALLED_MS: '2000' }));
  expect(memory).toBeInstanceOf(MemoryJobs);
  expect(redis).toBeInstanceOf(RedisJobs);
  await Promise.all([memory.close(), redis.close()]);
});

import { loadConfig } from '../../src/config';
import { MemoryJobs, openJobs, RedisJobs } from '../../src/jobs';

// Neither engine connects anywhere before the first register() or add().
test('the jobs engine follows BUS: memory in one process, Redis for a cluster', async () => {
  const memory = openJobs(loadConfig({}));
  const redis = openJobs(loadConfig({ BUS: 'redis', JWT_SECRET: 's'.repeat(40), JOBS_STALLED_MS: '2000' }));
  expect(memory).toBeInstanceOf(MemoryJobs);
  expect(redis).toBeInstanceOf(RedisJobs);
  await Promise.all([memory.close(), redis.close()]);
});

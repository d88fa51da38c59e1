/**
 * RedisLoginThrottle against a real Redis: the LoginThrottle contract, and two shards (two
 * connections) counting one account's attempts together.
 */
import { RedisLoginThrottle } from '../../src/ratelimit';
import { newId } from '../../src/protocol';
import { contractPolicy, runLoginThrottleContract } from '../ratelimit/login-contract';
import { connectRedis, deleteKeys, randomPrefix } from './redis-env';

runLoginThrottleContract('redis', async () => {
  const prefix = randomPrefix();
  const redis = connectRedis();
  return {
    throttle: new RedisLoginThrottle(redis, contractPolicy, prefix),
    close: async () => {
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
});

test('shards count an account together: attempts on one close it on the other', async () => {
  const prefix = randomPrefix();
  const [a, b] = [connectRedis(), connectRedis()];
  try {
    const [one, two] = [new RedisLoginThrottle(a, contractPolicy, prefix), new RedisLoginThrottle(b, contractPolicy, prefix)];
    const account = newId('acct');
    expect([await one.attempt(account), await two.attempt(account), await one.attempt(account)]).toEqual([0, 0, 0]);
    expect(await two.attempt(account)).toBeGreaterThan(0);
    await one.succeeded(account);
    expect(await two.attempt(account)).toBe(0);
  } finally {
    await deleteKeys(a, prefix);
    await Promise.all([a.quit(), b.quit()]);
  }
});

/**
 * Redis for the integration suites: REDIS_URL (default redis://127.0.0.1:6379), a random
 * key and channel prefix per suite, and removal of the suite's keys afterwards.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other run shares, e.g. "it:3f9a1c2b:". */
export function randomPrefix(): string {
  return `it:${randomBytes(4).toString('hex')}:`;
}

/** A plain command connection; the caller quits it. */
export function connectRedis(): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: 2 });
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

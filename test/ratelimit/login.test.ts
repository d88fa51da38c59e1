/** Per-account login backoff: the policy, the memory engine (exact, on a given clock) and its contract. */
import { MemoryLoginThrottle, RateLimiter, backoffMs, defaultLoginBackoff } from '../../src/ratelimit';
import { contractPolicy, runLoginThrottleContract } from './login-contract';

runLoginThrottleContract('memory', async () => ({ throttle: new MemoryLoginThrottle(contractPolicy), close: async () => undefined }));

test('the default policy: 5 attempts, then 1, 2, 4, 8, 16 s, then 30 s at most', () => {
  expect([1, 2, 3, 4].map((n) => backoffMs(defaultLoginBackoff, n))).toEqual([0, 0, 0, 0]);
  expect([5, 6, 7, 8, 9, 10, 11, 60, 5000].map((n) => backoffMs(defaultLoginBackoff, n))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000]);
});

test('memory engine, on its clock: windows start at the counted attempt, refusals say how long is left', () => {
  let now = 1_000_000;
  const t = new MemoryLoginThrottle(defaultLoginBackoff, { now: () => now });
  for (let i = 0; i < 4; i++) expect(t.attemptNow('ann')).toBe(0);
  expect(t.attemptNow('ann')).toBe(0); // 5th: closes 1 s
  now += 400;
  expect(t.attemptNow('ann')).toBe(600);
  now += 600;
  expect(t.attemptNow('ann')).toBe(0); // 6th: closes 2 s
  now += 1999;
  expect(t.attemptNow('ann')).toBe(1);
  // 15 minutes without an attempt forget them, and sweep drops the entry.
  now += 15 * 60_000;
  t.sweep();
  for (let i = 0; i < 4; i++) expect(t.attemptNow('ann')).toBe(0);
});

test('memory engine is bounded: the oldest accounts go first', () => {
  const t = new MemoryLoginThrottle({ ...defaultLoginBackoff, freeAttempts: 1 }, { maxAccounts: 2 });
  expect(t.attemptNow('a')).toBe(0); // closes "a"
  expect(t.attemptNow('a')).toBeGreaterThan(0);
  t.attemptNow('b');
  t.attemptNow('c'); // "a" is dropped
  expect(t.attemptNow('a')).toBe(0);
});

test('a token bucket says how long until its next token', () => {
  const rl = new RateLimiter(2, 2);
  expect(rl.retryAfterMs('k', 0)).toBe(0); // unknown key: full
  rl.take('k', 0);
  expect(rl.retryAfterMs('k', 0)).toBe(0);
  rl.take('k', 0);
  expect(rl.retryAfterMs('k', 0)).toBe(500); // 2 per second
  expect(rl.retryAfterMs('k', 400)).toBe(100);
  expect(rl.retryAfterMs('k', 500)).toBe(0);
});

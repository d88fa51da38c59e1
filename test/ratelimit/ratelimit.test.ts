import { RateLimiter } from '../../src/ratelimit';

test('allows the burst, then the sustained rate', () => {
  const rl = new RateLimiter(2, 3);
  const t = 1_000_000;
  expect([rl.take('u', t), rl.take('u', t), rl.take('u', t), rl.take('u', t)]).toEqual([true, true, true, false]);
  expect(rl.take('u', t + 499)).toBe(false);
  expect(rl.take('u', t + 500)).toBe(true); // 2/s refills one token in 500 ms
  expect(rl.take('other', t)).toBe(true); // keys are independent
});

test('never accumulates more than the burst', () => {
  const rl = new RateLimiter(10, 2);
  rl.take('u', 0);
  const later = 3_600_000;
  expect([rl.take('u', later), rl.take('u', later), rl.take('u', later)]).toEqual([true, true, false]);
});

test('sweep forgets full buckets only', () => {
  const rl = new RateLimiter(1, 1);
  rl.take('a', 0);
  rl.take('b', 5000);
  rl.sweep(5500);
  // 'a' was forgotten (a fresh full bucket), 'b' was not (still empty).
  expect(rl.take('a', 5500)).toBe(true);
  expect(rl.take('b', 5500)).toBe(false);
});

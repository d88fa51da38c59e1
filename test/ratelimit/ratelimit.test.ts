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

test('take spends a cost at once, or nothing when the bucket holds less', () => {
  const rl = new RateLimiter(10, 100);
  expect(rl.take('u', 0, 60)).toBe(true);
  expect(rl.take('u', 0, 60)).toBe(false); // 40 left: nothing taken
  expect(rl.take('u', 0, 40)).toBe(true);
});

test('charge runs into debt, which is paid back at the sustained rate before anything passes again', () => {
  const rl = new RateLimiter(100, 200);
  expect(rl.available('u', 0)).toBe(true);
  rl.charge('u', 450, 0); // 200 - 450 = -250, held at minus one burst: -200
  expect(rl.available('u', 0)).toBe(false);
  expect(rl.available('u', 2000)).toBe(false); // -200 + 200 = 0
  expect(rl.available('u', 2010)).toBe(true);
  // A bucket in debt is not swept as full (that would forgive the debt).
  rl.charge('u', 400, 3000); // down to -200 again
  rl.sweep(4500);
  expect(rl.available('u', 4500)).toBe(false);
});

/** PushReach: who is known to have no push device, and when that stops being trusted. */
import { PushReach } from '../../src/push/reach';

test('"no device" is remembered per user from a read, trusted for the TTL, and only when every recipient has none', () => {
  let now = 1000;
  const reach = new PushReach({ ttlMs: 60_000, maxEntries: 100, now: () => now });
  expect(reach.noneOf(['a'])).toBe(false); // unknown: a job must look
  reach.learn(['a', 'b', 'c'], new Set(['c']), now);
  expect(reach.noneOf(['a', 'b'])).toBe(true);
  expect(reach.noneOf(['a', 'c'])).toBe(false); // c has a device
  expect(reach.noneOf(['a', 'd'])).toBe(false); // d unknown
  now += 60_001;
  expect(reach.noneOf(['a'])).toBe(false); // stale: read again
});

test('a registration forgets "no device" at once, and a read that began before it does not bring it back', () => {
  let now = 1000;
  const reach = new PushReach({ ttlMs: 60_000, maxEntries: 100, now: () => now });
  reach.learn(['a'], new Set(), now);
  expect(reach.noneOf(['a'])).toBe(true);
  const readAt = now; // a job starts reading a's registrations...
  now += 5;
  reach.registered('a'); // ...a registers meanwhile...
  now += 5;
  reach.learn(['a'], new Set(), readAt); // ...and the job's read, from before, comes back empty
  expect(reach.noneOf(['a'])).toBe(false);
  reach.learn(['a'], new Set(), now); // a read that began after the registration counts
  expect(reach.noneOf(['a'])).toBe(true);
});

test('cleared after a bus outage; bounded, the oldest findings dropped first', () => {
  const reach = new PushReach({ ttlMs: 60_000, maxEntries: 3 });
  reach.learn(['a', 'b', 'c', 'd'], new Set(), Date.now());
  expect(reach.size).toBe(3);
  expect(reach.noneOf(['a'])).toBe(false);
  expect(reach.noneOf(['b', 'c', 'd'])).toBe(true);
  reach.clear();
  expect(reach.noneOf(['d'])).toBe(false);
});

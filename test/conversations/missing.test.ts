/** The negative cache of conversation lookups (src/conversations/missing.ts): bounded, short-lived, forgettable. */
import { MissingConversations } from '../../src/conversations/missing';

afterEach(() => jest.restoreAllMocks());

test('remembers a missing id until its TTL passes', () => {
  const now = Date.now();
  const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
  const missing = new MissingConversations({ maxEntries: 10, ttlMs: 1000 });
  expect(missing.has('c_1')).toBe(false);
  missing.add('c_1');
  expect(missing.has('c_1')).toBe(true);
  clock.mockReturnValue(now + 999);
  expect(missing.has('c_1')).toBe(true);
  clock.mockReturnValue(now + 1000);
  expect(missing.has('c_1')).toBe(false);
  expect(missing.size).toBe(0);
});

test('never holds more than maxEntries; the oldest go first', () => {
  const missing = new MissingConversations({ maxEntries: 100, ttlMs: 60_000 });
  for (let i = 0; i < 10_000; i++) missing.add(`c_${i}`);
  expect(missing.size).toBe(100);
  expect(missing.has('c_0')).toBe(false);
  expect(missing.has('c_9899')).toBe(false);
  expect(missing.has('c_9900')).toBe(true);
  expect(missing.has('c_9999')).toBe(true);
});

test('forget() drops an entry at once (the conversation was just created)', () => {
  const missing = new MissingConversations({ maxEntries: 10, ttlMs: 60_000 });
  missing.add('c_new');
  missing.forget('c_new');
  expect(missing.has('c_new')).toBe(false);
  expect(missing.size).toBe(0);
});

test('adding an id again restarts its TTL', () => {
  const now = Date.now();
  const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
  const missing = new MissingConversations({ maxEntries: 10, ttlMs: 1000 });
  missing.add('c_1');
  clock.mockReturnValue(now + 800);
  missing.add('c_1');
  clock.mockReturnValue(now + 1500);
  expect(missing.has('c_1')).toBe(true);
});

/**
 * The LoginThrottle contract (src/ratelimit/login.ts), written once and run against every
 * engine: memory here, Redis in test/integration. Real time with a short policy, since the
 * Redis engine keeps its windows by Redis's own expiry.
 */
import { newId } from '../../src/protocol';
import type { LoginBackoffPolicy, LoginThrottle } from '../../src/ratelimit';

/** 3 attempts, then 200 ms, 400 ms, 400 ms ...; forgotten after 1.5 s without one. */
export const contractPolicy: LoginBackoffPolicy = { freeAttempts: 3, baseMs: 200, maxMs: 400, forgetMs: 1500 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function runLoginThrottleContract(name: string, open: () => Promise<{ throttle: LoginThrottle; close: () => Promise<void> }>): void {
  describe(`LoginThrottle contract: ${name}`, () => {
    let throttle: LoginThrottle;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ throttle, close } = await open());
    });
    afterEach(() => close());

    test('the free attempts pass; the last of them closes the account for the base wait', async () => {
      const account = newId('acct');
      expect([await throttle.attempt(account), await throttle.attempt(account), await throttle.attempt(account)]).toEqual([0, 0, 0]);
      const wait = await throttle.attempt(account);
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(contractPolicy.baseMs);
      // Another account is not touched.
      expect(await throttle.attempt(newId('acct'))).toBe(0);
    });

    test('refused attempts are not counted; each counted one doubles the wait, up to the cap', async () => {
      const account = newId('acct');
      for (let i = 0; i < 3; i++) await throttle.attempt(account);
      for (let i = 0; i < 5; i++) expect(await throttle.attempt(account)).toBeGreaterThan(0); // hammering changes nothing
      await sleep(contractPolicy.baseMs + 30);
      expect(await throttle.attempt(account)).toBe(0); // the 4th counted attempt: 400 ms
      const second = await throttle.attempt(account);
      expect(second).toBeGreaterThan(contractPolicy.baseMs);
      expect(second).toBeLessThanOrEqual(contractPolicy.maxMs);
      await sleep(second + 30);
      expect(await throttle.attempt(account)).toBe(0); // the 5th: 800 ms, capped at 400
      expect(await throttle.attempt(account)).toBeLessThanOrEqual(contractPolicy.maxMs);
    });

    test('a success forgets the attempts', async () => {
      const account = newId('acct');
      for (let i = 0; i < 3; i++) await throttle.attempt(account);
      await throttle.succeeded(account);
      expect([await throttle.attempt(account), await throttle.attempt(account), await throttle.attempt(account)]).toEqual([0, 0, 0]);
      await throttle.succeeded(newId('acct')); // an account never seen: nothing to do
    });

    test('attempts are forgotten after forgetMs without one', async () => {
      const account = newId('acct');
      await throttle.attempt(account);
      await throttle.attempt(account);
      await sleep(contractPolicy.forgetMs + 50);
      expect([await throttle.attempt(account), await throttle.attempt(account)]).toEqual([0, 0]);
      expect(await throttle.attempt(account)).toBe(0); // the 3rd since forgetting, not the 5th
    });

    test('parallel attempts are counted one by one: exactly the free ones pass', async () => {
      const account = newId('acct');
      const results = await Promise.all(Array.from({ length: 12 }, () => throttle.attempt(account)));
      expect(results.filter((w) => w === 0)).toHaveLength(contractPolicy.freeAttempts);
    });
  });
}

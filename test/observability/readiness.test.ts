/** Readiness probes: cached, never piled up against a hung engine, state changes logged. */
import { Readiness } from '../../src/observability/readiness';
import type { Logger } from '../../src/observability';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a hung check is not started again until it settles; the engine is down meanwhile, and up once a check passes', async () => {
  let calls = 0;
  let release!: () => void;
  let hung = true;
  const logged: string[] = [];
  const logger = { info: (m: string) => logged.push(m), warn: (m: string) => logged.push(m) } as unknown as Logger;
  const readiness = new Readiness(
    [
      {
        name: 'store',
        check: () => {
          calls++;
          return hung ? new Promise<void>((r) => (release = r)) : true;
        },
      },
      { name: 'bus', check: () => true },
    ],
    { intervalMs: 10, timeoutMs: 20, logger },
  );
  await readiness.start();
  expect(readiness.state()).toEqual({ ready: false, down: ['store'] });
  await sleep(200); // ~20 ticks
  expect(calls).toBe(1);
  expect(readiness.state().down).toEqual(['store']);
  hung = false;
  release();
  await sleep(100);
  expect(calls).toBeGreaterThan(1);
  expect(readiness.state()).toEqual({ ready: true, down: [] });
  readiness.stop();
  // bus up at the first probe; store up once its check passed; nothing logged twice in a row.
  expect(logged).toEqual(['engine ready', 'engine ready']);
});

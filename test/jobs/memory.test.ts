import { MemoryJobs } from '../../src/jobs';
import { runJobsContract } from './contract';

// One process holds the jobs: every open() is its own instance, like a restarted process.
runJobsContract('memory', async () => ({ open: (opts) => new MemoryJobs(opts), cleanup: async () => {} }));

test('loses pending jobs on close: nothing is stored', async () => {
  const jobs = new MemoryJobs();
  await jobs.add('q', 1, { delayMs: 50 });
  await jobs.close();
  const after = new MemoryJobs();
  const got: number[] = [];
  after.register<number>('q', async (n) => void got.push(n));
  await new Promise((r) => setTimeout(r, 150));
  expect(got).toEqual([]);
  await after.close();
});

test('a backlog of handlers that never really wait runs over many turns of the event loop, not one', async () => {
  const jobs = new MemoryJobs();
  const order: string[] = [];
  // As a handler on the embedded store: every await resolves at once, nothing yields to I/O.
  jobs.register<number>('q', async (n) => {
    await Promise.resolve();
    order.push(`job ${n}`);
  });
  // Queued in one go, as a burst of window jobs is: the first starts, the rest wait.
  for (let i = 0; i < 50; i++) void jobs.add('q', i);
  setImmediate(() => order.push('other work'));
  await new Promise((r) => setTimeout(r, 50));
  expect(order).toHaveLength(51);
  // The other work did not wait for the whole backlog.
  expect(order.indexOf('other work')).toBeLessThan(5);
  await jobs.close();
});

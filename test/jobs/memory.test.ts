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

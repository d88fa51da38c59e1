/** RedisJobs against a real Redis: the Jobs contract, then what only a shared, durable engine has. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { RedisJobs, type JobFailure, type JobRun } from '../../src/jobs';
import { waitFor } from '../bus/contract';
import { runJobsContract, sleep } from '../jobs/contract';
import { connectRedis, deleteKeys, randomPrefix, redisUrl } from './redis-env';

const admin = connectRedis();
afterAll(async () => {
  await admin.quit();
});

// Every open() is a separate process's view of one deployment: one key prefix per test.
runJobsContract('redis', async () => {
  const prefix = randomPrefix();
  return {
    open: (opts) => new RedisJobs({ url: redisUrl, prefix, stalledMs: 2000, ...opts }),
    cleanup: () => deleteKeys(admin, prefix),
  };
});

describe('RedisJobs across processes', () => {
  let prefix: string;
  const opened: RedisJobs[] = [];
  const children: ChildProcess[] = [];
  function open(stalledMs = 2000): RedisJobs {
    const jobs = new RedisJobs({ url: redisUrl, prefix, stalledMs });
    opened.push(jobs);
    return jobs;
  }
  beforeEach(() => {
    prefix = randomPrefix();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(opened.splice(0).map((j) => j.close()));
    await deleteKeys(admin, prefix);
  });

  it('runs each job once when two processes work one queue, whichever added it', async () => {
    const [a, b, producer] = [open(), open(), open()];
    const runs = new Map<number, string[]>();
    const handler = (who: string) => async (n: number) => void runs.set(n, [...(runs.get(n) ?? []), who]);
    a.register('q', handler('a'), { concurrency: 3 });
    b.register('q', handler('b'), { concurrency: 3 });
    for (let i = 0; i < 60; i++) await producer.add('q', i);
    await waitFor('60 jobs', () => runs.size === 60, 10_000);
    await sleep(300);
    expect([...runs.values()].every((who) => who.length === 1)).toBe(true);
  });

  it('keeps its keys under <prefix>jobs: and deletes jobs once completed or dropped', async () => {
    const jobs = open();
    let settled = 0;
    jobs.register('q', async (data: string) => {
      settled++;
      if (data === 'bad') throw new Error('bad');
    });
    await jobs.add('q', 'good', { jobId: 'g:1' });
    await jobs.add('q', 'bad', { jobId: 'b:1', attempts: 1 });
    await waitFor('both settled', () => settled === 2);
    await sleep(200);
    const keys = await admin.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.startsWith(`${prefix}jobs:q:`))).toBe(true);
    expect(keys.filter((k) => k.includes('~'))).toEqual([]);
    for (const state of ['completed', 'failed', 'wait', 'active', 'delayed']) {
      expect(await admin.exists(`${prefix}jobs:q:${state}`)).toBe(0);
    }
  });

  /** Starts jobs-child.ts working queue `q`; resolves once its handler is registered. */
  async function spawnWorker(stalledMs: number): Promise<{ child: ChildProcess; out: () => string }> {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'jobs-child.ts'), redisUrl, prefix, 'q', String(stalledMs)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor('the child ready', () => out.includes('ready\n') || child.exitCode !== null, 15_000);
    if (child.exitCode !== null) throw new Error(`child exited: ${err}`);
    return { child, out: () => out };
  }

  /** Adds a job, lets the child start it, and SIGKILLs the child mid-handler; resolves when it is dead. */
  async function killMidRun(stalledMs: number): Promise<void> {
    const { child, out } = await spawnWorker(stalledMs);
    await open(stalledMs).add('q', { photo: 'p1' }, { jobId: 'attachment:p1' });
    await waitFor('the child to start the job', () => out().includes('started attachment:p1 1\n'), 10_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }

  it('completes a job elsewhere when the process running it is SIGKILLed mid-handler', async () => {
    const stalledMs = 1000;
    await killMidRun(stalledMs);
    const killedAt = Date.now();
    const survivor = open(stalledMs);
    const runs: { data: unknown; job: JobRun; at: number }[] = [];
    survivor.register('q', async (data, job) => void runs.push({ data, job, at: Date.now() }));
    await waitFor('the takeover', () => runs.length === 1, 10_000);
    // The lock lapses within stalledMs, and a check every stalledMs / 2 notices it (see RedisJobs).
    expect(runs[0].at - killedAt).toBeLessThan(stalledMs * 1.5 + 1000);
    expect(runs[0].data).toEqual({ photo: 'p1' });
    // A run cut short by a crash is not a failed attempt.
    expect(runs[0].job).toEqual({ id: 'attachment:p1', attempt: 1 });
    await sleep(stalledMs * 2);
    expect(runs).toHaveLength(1);
  }, 40_000);

  it('drops and reports a job whose runs were cut short more than maxStalls times', async () => {
    const stalledMs = 1000;
    await killMidRun(stalledMs);
    const failures: JobFailure[] = [];
    const survivor = new RedisJobs({ url: redisUrl, prefix, stalledMs, maxStalls: 0, onFailed: (f) => failures.push(f) });
    opened.push(survivor);
    let runs = 0;
    survivor.register('q', async () => void runs++);
    await waitFor('the failure report', () => failures.length === 1, 10_000);
    expect(failures[0]).toMatchObject({ queue: 'q', id: 'attachment:p1', data: { photo: 'p1' } });
    expect(failures[0].error.message).toMatch(/stalled/);
    expect(runs).toBe(0);
  }, 40_000);
});

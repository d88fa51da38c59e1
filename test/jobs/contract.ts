/**
 * The Jobs contract suite (src/jobs/index.ts), written once and run against every engine.
 * A harness opens Jobs instances on one backing store; each test registers and adds on one.
 */
import type { JobFailure, JobRun, Jobs, JobsOptions } from '../../src/jobs';
import { waitFor } from '../bus/contract';

/** Backing store for one test: `open` gives a Jobs instance as one process would see it. */
export interface JobsHarness {
  open(opts?: JobsOptions): Jobs;
  /** Runs after every opened instance was closed. */
  cleanup(): Promise<void>;
}

export type JobsFactory = () => Promise<JobsHarness>;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A promise and the function that resolves it, for handlers a test holds open. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => {};
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/** Registers the Jobs contract tests under `describe(name)`. */
export function runJobsContract(name: string, factory: JobsFactory): void {
  describe(`Jobs contract: ${name}`, () => {
    let harness: JobsHarness;
    let opened: Jobs[] = [];
    let failures: JobFailure[];
    let queueSeq = 0;
    const queue = (): string => `q${++queueSeq}`;
    /** Gates left open by a test are opened in afterEach, so no handler outlives its test. */
    let gates: (() => void)[] = [];

    function open(opts: JobsOptions = {}): Jobs {
      const jobs = harness.open({ onFailed: (f) => failures.push(f), ...opts });
      opened.push(jobs);
      return jobs;
    }
    function held(): { opened: Promise<void>; open: () => void } {
      const g = gate();
      gates.push(g.open);
      return g;
    }

    beforeEach(async () => {
      harness = await factory();
      failures = [];
    });
    afterEach(async () => {
      for (const g of gates.splice(0)) g();
      for (const jobs of opened.splice(0)) await jobs.close();
      opened = [];
      gates = [];
      await harness.cleanup();
    });

    it('runs a job once', async () => {
      const jobs = open();
      const q = queue();
      const runs: JobRun[] = [];
      jobs.register(q, async (_data, job) => void runs.push(job));
      await jobs.add(q, { n: 1 });
      await waitFor('the run', () => runs.length === 1);
      await sleep(300);
      expect(runs).toHaveLength(1);
      expect(runs[0].attempt).toBe(1);
      expect(typeof runs[0].id).toBe('string');
      expect(failures).toEqual([]);
    });

    it('hands the handler the data as JSON round-trips it, and the jobId as the id', async () => {
      const jobs = open();
      const q = queue();
      const got: { data: unknown; id: string }[] = [];
      jobs.register<unknown>(q, async (data, job) => void got.push({ data, id: job.id }));
      const data = { s: 'é ✓ 😀', n: 1.5, b: false, nil: null, list: [1, 'two', { three: 3 }], gone: undefined, nested: { deep: { x: [] } } };
      // ':' and '%' are not allowed in bullmq ids, and a numeric id would look like a generated one.
      const ids = ['attachment:a1', '100%:3A', '42'];
      for (const id of ids) await jobs.add(q, data, { jobId: id });
      await waitFor('three runs', () => got.length === 3);
      expect(got.map((g) => g.id).sort()).toEqual([...ids].sort());
      for (const g of got) expect(g.data).toEqual(JSON.parse(JSON.stringify(data)));
      expect(Object.keys(got[0].data as object)).not.toContain('gone');
    });

    it('waits for a handler: a job added before register runs once one is registered', async () => {
      const jobs = open();
      const q = queue();
      await jobs.add(q, 'early');
      await sleep(100);
      const got: string[] = [];
      jobs.register<string>(q, async (data) => void got.push(data));
      await waitFor('the early job', () => got.length === 1);
      expect(got).toEqual(['early']);
    });

    it('retries a handler that threw, with backoff, until it succeeds', async () => {
      const jobs = open();
      const q = queue();
      const times: number[] = [];
      const attempts: number[] = [];
      let done = false;
      jobs.register(q, async (_data, job) => {
        times.push(Date.now());
        attempts.push(job.attempt);
        if (job.attempt < 3) throw new Error(`fail ${job.attempt}`);
        done = true;
      });
      await jobs.add(q, {}, { attempts: 5, backoffMs: 100 });
      await waitFor('success on the third run', () => done);
      expect(attempts).toEqual([1, 2, 3]);
      // Backoff doubles: 100 ms before the second run, 200 ms before the third.
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(90);
      expect(times[2] - times[1]).toBeGreaterThanOrEqual(190);
      await sleep(300);
      expect(attempts).toEqual([1, 2, 3]);
      expect(failures).toEqual([]);
    });

    it('gives up after `attempts` failed runs and reports the job once', async () => {
      const jobs = open();
      const q = queue();
      let runs = 0;
      jobs.register(q, async () => {
        runs++;
        throw new Error('always');
      });
      await jobs.add(q, { file: 'x' }, { jobId: 'doomed', attempts: 3, backoffMs: 10 });
      await waitFor('the failure report', () => failures.length === 1);
      expect(runs).toBe(3);
      expect(failures[0]).toMatchObject({ queue: q, id: 'doomed', attempts: 3, data: { file: 'x' } });
      expect(failures[0].error.message).toBe('always');
      await sleep(300);
      expect(runs).toBe(3);
      expect(failures).toHaveLength(1);
    });

    it('does not run a delayed job early', async () => {
      const jobs = open();
      const q = queue();
      const ran = new Map<string, number>();
      jobs.register<string>(q, async (data) => void ran.set(data, Date.now()));
      const added = Date.now();
      await jobs.add(q, 'late', { delayMs: 700 });
      await jobs.add(q, 'now');
      await waitFor('both', () => ran.size === 2);
      expect((ran.get('late') as number) - added).toBeGreaterThanOrEqual(690);
      expect(ran.get('now') as number).toBeLessThan(ran.get('late') as number);
    });

    it('does not add a jobId twice while it is queued or running, and takes it again once done', async () => {
      const jobs = open();
      const q = queue();
      const got: string[] = [];
      const g = held();
      let started = false;
      jobs.register<string>(q, async (data) => {
        got.push(data);
        started = true;
        await g.opened;
      });
      await jobs.add(q, 'first', { jobId: 'same' });
      await jobs.add(q, 'queued twin', { jobId: 'same' });
      await waitFor('the first run', () => started);
      await jobs.add(q, 'running twin', { jobId: 'same' });
      await jobs.add(q, 'other id', { jobId: 'other' });
      g.open();
      await waitFor('two runs', () => got.length === 2);
      await sleep(300);
      expect(got).toEqual(['first', 'other id']);
      await jobs.add(q, 'again', { jobId: 'same' });
      await waitFor('the id reused', () => got.length === 3);
      expect(got[2]).toBe('again');
    });

    it('does not add a jobId twice while it waits for a retry', async () => {
      const jobs = open();
      const q = queue();
      const got: string[] = [];
      jobs.register<string>(q, async (data, job) => {
        got.push(`${data}#${job.attempt}`);
        if (job.attempt === 1) throw new Error('once');
      });
      await jobs.add(q, 'a', { jobId: 'r', backoffMs: 400 });
      await waitFor('the first run', () => got.length === 1);
      await jobs.add(q, 'b', { jobId: 'r' });
      await waitFor('the retry', () => got.length === 2);
      await sleep(300);
      expect(got).toEqual(['a#1', 'a#2']);
    });

    it('runs at most `concurrency` handlers of a queue at once', async () => {
      const jobs = open();
      const q = queue();
      let running = 0;
      let most = 0;
      let done = 0;
      jobs.register(
        q,
        async () => {
          most = Math.max(most, ++running);
          await sleep(80);
          running--;
          done++;
        },
        { concurrency: 2 },
      );
      for (let i = 0; i < 8; i++) await jobs.add(q, i);
      await waitFor('eight jobs', () => done === 8);
      expect(most).toBe(2);
    });

    it('close() waits for a running handler to finish', async () => {
      const jobs = open();
      const q = queue();
      let started = false;
      let finished = false;
      jobs.register(q, async () => {
        started = true;
        await sleep(400);
        finished = true;
      });
      await jobs.add(q, {});
      await waitFor('the run', () => started);
      await jobs.close();
      expect(finished).toBe(true);
    });

    it('close() gives up waiting after closeTimeoutMs, and refuses work afterwards', async () => {
      const jobs = open({ closeTimeoutMs: 300 });
      const q = queue();
      const g = held();
      let started = false;
      jobs.register(q, async () => {
        started = true;
        await g.opened;
      });
      await jobs.add(q, {});
      await waitFor('the run', () => started);
      const t0 = Date.now();
      await jobs.close();
      expect(Date.now() - t0).toBeLessThan(3000);
      await expect(jobs.add(q, {})).rejects.toThrow(/closed/);
      expect(() => jobs.register(queue(), async () => {})).toThrow(/closed/);
    });

    it('refuses a second handler for a queue, a bad queue name, bad options and data that is not JSON', async () => {
      const jobs = open();
      const q = queue();
      jobs.register(q, async () => {});
      expect(() => jobs.register(q, async () => {})).toThrow(/already/);
      expect(() => jobs.register('a:b', async () => {})).toThrow(/queue name/);
      expect(() => jobs.register(queue(), async () => {}, { concurrency: 0 })).toThrow(/concurrency/);
      await expect(jobs.add('', {})).rejects.toThrow(/queue name/);
      await expect(jobs.add(q, {}, { attempts: 0 })).rejects.toThrow(/attempts/);
      await expect(jobs.add(q, undefined)).rejects.toThrow(/JSON/);
    });
  });
}

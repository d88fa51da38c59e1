/**
 * The only file that imports bullmq. bullmq opens its own Redis connections from the URL
 * (a Worker needs a blocking connection with retries set its own way, and duplicates what it
 * is given anyway), so this module passes the URL through rather than asking src/redis for
 * a connection; bullmq loads the same ioredis package src/redis wraps.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { AddOptions, JobFailure, JobHandler, Jobs, JobsOptions, RegisterOptions } from './index';
import { addSettings, asError, DEFAULT_CLOSE_TIMEOUT_MS, checkQueue, concurrencyOf } from './options';

/**
 * Default of `stalledMs`: a job whose process died runs again elsewhere within about 1.5x
 * this (see RedisJobs). 5 s keeps attachment processing prompt after a crash; each running
 * job renews its lock every 2.5 s (one Redis call), so the cost is small.
 */
export const DEFAULT_STALLED_MS = 5000;
/** Default of `maxStalls`. */
export const DEFAULT_MAX_STALLS = 2;

export interface RedisJobsOptions extends JobsOptions {
  /** redis://host:port[/db] */
  url: string;
  /**
   * The deployment's key prefix (REDIS_PREFIX); queues live under `<prefix>jobs:<queue>:`,
   * so several deployments (or test runs) can share one Redis.
   */
  prefix?: string;
  /** Names the connections in CLIENT LIST, e.g. the shard id. */
  connectionName?: string;
  /**
   * A running job's lock lasts this long and is renewed every half of it; every worker checks
   * for jobs whose lock lapsed every half of it too. Default DEFAULT_STALLED_MS (JOBS_STALLED_MS).
   */
  stalledMs?: number;
  /**
   * Runs of one job that may be cut short by a lost lock (process death, event loop blocked
   * for stalledMs) and be taken over; one more and the job is dropped and reported as failed,
   * so a job that kills every process running it does not loop forever. Default DEFAULT_MAX_STALLS.
   */
  maxStalls?: number;
  /** Told about failures nobody awaits: connection errors, a worker's failed bookkeeping call. */
  onError?: (err: Error) => void;
}

/**
 * Jobs in Redis through bullmq (see the Jobs contract in index.ts), shared by every shard
 * of a deployment: any process may add to any queue, and every process that registered a
 * queue runs its jobs, `concurrency` at a time each. One bullmq Queue per queue added to and
 * one Worker per queue registered, each with its own connections (a Worker's fetch blocks
 * its connection), so a process holds a few connections per queue, not per job.
 *
 * Surviving a crash: a running job holds a lock for `stalledMs`, renewed every
 * `stalledMs / 2`. Every worker runs bullmq's stalled check every `stalledMs / 2`: a job that
 * was active at one check and has no lock at the next goes back to wait, for any worker to
 * take. So a job whose process died runs again elsewhere about `stalledMs` to
 * `1.5 * stalledMs` later. A run taken over this way does not count as an attempt. The same
 * happens when a live process blocks its event loop for `stalledMs`: then two runs of the
 * job may overlap, which idempotent handlers tolerate.
 *
 * Jobs are deleted from Redis when they complete or are dropped (removeOnComplete,
 * removeOnFail), so Redis holds only pending work and a dropped job is only in the logs
 * (through onFailed). That is also what frees a jobId for reuse, as the contract says.
 */
export class RedisJobs implements Jobs {
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();
  private readonly bullPrefix: string;
  private readonly stalledMs: number;
  private readonly maxStalls: number;
  private readonly closeTimeoutMs: number;
  private readonly onFailed: (failure: JobFailure) => void;
  private readonly onError: (err: Error) => void;
  private closed = false;

  constructor(private readonly opts: RedisJobsOptions) {
    // bullmq joins prefix, queue and key with ':'.
    this.bullPrefix = `${opts.prefix ?? ''}jobs`;
    this.stalledMs = opts.stalledMs ?? DEFAULT_STALLED_MS;
    this.maxStalls = opts.maxStalls ?? DEFAULT_MAX_STALLS;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.onFailed = opts.onFailed ?? (() => {});
    this.onError = opts.onError ?? (() => {});
  }

  register<T>(queue: string, handler: JobHandler<T>, opts?: RegisterOptions): void {
    if (this.closed) throw new Error('jobs: closed');
    checkQueue(queue);
    const concurrency = concurrencyOf(opts);
    if (this.workers.has(queue)) throw new Error(`jobs: queue ${queue} already has a handler`);
    const worker = new Worker<T, void>(
      queue,
      // attemptsMade counts failed runs only: a run taken over after a crash keeps its number.
      async (job: Job<T, void>) => handler(job.data, { id: fromBullId(job.id), attempt: job.attemptsMade + 1 }),
      {
        connection: this.connection(`${queue}:worker`),
        prefix: this.bullPrefix,
        concurrency,
        lockDuration: this.stalledMs,
        stalledInterval: Math.max(1, Math.floor(this.stalledMs / 2)),
        maxStalledCount: this.maxStalls,
      },
    );
    worker.on('failed', (job: Job<T, void> | undefined, err: Error) => {
      // 'failed' comes for every failed run; finishedOn is set only when no retry follows.
      if (!job || typeof job.finishedOn !== 'number') return;
      this.report({ queue, id: fromBullId(job.id), attempts: job.attemptsMade, data: job.data, error: asError(err) });
    });
    worker.on('error', this.onConnectionError);
    this.workers.set(queue, worker);
  }

  async add<T>(queue: string, data: T, opts?: AddOptions): Promise<void> {
    if (this.closed) throw new Error('jobs: closed');
    checkQueue(queue);
    const s = addSettings(opts);
    if (JSON.stringify(data) === undefined) throw new Error('jobs: data is not JSON-serialisable');
    // bullmq skips an add whose jobId exists in any state; completed and dropped jobs are
    // removed at once, so "exists" is "queued, delayed, running or waiting for a retry".
    await this.queue(queue).add(queue, data, {
      jobId: s.jobId === undefined ? undefined : toBullId(s.jobId),
      delay: s.delayMs,
      attempts: s.attempts,
      backoff: { type: 'exponential', delay: s.backoffMs },
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const workers = [...this.workers.values()];
    // Worker.close() stops fetching, waits for running handlers and their bookkeeping.
    const finished = await within(Promise.all(workers.map((w) => w.close())), this.closeTimeoutMs);
    if (!finished) {
      // Handlers still running are abandoned: their jobs' locks lapse and another process
      // takes them over (at-least-once); dropping the sockets lets this process exit.
      await Promise.all(workers.map((w) => w.disconnect().catch(() => undefined)));
    }
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection(name), prefix: this.bullPrefix });
      q.on('error', this.onConnectionError);
      this.queues.set(name, q);
    }
    return q;
  }

  /** bullmq builds the ioredis client from these (it loads ioredis itself). */
  private connection(label: string): { url: string; connectionName: string } {
    return { url: this.opts.url, connectionName: `${this.opts.connectionName ?? 'jobs'}:${label}` };
  }

  private report(failure: JobFailure): void {
    try {
      this.onFailed(failure);
    } catch {
      // A logging callback that throws must not stop the worker.
    }
  }

  private readonly onConnectionError = (err: Error): void => {
    if (!this.closed) this.onError(err);
  };
}

/**
 * bullmq refuses custom ids that are integers or contain ':' (its own generated ids are
 * integers); a leading '~' and %-escaping of '%' and ':' make any string acceptable and
 * keep callers' ids apart from generated ones.
 */
function toBullId(id: string): string {
  return `~${id.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'))}`;
}

function fromBullId(id: string | undefined): string {
  if (id === undefined) return '';
  if (!id.startsWith('~')) return id;
  return id.slice(1).replace(/%(25|3A)/g, (_m, code: string) => (code === '25' ? '%' : ':'));
}

/** Resolves true when `p` settles within `ms`, false otherwise. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

import type { AddOptions, JobFailure, JobHandler, Jobs, JobsOptions, RegisterOptions } from './index';
import { addSettings, asError, DEFAULT_CLOSE_TIMEOUT_MS, backoffDelay, checkQueue, concurrencyOf, type JobSettings } from './options';

/** One job while this instance knows it: queued, delayed, running or waiting for a retry. */
interface Job {
  id: string;
  /** The data as JSON: parsed afresh for each run, so a handler's changes do not reach the next. */
  json: string;
  settings: JobSettings;
  /** Runs started so far. */
  runs: number;
}

interface Queue {
  handler: JobHandler<unknown> | null;
  concurrency: number;
  running: number;
  ready: Job[];
  /** Ids of every job of this queue the instance holds, for jobId dedup. */
  ids: Set<string>;
}

/**
 * Jobs on this process's event loop (see the Jobs contract in index.ts), the embedded
 * default. Delays and backoffs are timers; nothing is stored, so queued, delayed and
 * retrying jobs are lost when the process stops (the embedded mode is one process, and its
 * callers re-derive lost work from the store on startup where it matters). A handler that
 * blocks the event loop blocks the whole server: handlers hand heavy work to threads
 * (sharp, piscina) and await it.
 */
export class MemoryJobs implements Jobs {
  private readonly queues = new Map<string, Queue>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly runningRuns = new Set<Promise<void>>();
  private readonly onFailed: (failure: JobFailure) => void;
  private readonly closeTimeoutMs: number;
  private nextId = 0;
  private closed = false;

  constructor(opts: JobsOptions = {}) {
    this.onFailed = opts.onFailed ?? (() => {});
    this.closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  }

  register<T>(queue: string, handler: JobHandler<T>, opts?: RegisterOptions): void {
    if (this.closed) throw new Error('jobs: closed');
    checkQueue(queue);
    const concurrency = concurrencyOf(opts);
    const q = this.queue(queue);
    if (q.handler) throw new Error(`jobs: queue ${queue} already has a handler`);
    // Sound: the caller adds jobs of this queue with data of type T (the contract's JSON).
    q.handler = handler as JobHandler<unknown>;
    q.concurrency = concurrency;
    this.drain(queue, q);
  }

  async add<T>(queue: string, data: T, opts?: AddOptions): Promise<void> {
    if (this.closed) throw new Error('jobs: closed');
    checkQueue(queue);
    const settings = addSettings(opts);
    const json = JSON.stringify(data);
    if (json === undefined) throw new Error('jobs: data is not JSON-serialisable');
    const q = this.queue(queue);
    // Generated ids cannot collide with a caller's: callers' ids are never tested against them.
    const id = settings.jobId ?? `mem-${++this.nextId}`;
    if (q.ids.has(id)) return;
    q.ids.add(id);
    this.later(settings.delayMs, queue, q, { id, json, settings, runs: 0 });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const q of this.queues.values()) q.ready.length = 0;
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.runningRuns]),
      new Promise((resolve) => (bound = setTimeout(resolve, this.closeTimeoutMs))),
    ]);
    clearTimeout(bound);
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = { handler: null, concurrency: 1, running: 0, ready: [], ids: new Set() }));
    return q;
  }

  /** Makes `job` ready after `ms` (at once for 0, still through drain's order). */
  private later(ms: number, name: string, q: Queue, job: Job): void {
    if (ms <= 0) {
      q.ready.push(job);
      this.drain(name, q);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      q.ready.push(job);
      this.drain(name, q);
    }, ms);
    this.timers.add(timer);
  }

  /** Starts ready jobs while the queue has a handler and room under its concurrency. */
  private drain(name: string, q: Queue): void {
    while (!this.closed && q.handler && q.running < q.concurrency && q.ready.length > 0) {
      const job = q.ready.shift() as Job;
      q.running++;
      const run = this.run(name, q, q.handler, job);
      this.runningRuns.add(run);
      void run.finally(() => {
        this.runningRuns.delete(run);
        q.running--;
        // The next job starts on a later turn of the event loop. A handler whose awaits are
        // all synchronous underneath (the embedded store) completes within microtasks, so
        // starting the next one here would run a whole backlog in one turn: hundreds of
        // push windows queued behind a long job once held every message for 20 ms.
        setImmediate(() => this.drain(name, q));
      });
    }
  }

  /** One run of `job`; never rejects. */
  private async run(name: string, q: Queue, handler: JobHandler<unknown>, job: Job): Promise<void> {
    job.runs++;
    try {
      await handler(JSON.parse(job.json) as unknown, { id: job.id, attempt: job.runs });
      q.ids.delete(job.id);
      return;
    } catch (err) {
      if (job.runs < job.settings.attempts) {
        // Closed meanwhile: the retry is dropped like every other pending job.
        if (!this.closed) this.later(backoffDelay(job.settings.backoffMs, job.runs), name, q, job);
        return;
      }
      q.ids.delete(job.id);
      this.report({ queue: name, id: job.id, attempts: job.runs, data: JSON.parse(job.json) as unknown, error: asError(err) });
    }
  }

  private report(failure: JobFailure): void {
    try {
      this.onFailed(failure);
    } catch {
      // A logging callback that throws must not stop the queue.
    }
  }
}

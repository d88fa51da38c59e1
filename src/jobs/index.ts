/**
 * Jobs module: background work that must happen eventually, outside the request that asked
 * for it (attachment processing now, push notifications later). Engines side by side:
 * `memory.ts` (this process, on its event loop) and `redis.ts` (bullmq queues in Redis,
 * shared by every shard). `engine.ts` picks one from the configuration.
 *
 * Contract every engine keeps (test/jobs/contract.ts runs it on both):
 * - At-least-once: a job added is run until its handler resolves, or until it failed
 *   `attempts` times. A handler may therefore run more than once for one job (a retry after
 *   it threw; on Redis also a run taken over after its process died or lost its lock), and
 *   two runs of one job may even overlap on Redis. **Handlers must be idempotent**: running
 *   one twice must leave the same result as running it once.
 * - A handler that throws (or rejects) is run again after `backoffMs * 2^(attempt-1)`. After
 *   the last attempt fails the job is dropped and reported to the engine's `onFailed`.
 * - `data` is JSON-serialisable and arrives as JSON round-trips it (a fresh copy per run,
 *   `undefined` fields dropped, Dates as strings).
 * - A job added with a `jobId` is not added again while a job with that id is queued,
 *   delayed, running or waiting for a retry in the same queue; the second add() is a silent
 *   no-op. Once the job completed or was dropped, the id may be used again.
 * - A delayed job does not run before `delayMs` has passed; jobs otherwise run roughly in
 *   the order they were added, which is not a promise.
 * - A job added to a queue no handler is registered for waits until one is (on Redis, in
 *   any process sharing the deployment's Redis prefix).
 * - Queue names are code constants matching QUEUE_NAME (letters, digits, `_ . -`); others
 *   throw at once.
 * - At most `concurrency` handlers of one queue run at once in one Jobs instance.
 * - close() stops taking jobs and waits for running handlers, at most the engine's
 *   `closeTimeoutMs`; add() and register() after close() throw.
 *
 * Durability differs by engine and is not part of the contract: the memory engine loses
 * queued and delayed jobs when the process stops (the embedded mode is one process; work
 * such as attachment processing is re-derived from the store on startup where it matters),
 * while Redis keeps them and hands a job whose process died to another process.
 */

/** What a handler learns about the run it is in. */
export interface JobRun {
  /** The `jobId` given to add(), or an id the engine generated. */
  id: string;
  /** 1 on the first run; a run taken over after a crash keeps the number of the run it replaces. */
  attempt: number;
}

/** Runs one job; throwing (or rejecting) asks for a retry. Must be idempotent (see the contract). */
export type JobHandler<T> = (data: T, job: JobRun) => Promise<void>;

export interface RegisterOptions {
  /** Handlers of this queue running at once in this instance; default 1. */
  concurrency?: number;
}

export interface AddOptions {
  /** Dedup key within the queue (see the contract); any string. */
  jobId?: string;
  /** Run no earlier than this many ms from now; default 0. */
  delayMs?: number;
  /** Runs before the job is dropped; default DEFAULT_ATTEMPTS. */
  attempts?: number;
  /** Delay before the first retry, doubled for each further one; default DEFAULT_BACKOFF_MS. */
  backoffMs?: number;
}


/** A job dropped after its last attempt failed, for the logs. */
export interface JobFailure {
  queue: string;
  id: string;
  /** Runs made, the failed last one included. */
  attempts: number;
  data: unknown;
  error: Error;
}

/** Options every engine takes. */
export interface JobsOptions {
  /** Told about each job dropped after its last attempt (not about failures that will be retried). */
  onFailed?: (failure: JobFailure) => void;
  /** Bound of close()'s wait for running handlers; default DEFAULT_CLOSE_TIMEOUT_MS. */
  closeTimeoutMs?: number;
}

export interface Jobs {
  /**
   * Starts running jobs of `queue` with `handler` in this instance. One handler per queue
   * per instance: registering a queue twice throws.
   */
  register<T>(queue: string, handler: JobHandler<T>, opts?: RegisterOptions): void;
  /** Resolves once the job is queued (for Redis: stored), or was a duplicate by `jobId`. */
  add<T>(queue: string, data: T, opts?: AddOptions): Promise<void>;
  /** Stops taking jobs; resolves once running handlers finished or `closeTimeoutMs` passed. */
  close(): Promise<void>;
}

export { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, DEFAULT_CLOSE_TIMEOUT_MS, QUEUE_NAME } from './options';
export { MemoryJobs } from './memory';
export { RedisJobs, type RedisJobsOptions } from './redis';
export { openJobs, type JobsEngineOptions } from './engine';

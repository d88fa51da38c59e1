/** Checks and defaults both engines apply alike, so a bad call fails the same way on each. */
import type { AddOptions, RegisterOptions } from './index';

/** What a queue name may be (bullmq refuses `:`; the rest keeps Redis keys readable). */
export const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 1000;
/** How long close() waits for running handlers by default. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

/** AddOptions with defaults filled in and checked. */
export interface JobSettings {
  jobId: string | undefined;
  delayMs: number;
  attempts: number;
  backoffMs: number;
}

export function checkQueue(queue: string): void {
  if (!QUEUE_NAME.test(queue)) throw new Error(`jobs: invalid queue name ${JSON.stringify(queue)}`);
}

export function addSettings(opts: AddOptions = {}): JobSettings {
  const s: JobSettings = {
    jobId: opts.jobId,
    delayMs: opts.delayMs ?? 0,
    attempts: opts.attempts ?? DEFAULT_ATTEMPTS,
    backoffMs: opts.backoffMs ?? DEFAULT_BACKOFF_MS,
  };
  if (s.jobId !== undefined && s.jobId === '') throw new Error('jobs: jobId must not be empty');
  if (!Number.isInteger(s.attempts) || s.attempts < 1) throw new Error(`jobs: attempts must be an integer >= 1 (got ${s.attempts})`);
  if (!(s.delayMs >= 0) || !(s.backoffMs >= 0)) throw new Error('jobs: delayMs and backoffMs must be >= 0');
  return s;
}

export function concurrencyOf(opts: RegisterOptions = {}): number {
  const c = opts.concurrency ?? 1;
  if (!Number.isInteger(c) || c < 1) throw new Error(`jobs: concurrency must be an integer >= 1 (got ${c})`);
  return c;
}

/** The wait before retry number `attempt + 1`, after run `attempt` (1-based) failed: doubling from backoffMs. */
export function backoffDelay(backoffMs: number, attempt: number): number {
  return backoffMs * 2 ** (attempt - 1);
}

/** A thrown value as an Error (handlers may throw anything). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

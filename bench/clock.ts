/**
 * Time for the bench. Every timestamp that crosses a process boundary is CLOCK_MONOTONIC
 * in milliseconds (process.hrtime), which all processes of the machine share; that is
 * what lets a receiver in one load generator subtract a send time stamped by another.
 * performance.now() would not do: its origin is per process.
 */

/** Monotonic milliseconds (fractional), comparable across processes on this machine. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Resolves at monotonic time `at` (at once if it has passed). */
export function sleepUntil(at: number): Promise<void> {
  return sleep(at - nowMs());
}

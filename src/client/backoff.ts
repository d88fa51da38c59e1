/** Reconnect delays: exponential growth with jitter, capped. */

export interface BackoffOptions {
  /** First delay's upper bound (ms). Default 500. */
  minDelayMs?: number;
  /** Largest delay (ms). Default 30,000. */
  maxDelayMs?: number;
}

/**
 * The delay before reconnect attempt `attempt` (0-based): uniformly random in
 * [ceiling/2, ceiling] where ceiling = min(max, min * 2^attempt). Half the range is kept
 * so a crowd of clients spreads out without any of them retrying at once.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const ceiling = ceilingOf(attempt, opts);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** min(max, min * 2^attempt): the growing, capped bound of both delays. */
function ceilingOf(attempt: number, opts: BackoffOptions): number {
  const min = opts.minDelayMs ?? 500;
  const max = Math.max(min, opts.maxDelayMs ?? 30_000);
  return Math.min(max, min * 2 ** Math.min(attempt, 30));
}

/**
 * The delay before reconnect attempt `attempt` (0-based) after the server said "try again
 * later" (close 1013: its store or another engine is down): at least `floorMs` (the ERROR's
 * `retry_after_ms`, up to a minute), plus full jitter, uniformly random in [0, ceiling] with the ceiling of
 * backoffDelay. Full jitter, not half: every client of a shard is refused at once, and
 * spreading them over the whole range keeps them from returning in a wave.
 */
export function tryLaterDelay(attempt: number, floorMs: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const ceiling = ceilingOf(attempt, opts);
  // The server's hint wins over the app's cap (it knows its outage), up to a minute: a
  // bogus hint must not park the client for hours.
  return Math.round(Math.min(Math.max(0, floorMs), maxHintMs) + random() * ceiling);
}

const maxHintMs = 60_000;

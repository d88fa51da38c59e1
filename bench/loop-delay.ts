/**
 * Our server's event-loop delay over a measured window, from outside: /metrics is scraped
 * at the window's edges and the difference of the two chat_event_loop_delay_seconds
 * histograms (cumulative buckets, one sample per 10 ms timer run) gives the window's p50
 * and p99, interpolated inside a bucket as Prometheus' histogram_quantile does. The max
 * is prom-client's nodejs_eventloop_lag_max_seconds, whose sampler (also 10 ms) is reset
 * at every scrape, so the scrape closing the window reads that window's max; the bench is
 * the only scraper. Both samplers include their 10 ms interval, the bucket histogram
 * subtracts it already; the max here has it subtracted.
 */
import type { LoopDelay } from './results';

const name = 'chat_event_loop_delay_seconds';
/** prom-client's default eventLoopMonitoringPrecision: its samples include this interval. */
const defaultResolutionSec = 0.01;

export interface LoopDelaySnapshot {
  /** [upper bound in seconds (Infinity for +Inf), cumulative count], by bound. */
  buckets: [number, number][];
  sum: number;
  /** nodejs_eventloop_lag_max_seconds since the previous scrape, or null. */
  maxSec: number | null;
}

/** Reads the histogram from a /metrics text; null if the server does not export it (an older build). */
export function parseLoopDelay(text: string): LoopDelaySnapshot | null {
  const buckets: [number, number][] = [];
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} ([0-9.eE+-]+)$`, 'gm');
  for (let m = re.exec(text); m; m = re.exec(text)) buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  if (buckets.length === 0) return null;
  buckets.sort((a, b) => a[0] - b[0]);
  const sum = /^chat_event_loop_delay_seconds_sum ([0-9.eE+-]+)$/m.exec(text);
  const max = /^nodejs_eventloop_lag_max_seconds ([0-9.eE+-]+)$/m.exec(text);
  return { buckets, sum: sum ? Number(sum[1]) : 0, maxSec: max ? Number(max[1]) : null };
}

/** The q-quantile (0..1) of cumulative bucket counts, linear inside its bucket. */
function quantile(buckets: [number, number][], q: number): number {
  const total = buckets[buckets.length - 1][1];
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      // Above the last finite bound: report that bound (a lower bound of the truth).
      if (bound === Infinity) return prevBound;
      const inBucket = count - prevCount;
      return inBucket > 0 ? prevBound + ((bound - prevBound) * (rank - prevCount)) / inBucket : prevBound;
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

/** The window between two scrapes of the same server; null when either lacks the histogram. */
export function loopDelayBetween(before: LoopDelaySnapshot | null, after: LoopDelaySnapshot | null): LoopDelay | null {
  if (!before || !after || before.buckets.length !== after.buckets.length) return null;
  const window = after.buckets.map(([bound, count], i): [number, number] => [bound, count - before.buckets[i][1]]);
  const samples = window[window.length - 1][1];
  if (samples <= 0) return null;
  // Without the gauge: the bound of the first bucket holding every sample (+Inf: the last finite one).
  const full = window.find(([, c]) => c === samples)?.[0] ?? Infinity;
  const bucketMax = full === Infinity ? window[window.length - 2][0] : full;
  const maxMs = (after.maxSec !== null ? Math.max(0, after.maxSec - defaultResolutionSec) : bucketMax) * 1000;
  // Interpolation inside a wide bucket can overshoot; no quantile exceeds the max.
  return {
    samples,
    p50Ms: Math.min(maxMs, quantile(window, 0.5) * 1000),
    p99Ms: Math.min(maxMs, quantile(window, 0.99) * 1000),
    maxMs,
    meanMs: ((after.sum - before.sum) / samples) * 1000,
  };
}

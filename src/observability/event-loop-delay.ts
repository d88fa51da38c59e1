/**
 * chat_event_loop_delay_seconds: how late the event loop ran a timer, as a Prometheus
 * histogram with cumulative buckets (so any number of scrapers may read it, and a window's
 * distribution is the difference of two scrapes).
 *
 * perf_hooks.monitorEventLoopDelay samples in native code: a libuv timer every
 * `resolutionMs` records the time since its previous run, so no JavaScript runs between
 * scrapes. A scrape moves the samples taken since the previous one into the buckets and
 * resets the sampler. A sample is the interval less the resolution (an idle loop reads ~0).
 * One sample per timer run, not per millisecond: a 50 ms block is one sample of ~50 ms.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Registry } from 'prom-client';

/** Upper bounds in seconds; fine below 50 ms, where the latency targets sit. */
export const eventLoopDelayBuckets = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5,
];

const name = 'chat_event_loop_delay_seconds';
const help = 'event-loop delay: how late a timer due every resolution ran (perf_hooks.monitorEventLoopDelay), sampled in native code, read on scrape';

/** Samples of `h` at or below `ns`: the highest percentile whose value is ≤ ns, by bisection. */
function countAtOrBelow(h: IntervalHistogram, ns: number): number {
  if (h.max <= ns) return h.count;
  if (h.min > ns) return 0;
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 24; i++) {
    const mid = (lo + hi) / 2;
    if (h.percentile(mid) <= ns) lo = mid;
    else hi = mid;
  }
  return Math.round((lo / 100) * h.count);
}

/**
 * Registers the histogram in `registry` and starts its sampler (an unref'd native timer).
 * Returns the function that stops the sampler.
 */
export function registerEventLoopDelay(registry: Registry, resolutionMs = 10): () => void {
  const sampler = monitorEventLoopDelay({ resolution: resolutionMs });
  sampler.enable();
  const resolutionNs = resolutionMs * 1e6;
  const counts = new Array<number>(eventLoopDelayBuckets.length).fill(0);
  let total = 0;
  let sum = 0;

  const drain = (): void => {
    const n = sampler.count;
    if (n === 0) return;
    for (let i = 0; i < eventLoopDelayBuckets.length; i++) counts[i] += countAtOrBelow(sampler, eventLoopDelayBuckets[i] * 1e9 + resolutionNs);
    total += n;
    sum += Math.max(0, (sampler.mean - resolutionNs) * n) / 1e9;
    sampler.reset();
  };

  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => {
      drain();
      return {
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        values: [
          ...eventLoopDelayBuckets.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: counts[i] })),
          { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: total },
          { metricName: `${name}_sum`, labels: {}, value: sum },
          { metricName: `${name}_count`, labels: {}, value: total },
        ],
      };
    },
    reset: () => {
      sampler.reset();
      counts.fill(0);
      total = 0;
      sum = 0;
    },
  };
  // prom-client's Registry takes any object with name, help, type, get() and reset().
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return () => sampler.disable();
}

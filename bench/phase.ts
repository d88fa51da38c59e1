/**
 * Runs one traffic phase on the load generators against a started server and turns the
 * reports into a PhaseRun: throughput over the measured window, server CPU over exactly
 * that window (sampled from /proc at its edges), and the merged latency histograms.
 */
import { nowMs, sleepUntil } from './clock';
import type { Ctx } from './context';
import { Histogram, percentiles } from './histogram';
import { loopDelayBetween, parseLoopDelay } from './loop-delay';
import type { TrafficPlan, TrafficResult } from './ipc';
import { cpuMicros, diskWriteBytes, machineBusyMicros } from './procstat';
import type { PhaseRun } from './results';
import type { Target } from './target';

export interface PhaseTiming {
  warmupMs: number;
  measureMs: number;
  drainMs: number;
}

/** A plan without its times; runPhase fills them in for every load generator alike. */
export type PlanShape = Omit<TrafficPlan, 'startAt' | 'measureFrom' | 'measureTo' | 'stopAt' | 'drainMs'>;

/**
 * `target` may be several processes (S7's shards): their CPU and disk writes are summed.
 * One server of ours also reports its event-loop delay over the window (scraped at its edges).
 * `enginePids` (S7: Redis, Cassandra) are measured apart, so their CPU is neither the
 * server's nor "other processes".
 */
export async function runPhase(
  ctx: Ctx,
  target: Target | readonly Target[],
  title: string,
  shapes: PlanShape[],
  t: PhaseTiming,
  enginePids: readonly number[] = [],
): Promise<PhaseRun> {
  const targets = Array.isArray(target) ? (target as readonly Target[]) : [target as Target];
  const pids = targets.map((x) => x.pid);
  const scraped = targets.length === 1 && targets[0].http !== null ? targets[0] : null;
  const sum = (f: (pid: number) => number, of: readonly number[]): number => of.reduce((n, pid) => n + f(pid), 0);
  // Half a second for the plans to reach every load generator before the common start.
  const startAt = nowMs() + 500;
  const measureFrom = startAt + t.warmupMs;
  const measureTo = measureFrom + t.measureMs;
  const plans: TrafficPlan[] = shapes.map((s) => ({ ...s, startAt, measureFrom, measureTo, stopAt: measureTo, drainMs: t.drainMs }));
  const total = (measureTo + t.drainMs - nowMs()) / 1000;
  console.log(`  ${title}: ${(t.warmupMs / 1000).toFixed(1)} s warm-up + ${(t.measureMs / 1000).toFixed(1)} s measured (~${total.toFixed(0)} s)`);
  const pending = ctx.pool.traffic(plans);
  await sleepUntil(measureFrom);
  const cpu0 = sum(cpuMicros, pids);
  const engines0 = sum(cpuMicros, enginePids);
  const machine0 = machineBusyMicros();
  const disk0 = sum(diskWriteBytes, pids);
  // After the /proc reads: the scrape's own CPU (about a millisecond) falls inside the window.
  const text0 = scraped ? ((await scraped.scrape()) ?? '') : '';
  await sleepUntil(measureTo);
  const cpu1 = sum(cpuMicros, pids);
  const engines1 = sum(cpuMicros, enginePids);
  const machine1 = machineBusyMicros();
  const disk1 = sum(diskWriteBytes, pids);
  const text1 = scraped ? ((await scraped.scrape()) ?? '') : '';
  const results = await pending;
  const engineUs = engines1 - engines0;
  const run = summarise(results, (measureTo - measureFrom) / 1000, cpu1 - cpu0, machine1 - machine0 - engineUs);
  const acked = run.ackedPerSec * run.windowSec;
  const delivered = run.deliveredPerSec * run.windowSec;
  return {
    ...run,
    diskBytesPerAck: acked > 0 ? (disk1 - disk0) / acked : 0,
    ...(scraped ? { loopDelay: loopDelayBetween(parseLoopDelay(text0), parseLoopDelay(text1)), eventsPerCommit: eventsPerCommit(text0, text1) } : {}),
    ...(enginePids.length > 0 ? { engineCpuUsPerDelivery: delivered > 0 ? engineUs / delivered : 0 } : {}),
  };
}

/** Mean events per group commit between two /metrics texts (chat_commit_batch_size). */
function eventsPerCommit(before: string, after: string): number | null {
  const read = (text: string, series: string): number => Number(new RegExp(`^chat_commit_batch_size_${series} ([0-9.eE+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const commits = read(after, 'count') - read(before, 'count');
  return commits > 0 ? (read(after, 'sum') - read(before, 'sum')) / commits : null;
}

function summarise(results: TrafficResult[], windowSec: number, serverCpuUs: number, machineUs: number): PhaseRun {
  const latency = Histogram.from(results.map((r) => r.latency));
  const ackLatency = Histogram.from(results.map((r) => r.ackLatency));
  const sum = (f: (r: TrafficResult) => number): number => results.reduce((n, r) => n + f(r), 0);
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const delivered = sum((r) => r.deliveredInWindow);
  const loadgenUs = sum((r) => r.cpuUs);
  const lp = results.some((r) => r.lpPolls !== undefined && r.lpPolls + (r.lpSends ?? 0) > 0);
  return {
    ...(lp ? { lpPolls: sum((r) => r.lpPolls ?? 0), lpSends: sum((r) => r.lpSends ?? 0) } : {}),
    windowSec,
    sentInWindow: sum((r) => r.sentInWindow),
    ackedPerSec: sum((r) => r.ackedInWindow) / windowSec,
    deliveredPerSec: delivered / windowSec,
    cpuUsPerDelivery: delivered > 0 ? serverCpuUs / delivered : 0,
    serverCpuPct: (serverCpuUs / (windowSec * 1e6)) * 100,
    loadgenCpuPct: (loadgenUs / (windowSec * 1e6)) * 100,
    // The orchestrator's own few timers are in here too; they are negligible.
    otherCpuPct: (Math.max(0, machineUs - serverCpuUs - loadgenUs) / (windowSec * 1e6)) * 100,
    latency: percentiles(latency),
    latencyHist: latency.toJSON(),
    ackLatency: percentiles(ackLatency),
    errors,
    undelivered: 0,
    diskBytesPerAck: 0,
  };
}

/**
 * Open loop: sends of the window that never arrived (by the end of the drain) are added
 * to the latency distribution at the drain time, a lower bound of their true latency,
 * so a server that drops or stalls cannot look faster than one that answers late.
 */
export function chargeUndelivered(run: PhaseRun, expectedDeliveries: number, drainMs: number): PhaseRun {
  const got = run.latency.count;
  const missing = Math.max(0, expectedDeliveries - got);
  if (missing === 0) return run;
  const h = Histogram.from([run.latencyHist]);
  h.recordMany(drainMs * 1000, missing);
  return { ...run, undelivered: missing, latency: percentiles(h), latencyHist: h.toJSON() };
}

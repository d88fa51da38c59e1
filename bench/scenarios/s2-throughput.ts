/**
 * S2 1:1 throughput, closed loop, in two shapes over the same 100 direct pairs:
 * - S2 (heavy, the shape that batches best): both members of every pair send, window 4
 *   per sender;
 * - S2m (moderate, the shape users have): one sender per pair, window 2.
 * Each shape runs on a fresh server of ours and on a fresh relay (the floor) in the same
 * run. Reports ACKed (durable, for ours) messages per second, server CPU per delivered
 * message, disk bytes written per ACKed message and ours' event-loop delay in the window.
 * Targets (issue 15), at both shapes: CPU per message ≤ 1.5x the relay's, ≥ 20,000
 * durable msg/s, ≤ 2 KB written per message.
 */
import { deal, label, liveSpec, startTarget, type Ctx } from '../context';
import { runPhase, type PlanShape } from '../phase';
import { Progress } from '../progress';
import { loopDelayRows, row, type Pair, type Row, type ThroughputRun } from '../results';
import type { TargetKind } from '../target';

interface Shape {
  id: 'S2' | 'S2m';
  /** 2: both members of a pair send; 1: one of them (alternating, so every load generator sends). */
  sendersPerPair: 1 | 2;
  window: number;
}

async function measure(ctx: Ctx, kind: TargetKind, shape: Shape): Promise<ThroughputRun> {
  const p = ctx.params.s2;
  const { pool } = ctx;
  const specs = Array.from({ length: 2 * p.pairs }, (_, i) => liveSpec(ctx, i));
  const { lists, where } = deal(specs, p.loadgens);
  const senders: { client: number; conv: string }[][] = lists.map(() => []);
  specs.forEach((spec, i) => {
    const pair = Math.floor(i / 2);
    if (shape.sendersPerPair === 1 && i % 2 !== pair % 2) return;
    senders[where[i].gen].push({ client: where[i].index, conv: Object.keys(spec.convs)[0] });
  });
  const target = await startTarget(ctx, kind, `${shape.id}-${kind}`);
  try {
    await pool.connect({ url: target.wsUrl, secret: ctx.secret, concurrency: 100, startAt: 0 }, lists, new Progress(`${shape.id} ${label(kind)} connecting`));
    const shapes: PlanShape[] = lists.map((_, gen) => ({
      mode: 'closed',
      senders: senders[gen],
      window: shape.window,
      rate: 0,
      bodyChars: ctx.params.bodyChars,
      sampleEvery: 1,
    }));
    const who = shape.sendersPerPair === 2 ? 'both members sending' : 'one sender per pair';
    const title = `${shape.id} ${label(kind)}: ${p.pairs} pairs, ${who}, window ${shape.window} per sender`;
    const run = await runPhase(ctx, target, title, shapes, { warmupMs: p.warmupMs, measureMs: p.measureMs, drainMs: 1000 });
    const batchSum = await target.metric('chat_commit_batch_size_sum');
    const batchCount = await target.metric('chat_commit_batch_size_count');
    await pool.closeAll();
    return { ...run, commitBatchMean: batchSum !== null && batchCount ? batchSum / batchCount : null };
  } finally {
    await target.stop();
  }
}

/** The rows of one shape: each figure of ours beside the relay's and their ratio. */
export function throughputRows(id: string, o: ThroughputRun, b: ThroughputRun): Row[] {
  const errs = Object.keys(o.errors).length > 0 ? `errors: ${JSON.stringify(o.errors)}` : undefined;
  const other = Math.max(o.otherCpuPct, b.otherCpuPct) > 10 ? `other processes used ${o.otherCpuPct.toFixed(0)}% / ${b.otherCpuPct.toFixed(0)}% of a core: noisy` : undefined;
  return [
    row(id, 'ACKed messages/s (closed loop)', 'msg/s', o.ackedPerSec, b.ackedPerSec, '≥ 20,000', (v) => v >= 20_000, errs),
    row(id, 'server CPU per delivered message', 'µs', o.cpuUsPerDelivery, b.cpuUsPerDelivery, '≤ 1.5x baseline', (v, base) => base !== null && v <= 1.5 * base, other),
    row(id, 'server disk writes per ACKed message', 'KB', o.diskBytesPerAck / 1024, b.diskBytesPerAck / 1024, '≤ 2 KB', (v) => v <= 2),
    row(id, 'server CPU busy (1 core = 100%)', '%', o.serverCpuPct, b.serverCpuPct),
    row(id, 'load generators CPU (1 core = 100%)', '%', o.loadgenCpuPct, b.loadgenCpuPct),
    row(id, 'other processes CPU, not the bench', '%', o.otherCpuPct, b.otherCpuPct),
    row(id, 'send→ACK p50', 'ms', o.ackLatency.p50 / 1000, b.ackLatency.p50 / 1000),
    row(id, 'send→ACK p99', 'ms', o.ackLatency.p99 / 1000, b.ackLatency.p99 / 1000),
    row(id, 'mean events per group commit (window)', 'events', o.eventsPerCommit ?? o.commitBatchMean, null),
    ...loopDelayRows(id, '', o.loopDelay ?? null),
  ];
}

export async function runS2(ctx: Ctx): Promise<Row[]> {
  const heavy: Pair<ThroughputRun> = { ours: null, baseline: null };
  const moderate: Pair<ThroughputRun> = { ours: null, baseline: null };
  ctx.results.s2 = heavy;
  ctx.results.s2m = moderate;
  const heavyShape: Shape = { id: 'S2', sendersPerPair: 2, window: ctx.params.s2.window };
  const moderateShape: Shape = { id: 'S2m', sendersPerPair: 1, window: ctx.params.s2.moderateWindow };
  heavy.ours = await measure(ctx, 'ours', heavyShape);
  heavy.baseline = await measure(ctx, 'baseline', heavyShape);
  moderate.ours = await measure(ctx, 'ours', moderateShape);
  moderate.baseline = await measure(ctx, 'baseline', moderateShape);
  return [...throughputRows('S2', heavy.ours, heavy.baseline), ...throughputRows('S2m', moderate.ours, moderate.baseline)];
}

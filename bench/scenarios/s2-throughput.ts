/**
 * S2 1:1 throughput: pairs of users in direct conversations, both members sending
 * closed-loop with a window of unacknowledged SENDs. Reports ACKed (durable, for ours)
 * messages per second and server CPU per delivered message; the target is CPU per
 * message at most twice the bare relay's.
 */
import { deal, label, liveSpec, startTarget, type Ctx } from '../context';
import { runPhase, type PlanShape } from '../phase';
import { Progress } from '../progress';
import { row, type Pair, type Row, type ThroughputRun } from '../results';
import type { TargetKind } from '../target';

async function measure(ctx: Ctx, kind: TargetKind): Promise<ThroughputRun> {
  const p = ctx.params.s2;
  const { pool } = ctx;
  const specs = Array.from({ length: 2 * p.pairs }, (_, i) => liveSpec(ctx, i));
  const { lists } = deal(specs, p.loadgens);
  const target = await startTarget(ctx, kind, `S2-${kind}`);
  try {
    await pool.connect({ url: target.wsUrl, secret: ctx.secret, concurrency: 100, startAt: 0 }, lists, new Progress(`S2 ${label(kind)} connecting`));
    const shapes: PlanShape[] = lists.map((clients) => ({
      mode: 'closed',
      senders: clients.map((c, index) => ({ client: index, conv: Object.keys(c.convs)[0] })),
      window: p.window,
      rate: 0,
      bodyChars: ctx.params.bodyChars,
      sampleEvery: 1,
    }));
    const title = `S2 ${label(kind)}: ${p.pairs} pairs, window ${p.window} per sender`;
    const run = await runPhase(ctx, target, title, shapes, { warmupMs: p.warmupMs, measureMs: p.measureMs, drainMs: 1000 });
    const batchSum = await target.metric('chat_commit_batch_size_sum');
    const batchCount = await target.metric('chat_commit_batch_size_count');
    await pool.closeAll();
    return { ...run, commitBatchMean: batchSum !== null && batchCount ? batchSum / batchCount : null };
  } finally {
    await target.stop();
  }
}

export async function runS2(ctx: Ctx): Promise<Row[]> {
  const data: Pair<ThroughputRun> = { ours: null, baseline: null };
  ctx.results.s2 = data;
  data.ours = await measure(ctx, 'ours');
  data.baseline = await measure(ctx, 'baseline');
  const o = data.ours;
  const b = data.baseline;
  const errs = Object.keys(o.errors).length > 0 ? `errors: ${JSON.stringify(o.errors)}` : undefined;
  return [
    row('S2', 'ACKed messages/s (closed loop)', 'msg/s', o.ackedPerSec, b.ackedPerSec, null, null, errs),
    row('S2', 'server CPU per delivered message', 'µs', o.cpuUsPerDelivery, b.cpuUsPerDelivery, '≤ 2x baseline', (v, base) => base !== null && v <= 2 * base),
    row('S2', 'server CPU busy (1 core = 100%)', '%', o.serverCpuPct, b.serverCpuPct),
    row('S2', 'load generators CPU (1 core = 100%)', '%', o.loadgenCpuPct, b.loadgenCpuPct),
    row('S2', 'other processes CPU, not the bench', '%', o.otherCpuPct, b.otherCpuPct),
    row('S2', 'send→ACK p50', 'ms', o.ackLatency.p50 / 1000, b.ackLatency.p50 / 1000),
    row('S2', 'send→ACK p99', 'ms', o.ackLatency.p99 / 1000, b.ackLatency.p99 / 1000),
    row('S2', 'mean events per group commit', 'events', o.commitBatchMean, null),
    row('S2', 'server disk writes per ACKed message', 'KB', o.diskBytesPerAck / 1024, b.diskBytesPerAck / 1024),
  ];
}

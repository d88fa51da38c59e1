/**
 * S4 group fan-out: one 250-member group with every member online; a few members send
 * to it closed-loop, every other member receives. Receivers count DELIVER frames and
 * sample one latency in `sampleEvery`, so the load generators stay cheap. Target:
 * ≥ 100,000 deliveries/s.
 */
import { deal, label, liveSpec, startTarget, type Ctx } from '../context';
import { runPhase, type PlanShape } from '../phase';
import { Progress } from '../progress';
import { row, type Pair, type PhaseRun, type Row } from '../results';
import type { TargetKind } from '../target';

async function measure(ctx: Ctx, kind: TargetKind): Promise<PhaseRun> {
  const p = ctx.params.s4;
  const { pool, seeded } = ctx;
  const specs = Array.from({ length: p.members }, (_, i) => liveSpec(ctx, i));
  const { lists, where } = deal(specs, p.loadgens);
  const target = await startTarget(ctx, kind, `S4-${kind}`);
  try {
    await pool.connect({ url: target.wsUrl, secret: ctx.secret, concurrency: 100, startAt: 0 }, lists, new Progress(`S4 ${label(kind)} connecting`));
    const shapes: PlanShape[] = lists.map(() => ({
      mode: 'closed',
      senders: [],
      window: p.window,
      rate: 0,
      bodyChars: ctx.params.bodyChars,
      sampleEvery: p.sampleEvery,
    }));
    for (let i = 0; i < p.senders; i++) shapes[where[i].gen].senders.push({ client: where[i].index, conv: seeded.group });
    const title = `S4 ${label(kind)}: ${p.senders} senders × window ${p.window} into a ${p.members}-member group`;
    const run = await runPhase(ctx, target, title, shapes, { warmupMs: p.warmupMs, measureMs: p.measureMs, drainMs: 1000 });
    await pool.closeAll();
    return run;
  } finally {
    await target.stop();
  }
}

export async function runS4(ctx: Ctx): Promise<Row[]> {
  const data: Pair<PhaseRun> = { ours: null, baseline: null };
  ctx.results.s4 = data;
  data.ours = await measure(ctx, 'ours');
  data.baseline = await measure(ctx, 'baseline');
  const o = data.ours;
  const b = data.baseline;
  const errs = Object.keys(o.errors).length > 0 ? `errors: ${JSON.stringify(o.errors)}` : undefined;
  return [
    row('S4', 'deliveries/s', 'frames/s', o.deliveredPerSec, b.deliveredPerSec, '≥ 100,000', (v) => v >= 100_000, errs),
    row('S4', 'messages/s into the group (ACKed)', 'msg/s', o.ackedPerSec, b.ackedPerSec),
    row('S4', 'server CPU per delivery', 'µs', o.cpuUsPerDelivery, b.cpuUsPerDelivery),
    row('S4', 'server CPU busy (1 core = 100%)', '%', o.serverCpuPct, b.serverCpuPct),
    row('S4', 'load generators CPU (1 core = 100%)', '%', o.loadgenCpuPct, b.loadgenCpuPct),
    row('S4', 'other processes CPU, not the bench', '%', o.otherCpuPct, b.otherCpuPct),
    row('S4', 'send→deliver p50 (sampled)', 'ms', o.latency.p50 / 1000, b.latency.p50 / 1000),
    row('S4', 'send→deliver p99 (sampled)', 'ms', o.latency.p99 / 1000, b.latency.p99 / 1000),
  ];
}

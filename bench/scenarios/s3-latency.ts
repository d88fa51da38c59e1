/**
 * S3 latency: open loop at fixed rates (1,000/s, 5,000/s and half of ours' S2 maximum),
 * spread over every sender of the pairs. Latency is DELIVER arrival minus the *scheduled*
 * send time, into HDR histograms; sends of the window that never arrive are charged at
 * the drain time. The target: p99 ≤ 10 ms at 5,000/s.
 */
import { deal, label, liveSpec, startTarget, type Ctx } from '../context';
import { chargeUndelivered, runPhase, type PlanShape } from '../phase';
import { Progress } from '../progress';
import { row, type LatencyRate, type PhaseRun, type Row } from '../results';
import type { TargetKind } from '../target';

/** Used for the third rate when S2 did not run in this invocation. */
const fallbackHalfMax = 2500;

function rates(ctx: Ctx): { rate: number; label: string }[] {
  const s2 = ctx.results.s2?.ours?.ackedPerSec;
  const half = s2 ? Math.max(100, Math.round(s2 / 2 / 100) * 100) : fallbackHalfMax;
  const fixed = ctx.params.s3.rates.map((r) => ({ rate: r, label: `${r.toLocaleString('en-US')}/s` }));
  return [...fixed, { rate: half, label: `${half.toLocaleString('en-US')}/s (½ S2 max${s2 ? '' : ', S2 not run'})` }];
}

async function measure(ctx: Ctx, kind: TargetKind, plan: { rate: number; label: string }[]): Promise<PhaseRun[]> {
  const p = ctx.params.s3;
  const { pool } = ctx;
  const specs = Array.from({ length: 2 * p.pairs }, (_, i) => liveSpec(ctx, i));
  const { lists } = deal(specs, p.loadgens);
  const target = await startTarget(ctx, kind, `S3-${kind}`);
  const out: PhaseRun[] = [];
  try {
    await pool.connect({ url: target.wsUrl, secret: ctx.secret, concurrency: 100, startAt: 0 }, lists, new Progress(`S3 ${label(kind)} connecting`));
    for (const { rate, label: name } of plan) {
      const shapes: PlanShape[] = lists.map((clients) => ({
        mode: 'open',
        senders: clients.map((c, index) => ({ client: index, conv: Object.keys(c.convs)[0] })),
        window: 0,
        rate: rate / lists.length,
        bodyChars: ctx.params.bodyChars,
        sampleEvery: 1,
      }));
      const run = await runPhase(ctx, target, `S3 ${label(kind)} @ ${name}`, shapes, p);
      // 1:1: every send of the window owes exactly one DELIVER.
      out.push(chargeUndelivered(run, run.sentInWindow, p.drainMs));
    }
    await pool.closeAll();
  } finally {
    await target.stop();
  }
  return out;
}

export async function runS3(ctx: Ctx): Promise<Row[]> {
  const plan = rates(ctx);
  const data: LatencyRate[] = plan.map((r) => ({ ...r, ours: null, baseline: null }));
  ctx.results.s3 = data;
  const ours = await measure(ctx, 'ours', plan);
  ours.forEach((r, i) => (data[i].ours = r));
  const base = await measure(ctx, 'baseline', plan);
  base.forEach((r, i) => (data[i].baseline = r));
  const rows: Row[] = [];
  for (const d of data) {
    const o = d.ours as PhaseRun;
    const b = d.baseline as PhaseRun;
    const at5k = d.rate === 5000 && d.label.startsWith('5,000/s');
    const notes = [
      o.undelivered > 0 ? `${o.undelivered} undelivered, charged at the drain time` : '',
      `server CPU ${o.serverCpuPct.toFixed(0)}% / baseline ${b.serverCpuPct.toFixed(0)}%`,
      `server disk writes ${(o.diskBytesPerAck / 1024).toFixed(1)} KB per message`,
      Math.max(o.otherCpuPct, b.otherCpuPct) > 10 ? `other processes used ${o.otherCpuPct.toFixed(0)}% / ${b.otherCpuPct.toFixed(0)}% of a core` : '',
    ];
    const note = notes.filter(Boolean).join('; ');
    rows.push(row('S3', `@ ${d.label}: achieved send rate`, 'msg/s', o.sentInWindow / o.windowSec, b.sentInWindow / b.windowSec));
    rows.push(row('S3', `@ ${d.label}: p50`, 'ms', o.latency.p50 / 1000, b.latency.p50 / 1000));
    rows.push(
      row('S3', `@ ${d.label}: p99`, 'ms', o.latency.p99 / 1000, b.latency.p99 / 1000, at5k ? '≤ 10 ms' : null, at5k ? (v) => v <= 10 : null, note),
    );
    rows.push(row('S3', `@ ${d.label}: p99.9`, 'ms', o.latency.p999 / 1000, b.latency.p999 / 1000));
    rows.push(row('S3', `@ ${d.label}: max`, 'ms', o.latency.max / 1000, b.latency.max / 1000));
  }
  return rows;
}

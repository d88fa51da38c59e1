/**
 * S3 latency and cost, open loop: fixed rates (1,000/s, 5,000/s and half of ours' S2
 * maximum) spread over every sender of the pairs, on one server of ours with the run's
 * SQLITE_SYNC (normal), then 1,000/s and 5,000/s again on a fresh server with
 * SQLITE_SYNC=full (the server's default), then the relay at the first three rates. Latency is DELIVER arrival minus the
 * *scheduled* send time, into HDR histograms; sends of the window that never arrive are
 * charged at the drain time. Per window also: server CPU per delivered message and disk
 * bytes written per message against the relay, and ours' event-loop delay.
 * Targets (issue 15): p99 at 5,000/s ≤ 10 ms with normal, ≤ 25 ms with full, over windows
 * of 20 s or more; CPU per message ≤ 1.5x the relay's and ≤ 2 KB written per message at
 * every rate.
 */
import { deal, label, liveSpec, startTarget, type Ctx } from '../context';
import { chargeUndelivered, runPhase, type PlanShape } from '../phase';
import { Progress } from '../progress';
import { loopDelayRows, row, type LatencyRate, type PhaseRun, type Row } from '../results';
import type { TargetKind } from '../target';

/** Used for the third rate when S2 did not run in this invocation. */
const fallbackHalfMax = 2500;

/** The tail targets hold over windows this long or longer (issue 15). */
const tailWindowMs = 20_000;

/** p99 target at 5,000/s by ours' SQLITE_SYNC. */
const p99TargetMs = { normal: 10, full: 25 } as const;

function rates(ctx: Ctx): { rate: number; label: string }[] {
  const s2 = ctx.results.s2?.ours?.ackedPerSec;
  const half = s2 ? Math.max(100, Math.round(s2 / 2 / 100) * 100) : fallbackHalfMax;
  const fixed = ctx.params.s3.rates.map((r) => ({ rate: r, label: `${r.toLocaleString('en-US')}/s` }));
  return [...fixed, { rate: half, label: `${half.toLocaleString('en-US')}/s (½ S2 max${s2 ? '' : ', S2 not run'})` }];
}

async function measure(ctx: Ctx, kind: TargetKind, plan: { rate: number; label: string }[], sqliteSync?: 'full' | 'normal'): Promise<PhaseRun[]> {
  const p = ctx.params.s3;
  const { pool } = ctx;
  const specs = Array.from({ length: 2 * p.pairs }, (_, i) => liveSpec(ctx, i));
  const { lists } = deal(specs, p.loadgens);
  const tag = sqliteSync ? `S3-${kind}-${sqliteSync}` : `S3-${kind}`;
  const target = await startTarget(ctx, kind, tag, sqliteSync ? { sqliteSync } : {});
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
      // A fresh server JIT-compiles its hot paths in its first thousands of messages (compiler
      // threads count in its CPU time): its first rate gets the longer warm-up.
      const warmupMs = out.length === 0 ? p.coldWarmupMs : p.warmupMs;
      const run = await runPhase(ctx, target, `S3 ${label(kind)} @ ${name}`, shapes, { ...p, warmupMs });
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
  const runSync = ctx.params.sqliteSync;
  const data: LatencyRate[] = plan.map((r) => ({ ...r, sqliteSync: runSync, ours: null, baseline: null }));
  // The server's default, SQLITE_SYNC=full, on a fresh server at the fixed rates in the same
  // order (1,000/s first also warms it as the first server was warmed); the relay has no
  // disk, so its windows at the same rates are the floor for both of ours.
  const fullPlan = runSync === 'full' ? [] : ctx.params.s3.rates.map((r) => ({ rate: r, label: `${r.toLocaleString('en-US')}/s, SQLITE_SYNC=full` }));
  for (const f of fullPlan) data.push({ ...f, sqliteSync: 'full', ours: null, baseline: null });
  ctx.results.s3 = data;
  const ours = await measure(ctx, 'ours', plan);
  ours.forEach((r, i) => (data[i].ours = r));
  if (fullPlan.length) (await measure(ctx, 'ours', fullPlan, 'full')).forEach((r, i) => (data[plan.length + i].ours = r));
  const base = await measure(ctx, 'baseline', plan);
  base.forEach((r, i) => (data[i].baseline = r));
  fullPlan.forEach((f, i) => (data[plan.length + i].baseline = base[plan.findIndex((r) => r.rate === f.rate)] ?? null));
  const short = ctx.params.s3.measureMs < tailWindowMs;
  if (short) console.log(`  S3: windows of ${ctx.params.s3.measureMs / 1000} s, shorter than the ${tailWindowMs / 1000} s the tail targets are set for: indicative only`);
  const rows: Row[] = [];
  for (const d of data) {
    const o = d.ours as PhaseRun;
    const b = d.baseline as PhaseRun;
    const sync = d.sqliteSync ?? runSync;
    const at5k = d.rate === 5000 && d.label.startsWith('5,000/s');
    const p99Target = at5k ? p99TargetMs[sync] : null;
    const notes = [
      o.undelivered > 0 ? `${o.undelivered} undelivered, charged at the drain time` : '',
      `SQLITE_SYNC=${sync}`,
      `server CPU ${o.serverCpuPct.toFixed(0)}% / baseline ${b.serverCpuPct.toFixed(0)}%`,
      short ? `window ${o.windowSec.toFixed(0)} s, shorter than the ${tailWindowMs / 1000} s the target is set for` : '',
      Math.max(o.otherCpuPct, b.otherCpuPct) > 10 ? `other processes used ${o.otherCpuPct.toFixed(0)}% / ${b.otherCpuPct.toFixed(0)}% of a core` : '',
    ];
    const note = notes.filter(Boolean).join('; ');
    rows.push(row('S3', `@ ${d.label}: achieved send rate`, 'msg/s', o.sentInWindow / o.windowSec, b.sentInWindow / b.windowSec));
    rows.push(row('S3', `@ ${d.label}: p50`, 'ms', o.latency.p50 / 1000, b.latency.p50 / 1000));
    rows.push(
      row('S3', `@ ${d.label}: p99`, 'ms', o.latency.p99 / 1000, b.latency.p99 / 1000, p99Target ? `≤ ${p99Target} ms` : null, p99Target ? (v) => v <= p99Target : null, note),
    );
    rows.push(row('S3', `@ ${d.label}: p99.9`, 'ms', o.latency.p999 / 1000, b.latency.p999 / 1000));
    rows.push(row('S3', `@ ${d.label}: max`, 'ms', o.latency.max / 1000, b.latency.max / 1000));
    rows.push(row('S3', `@ ${d.label}: server CPU per delivered message`, 'µs', o.cpuUsPerDelivery, b.cpuUsPerDelivery, '≤ 1.5x baseline', (v, base) => base !== null && v <= 1.5 * base));
    rows.push(row('S3', `@ ${d.label}: server disk writes per ACKed message`, 'KB', o.diskBytesPerAck / 1024, b.diskBytesPerAck / 1024, '≤ 2 KB', (v) => v <= 2));
    rows.push(row('S3', `@ ${d.label}: mean events per group commit`, 'events', o.eventsPerCommit ?? null, null));
    rows.push(...loopDelayRows('S3', `@ ${d.label}: `, o.loopDelay ?? null));
  }
  return rows;
}

/**
 * S1 density: N idle authenticated connections (CONNECT done), spread over every load
 * generator (≤ 4,000 sockets each) and over 127.0.0.x source addresses. Memory per
 * connection is the growth of VmRSS and of V8's used heap between a warm state (a few
 * hundred connections already open, so one-time costs such as JIT and SQLite statement
 * caches are not charged to connections) and all N open, both read after a forced full GC.
 */
import { sleep } from '../clock';
import { deal, label, liveSpec, startTarget, type Ctx } from '../context';
import { Progress } from '../progress';
import { cpuMicros, rssBytes } from '../procstat';
import { row, type DensityRun, type Pair, type Row } from '../results';
import type { TargetKind } from '../target';

const KB = 1024;

async function measure(ctx: Ctx, kind: TargetKind): Promise<DensityRun> {
  const p = ctx.params.s1;
  const { pool } = ctx;
  const specs = Array.from({ length: p.connections }, (_, i) => liveSpec(ctx, i));
  const target = await startTarget(ctx, kind, `S1-${kind}`, { inspect: true });
  try {
    const url = target.wsUrl;
    const shared = { url, secret: ctx.secret, concurrency: p.concurrency, startAt: 0 };
    const warm = await pool.connect(shared, deal(specs.slice(0, p.warm), pool.size).lists, new Progress(`S1 ${label(kind)} warm-up`));
    await sleep(500);
    const heapBefore = await target.gcAndHeap();
    const rssBefore = rssBytes(target.pid);
    const started = Date.now();
    const cpu0 = cpuMicros(target.pid);
    const rest = await pool.connect(shared, deal(specs.slice(p.warm), pool.size).lists, new Progress(`S1 ${label(kind)} connecting`));
    const connectSeconds = (Date.now() - started) / 1000;
    const connectCpuUs = cpuMicros(target.pid) - cpu0;
    await sleep(p.settleMs);
    const heapAfter = await target.gcAndHeap();
    const rssAfter = rssBytes(target.pid);
    const all = [...warm, ...rest];
    const connected = all.reduce((n, r) => n + r.connected, 0);
    const failed = all.reduce((n, r) => n + r.failed, 0);
    if (failed > 0) {
      const reasons: Record<string, number> = {};
      for (const r of all) for (const [k, v] of Object.entries(r.failures)) reasons[k] = (reasons[k] ?? 0) + v;
      console.log(`  S1 ${label(kind)}: ${failed} connections failed: ${JSON.stringify(reasons)}`);
    }
    const measured = rest.reduce((n, r) => n + r.connected, 0);
    const server = await target.metric('chat_connections');
    if (server !== null && server !== connected) console.log(`  S1 ours: server counts ${server} sessions, load generators ${connected}`);
    await pool.closeAll();
    return {
      connections: connected,
      failed,
      measuredConnections: measured,
      rssBefore,
      rssAfter,
      heapBefore,
      heapAfter,
      rssPerConn: measured > 0 ? (rssAfter - rssBefore) / measured : 0,
      heapPerConn: measured > 0 ? (heapAfter - heapBefore) / measured : 0,
      connectSeconds,
      cpuUsPerConnect: measured > 0 ? connectCpuUs / measured : 0,
    };
  } finally {
    await target.stop();
  }
}

export async function runS1(ctx: Ctx): Promise<Row[]> {
  const data: Pair<DensityRun> = { ours: null, baseline: null };
  ctx.results.s1 = data;
  data.ours = await measure(ctx, 'ours');
  data.baseline = await measure(ctx, 'baseline');
  const o = data.ours;
  const b = data.baseline;
  const n = o.connections.toLocaleString('en-US');
  return [
    row('S1', `RSS per idle connection (${n} conns)`, 'KB', o.rssPerConn / KB, b.rssPerConn / KB, '≤ 10 KB', (v) => v <= 10),
    row('S1', 'V8 heap per idle connection', 'KB', o.heapPerConn / KB, b.heapPerConn / KB),
    row('S1', `time to open ${(o.measuredConnections).toLocaleString('en-US')} connections`, 's', o.connectSeconds, b.connectSeconds),
    row('S1', 'server CPU per connection opened (CONNECT→CONNACK)', 'µs', o.cpuUsPerConnect, b.cpuUsPerConnect),
  ];
}

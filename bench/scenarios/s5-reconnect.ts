/**
 * S5 reconnect storm: a freshly started server (as after a restart) and N clients that
 * all reconnect at the same moment, each with sync.convs naming a conversation in which
 * it missed 20 events (seeded before the server started). Time runs from the common
 * start to the last CONNACK; every CONNACK must carry its 20 missed events. The relay
 * has nothing to replay: its storm shows the cost of the connections alone.
 */
import { nowMs } from '../clock';
import { deal, label, sourceAddress, startTarget, type Ctx } from '../context';
import { Histogram, percentiles } from '../histogram';
import type { ClientSpec } from '../ipc';
import { Progress } from '../progress';
import { cpuMicros, machineBusyMicros } from '../procstat';
import { row, type Pair, type Row, type StormRun } from '../results';
import type { TargetKind } from '../target';

async function measure(ctx: Ctx, kind: TargetKind): Promise<StormRun> {
  const p = ctx.params.s5;
  const { pool, seeded } = ctx;
  const specs: ClientSpec[] = seeded.storm.users.map((user, i) => ({
    user,
    convs: { [seeded.storm.convs[i]]: 0 },
    localAddress: sourceAddress(ctx, i),
  }));
  const { lists } = deal(specs, p.loadgens);
  const target = await startTarget(ctx, kind, `S5-${kind}`);
  try {
    // Tokens are minted before startAt; 1.5 s covers that for thousands of clients.
    const startAt = nowMs() + 1500;
    const cpu0 = cpuMicros(target.pid);
    const gens0 = pool.pids.reduce((n, pid) => n + cpuMicros(pid), 0);
    const machine0 = machineBusyMicros();
    const results = await pool.connect(
      { url: target.wsUrl, secret: ctx.secret, concurrency: p.concurrency, startAt },
      lists,
      new Progress(`S5 ${label(kind)} storm of ${specs.length.toLocaleString('en-US')} reconnects`),
    );
    // Read right after the last CONNACK: the server was idle before startAt.
    const cpuUs = cpuMicros(target.pid) - cpu0;
    const gensUs = pool.pids.reduce((n, pid) => n + cpuMicros(pid), 0) - gens0;
    const machineUs = machineBusyMicros() - machine0;
    // From the read of cpu0 (before the 1.5 s lead-in) to the last CONNACK.
    const windowUs = (nowMs() - startAt + 1500) * 1000;
    const connack = Histogram.from(results.map((r) => r.connack));
    const failures: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    const run: StormRun = {
      clients: specs.length,
      connected: results.reduce((n, r) => n + r.connected, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      failures,
      seconds: (Math.max(...results.map((r) => r.lastConnackAt)) - startAt) / 1000,
      minMissed: Math.min(...results.map((r) => r.minMissed)),
      missedTotal: results.reduce((n, r) => n + r.missedTotal, 0),
      more: results.reduce((n, r) => n + r.more, 0),
      connack: percentiles(connack),
      connackHist: connack.toJSON(),
      cpuUsPerReconnect: cpuUs / specs.length,
      otherCpuPct: (Math.max(0, machineUs - cpuUs - gensUs) / windowUs) * 100,
    };
    await pool.closeAll();
    return run;
  } finally {
    await target.stop();
  }
}

export async function runS5(ctx: Ctx): Promise<Row[]> {
  const data: Pair<StormRun> = { ours: null, baseline: null };
  ctx.results.s5 = data;
  data.ours = await measure(ctx, 'ours');
  data.baseline = await measure(ctx, 'baseline');
  const o = data.ours;
  const b = data.baseline;
  const missed = ctx.seeded.storm.missed;
  const complete = o.connected === o.clients && o.minMissed >= missed;
  const note = complete
    ? `all ${o.clients} got ≥ ${missed} missed events; baseline replays nothing`
    : `INCOMPLETE: ${o.connected}/${o.clients} connected, min missed ${o.minMissed}, failures ${JSON.stringify(o.failures)}`;
  const n = o.clients.toLocaleString('en-US');
  return [
    row('S5', `${n} reconnects, all replayed`, 's', o.seconds, b.seconds, '≤ 3 s', (v) => complete && v <= 3, note),
    row('S5', 'server CPU per reconnect', 'µs', o.cpuUsPerReconnect, b.cpuUsPerReconnect),
    row('S5', 'connect→CONNACK p50', 'ms', o.connack.p50 / 1000, b.connack.p50 / 1000),
    row('S5', 'connect→CONNACK p99', 'ms', o.connack.p99 / 1000, b.connack.p99 / 1000),
    row('S5', 'other processes CPU, not the bench', '%', o.otherCpuPct, b.otherCpuPct),
  ];
}

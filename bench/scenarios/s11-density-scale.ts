/**
 * S11 density at scale: 100,000 idle authenticated connections (CONNECT done) on one
 * machine, over K shard processes of our server, each an independent single shard on
 * embedded engines with its own DATA_DIR (a distributed ring needs Redis and Cassandra;
 * for connections held per process that changes nothing but the presence engine), and the
 * same K processes of the relay as the floor. Every process, servers and load generators
 * alike, stays under ~18,000 sockets: the machine allows 20,000 open files per process.
 * Load generator i drives shard i, from 127.0.0.1-16.
 *
 * Measured: memory per connection per shard as S1 does (VmRSS and heap growth from a warm
 * state to all open, both after a full GC), then the server CPU over an idle window at the
 * default heartbeat (HEARTBEAT_MS 25 s, the relay pinging at the same interval), per 10,000
 * connections per minute, with the load generators' CPU (their pongs) and other processes'.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { sleep } from '../clock';
import { label, sourceAddress, startTarget, upToDate, type Ctx } from '../context';
import type { ClientSpec, ConnectResult } from '../ipc';
import { LoadgenPool } from '../pool';
import { Progress } from '../progress';
import { cpuMicros, kernelSocketMemory, machineBusyMicros, rssBytes } from '../procstat';
import { row, type DensityScaleRun, type Pair, type Row } from '../results';
import { seedPairs } from '../seed';
import type { Target, TargetKind } from '../target';

const KB = 1024;

interface Slice {
  dataDir: string;
  specs: ClientSpec[];
}

/** Splits the connections into K even-sized slices, each seeded into its shard's own database. */
async function seedSlices(ctx: Ctx): Promise<Slice[]> {
  const p = ctx.params.s11;
  const per = Math.ceil(p.connections / p.shards / 2) * 2;
  const slices: Slice[] = [];
  const t = Date.now();
  for (let k = 0; k < p.shards; k++) {
    const from = k * per;
    const count = Math.min(per, p.connections - from);
    const dataDir = path.join(ctx.workDir, `s11-shard${k}`);
    mkdirSync(dataDir, { recursive: true });
    const { users, pairConvs } = await seedPairs(path.join(dataDir, 'chat.db'), from, count, ctx.params.sqliteSync);
    const specs = users.map((user, i) => ({
      user,
      convs: { [pairConvs[Math.floor(i / 2)]]: upToDate },
      localAddress: sourceAddress(ctx, from + i),
    }));
    slices.push({ dataDir, specs });
  }
  console.log(`  S11: seeded ${p.connections.toLocaleString('en-US')} users in ${p.shards} databases in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return slices;
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

async function measure(ctx: Ctx, kind: TargetKind, slices: Slice[]): Promise<DensityScaleRun> {
  const p = ctx.params.s11;
  const targets: Target[] = [];
  // One load generator per shard: each holds that shard's sockets, so both stay under the fd limit.
  const pool = await LoadgenPool.start(slices.length);
  try {
    for (const [k, s] of slices.entries()) {
      targets.push(await startTarget(ctx, kind, `S11-${kind}-${k}`, { inspect: true, dataDir: s.dataDir, pingMs: p.heartbeatMs }));
    }
    const urls = targets.map((t) => t.wsUrl);
    const shared = { url: urls[0], secret: ctx.secret, concurrency: p.concurrency, startAt: 0 };
    const warm = await pool.connect(shared, slices.map((s) => s.specs.slice(0, p.warmPerShard)), new Progress(`S11 ${label(kind)} warm-up`), urls);
    const warmEnded = Date.now();
    await sleep(500);
    const heapBefore = await Promise.all(targets.map((t) => t.gcAndHeap()));
    const rssBefore = targets.map((t) => rssBytes(t.pid));
    const kernelBefore = kernelSocketMemory();
    const started = Date.now();
    const rest = await pool.connect(shared, slices.map((s) => s.specs.slice(p.warmPerShard)), new Progress(`S11 ${label(kind)} connecting`), urls);
    const connectSeconds = (Date.now() - started) / 1000;
    console.log(`  S11 ${label(kind)}: measured connections opened from ${((started - warmEnded) / 1000).toFixed(1)} to ${((Date.now() - warmEnded) / 1000).toFixed(1)} s after the warm-up`);
    await sleep(p.settleMs);
    const heapAfter = await Promise.all(targets.map((t) => t.gcAndHeap()));
    const rssAfter = targets.map((t) => rssBytes(t.pid));
    const kernelAfter = kernelSocketMemory();
    const sessions = await Promise.all(targets.map((t) => t.metric('chat_connections')));

    const all: ConnectResult[] = [...warm, ...rest];
    const connected = sum(all.map((r) => r.connected));
    const failed = sum(all.map((r) => r.failed));
    const failures: Record<string, number> = {};
    for (const r of all) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    if (failed > 0) console.log(`  S11 ${label(kind)}: ${failed} connections failed: ${JSON.stringify(failures)}`);
    const perShard = targets.map((_, k) => {
      const measured = rest[k].connected;
      return {
        connections: warm[k].connected + measured,
        measured,
        rssPerConn: measured > 0 ? (rssAfter[k] - rssBefore[k]) / measured : 0,
        heapPerConn: measured > 0 ? (heapAfter[k] - heapBefore[k]) / measured : 0,
        rssAfter: rssAfter[k],
        sessions: sessions[k],
      };
    });
    const measured = sum(perShard.map((s) => s.measured));

    // The idle window: nothing but heartbeats (and the server's 1 s tick) runs.
    console.log(`  S11 ${label(kind)}: ${connected.toLocaleString('en-US')} open; idle window of ${p.idleMs / 1000} s (ping every ${p.heartbeatMs / 1000} s)`);
    const stats0 = await pool.stats();
    const cpu0 = sum(targets.map((t) => cpuMicros(t.pid)));
    const lg0 = sum(pool.pids.map(cpuMicros));
    const machine0 = machineBusyMicros();
    const t0 = Date.now();
    await sleep(p.idleMs);
    const cpu1 = sum(targets.map((t) => cpuMicros(t.pid)));
    const lg1 = sum(pool.pids.map(cpuMicros));
    const machine1 = machineBusyMicros();
    const windowSec = (Date.now() - t0) / 1000;
    const stats1 = await pool.stats();
    const serverCpuUs = cpu1 - cpu0;
    const loadgenUs = lg1 - lg0;
    const pings = sum(stats1.map((s) => s.pings)) - sum(stats0.map((s) => s.pings));
    const serverOpen = await Promise.all(targets.map((t) => t.metric('chat_connections')));
    const openBefore = sum(stats0.map((s) => s.open));
    const openAfter = sum(stats1.map((s) => s.open));
    // By close code: how many, and when the first and last closed, in seconds after the warm-up ended.
    const closes: Record<string, { n: number; firstSec: number; lastSec: number }> = {};
    for (const st of stats1) {
      for (const [code, c] of Object.entries(st.closes)) {
        const first = (c.first - warmEnded) / 1000;
        const last = (c.last - warmEnded) / 1000;
        const seen = (closes[code] ??= { n: 0, firstSec: first, lastSec: last });
        seen.n += c.n;
        seen.firstSec = Math.min(seen.firstSec, first);
        seen.lastSec = Math.max(seen.lastSec, last);
      }
    }
    if (openBefore !== connected || openAfter !== connected) {
      console.log(`  S11 ${label(kind)}: ${connected} connected, ${openBefore} open before the idle window, ${openAfter} after; closed after CONNACK by code: ${JSON.stringify(closes)}`);
    }
    // Normalised by the sessions open through the window (the mean of its edges), not by those once connected.
    const held = (openBefore + openAfter) / 2;
    if (kind === 'ours' && sum(serverOpen.map((n) => n ?? 0)) !== openAfter) {
      console.log(`  S11 ours: the shards count ${JSON.stringify(serverOpen)} sessions (before the window ${JSON.stringify(sessions)}), the load generators ${openAfter}`);
    }
    await pool.closeAll();
    return {
      shards: targets.length,
      connections: connected,
      failed,
      failures,
      perShard,
      rssPerConn: measured > 0 ? sum(perShard.map((s, k) => s.rssAfter - rssBefore[k])) / measured : 0,
      heapPerConn: measured > 0 ? sum(targets.map((_, k) => heapAfter[k] - heapBefore[k])) / measured : 0,
      rssTotal: sum(rssAfter),
      kernelPerConn:
        measured > 0
          ? (kernelAfter.slabBytes - kernelBefore.slabBytes + kernelAfter.tcpBufferBytes - kernelBefore.tcpBufferBytes) / measured
          : 0,
      tcpSocketsPerConn: measured > 0 ? (kernelAfter.tcpSockets - kernelBefore.tcpSockets) / measured : 0,
      connectSeconds,
      idle: {
        windowSec,
        serverCpuUs,
        msPer10kPerMin: held > 0 ? serverCpuUs / 1000 / (held / 10_000) / (windowSec / 60) : 0,
        pingsPerConn: held > 0 ? pings / held : 0,
        cpuUsPerPing: pings > 0 ? serverCpuUs / pings : 0,
        loadgenCpuPct: (loadgenUs / (windowSec * 1e6)) * 100,
        otherCpuPct: (Math.max(0, machine1 - machine0 - serverCpuUs - loadgenUs) / (windowSec * 1e6)) * 100,
        openBefore,
        openAfter,
        closes,
      },
    };
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
    await pool.exit();
  }
}

function describe(kind: TargetKind, r: DensityScaleRun): void {
  const shards = r.perShard.map((s) => `${s.connections.toLocaleString('en-US')} conns ${(s.rssPerConn / KB).toFixed(2)} KB`).join(', ');
  console.log(
    `  S11 ${label(kind)}: ${r.connections.toLocaleString('en-US')} connections on ${r.shards} processes (${shards}); RSS at full ${(r.rssTotal / 2 ** 20).toFixed(0)} MiB; ` +
      `idle ${r.idle.windowSec.toFixed(1)} s: server ${(r.idle.serverCpuUs / 1000).toFixed(0)} ms CPU, ${r.idle.pingsPerConn.toFixed(2)} pings per connection, ` +
      `load generators ${r.idle.loadgenCpuPct.toFixed(1)}%, other processes ${r.idle.otherCpuPct.toFixed(1)}% of a core`,
  );
}

export async function runS11(ctx: Ctx): Promise<Row[]> {
  const data: Pair<DensityScaleRun> = { ours: null, baseline: null };
  ctx.results.s11 = data;
  const slices = await seedSlices(ctx);
  data.ours = await measure(ctx, 'ours', slices);
  describe('ours', data.ours);
  data.baseline = await measure(ctx, 'baseline', slices);
  describe('baseline', data.baseline);
  const o = data.ours;
  const b = data.baseline;
  const range = (r: DensityScaleRun): string => {
    const v = r.perShard.map((s) => s.rssPerConn / KB);
    return `${Math.min(...v).toFixed(2)}-${Math.max(...v).toFixed(2)} KB`;
  };
  const note = `per shard: ours ${range(o)}, relay ${range(b)}; idle window: load generators ${o.idle.loadgenCpuPct.toFixed(1)} / ${b.idle.loadgenCpuPct.toFixed(1)}%, other processes ${o.idle.otherCpuPct.toFixed(1)} / ${b.idle.otherCpuPct.toFixed(1)}% of a core (ours / relay)`;
  return [
    row(
      'S11',
      `idle authenticated connections open at the end of the idle window, ${o.shards} processes each`,
      'conns',
      o.idle.openAfter,
      b.idle.openAfter,
      `${ctx.params.s11.connections.toLocaleString('en-US')}`,
      (v) => v >= ctx.params.s11.connections,
      `connected ${o.connections.toLocaleString('en-US')} / ${b.connections.toLocaleString('en-US')}; closed after CONNACK by code (count, first and last s after the warm-up): ${JSON.stringify(o.idle.closes)} / ${JSON.stringify(b.idle.closes)}`,
    ),
    row('S11', 'RSS per idle connection (growth from warm, after GC)', 'KB', o.rssPerConn / KB, b.rssPerConn / KB, '≤ 10 KB', (v) => v <= 10, note),
    row('S11', 'V8 heap per idle connection', 'KB', o.heapPerConn / KB, b.heapPerConn / KB),
    row('S11', 'RSS of all server processes at full', 'MiB', o.rssTotal / 2 ** 20, b.rssTotal / 2 ** 20),
    row(
      'S11',
      'kernel memory per connection, both ends (slab + TCP buffers, machine-wide)',
      'KB',
      o.kernelPerConn / KB,
      b.kernelPerConn / KB,
      null,
      null,
      `TCP sockets per connection opened: ${o.tcpSocketsPerConn.toFixed(2)} / ${b.tcpSocketsPerConn.toFixed(2)} (2 = both ends); other work on the machine moves this figure`,
    ),
    row('S11', `server CPU while idle per 10,000 connections per minute (ping every ${ctx.params.s11.heartbeatMs / 1000} s)`, 'ms', o.idle.msPer10kPerMin, b.idle.msPer10kPerMin),
    row('S11', 'server CPU per heartbeat ping answered (idle CPU / pings)', 'µs', o.idle.cpuUsPerPing, b.idle.cpuUsPerPing),
    row('S11', `time to open ${sum(o.perShard.map((s) => s.measured)).toLocaleString('en-US')} connections`, 's', o.connectSeconds, b.connectSeconds),
  ];
}

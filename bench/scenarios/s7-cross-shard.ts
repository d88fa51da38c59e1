/**
 * S7 cross-shard: 1:1 senders connected to a shard that does not own their conversation,
 * receivers on another shard, open loop at a moderate fixed rate (as S3). Measured against
 * one shard on the same engines (STORE=cassandra BUS=redis), for both shard transports
 * (CLUSTER_TRANSPORT=links and redis): send→deliver latency and server CPU per message
 * (summed over the shard processes). Target: cross-shard at most 1.5x the single shard.
 * Needs Redis and Cassandra up (scripts/services/all.sh start); otherwise SKIPPED.
 */
import { randomBytes } from 'node:crypto';
import { sourceAddress, type Ctx } from '../context';
import { deleteRedisKeys, dropKeyspace, redisDown, seedCluster, startShards, type SeededCluster } from '../cluster';
import { chargeUndelivered, runPhase, type PlanShape } from '../phase';
import { pidsMatching } from '../procstat';
import { Progress } from '../progress';
import { row, type CrossShardRun, type Row } from '../results';

type Setup = CrossShardRun['setup'];

const target = 1.5;
/**
 * "Up to date" for CONNECT sync on Cassandra: the store reads bucket floor(seq / 4096) as a
 * CQL int, so the other scenarios' Number.MAX_SAFE_INTEGER fails CONNECT there (closed 1012).
 */
const upToDate = 2 ** 31 - 1;
const within = (v: number, base: number | null): boolean => base !== null && v <= target * base;

/** Shard ids of the multi-shard runs: senders on the first, receivers on the second, conversations owned by the last. */
function shardIds(n: number): string[] {
  return ['s7-a', 's7-b', 's7-c'].slice(0, n);
}

async function measure(ctx: Ctx, seeded: SeededCluster, setup: Setup, keyspace: string, run: string, enginePids: number[]): Promise<CrossShardRun> {
  const p = ctx.params.s7;
  const ids = setup === 'single' ? ['s7-solo'] : shardIds(p.shards);
  const prefix = `bench7${run}${setup}:`;
  const env = {
    CASSANDRA_KEYSPACE: keyspace,
    REDIS_PREFIX: prefix,
    CLUSTER_TRANSPORT: setup === 'redis' ? 'redis' : 'links',
    LINK_PREVIEWS: 'off',
  };
  const name = setup === 'single' ? 'single shard' : `${ids.length} shards, ${setup}`;
  const shards = await startShards(ctx, ids, env, setup);
  try {
    const sendTo = shards[0];
    const receiveOn = shards[1 % shards.length];
    const spec = (user: string, conv: string, i: number) => ({ user, convs: { [conv]: upToDate }, localAddress: sourceAddress(ctx, i) });
    const senders = seeded.senders.map((u, i) => spec(u, seeded.convs[i], 2 * i));
    const receivers = seeded.receivers.map((u, i) => spec(u, seeded.convs[i], 2 * i + 1));
    // Load generator 0 holds the senders, 1 the receivers, each connected to its own shard.
    const connected = [
      ...(await ctx.pool.connect({ url: sendTo.wsUrl, secret: ctx.secret, concurrency: 50, startAt: 0 }, [senders, []], new Progress(`S7 ${name}: senders`))),
      ...(await ctx.pool.connect({ url: receiveOn.wsUrl, secret: ctx.secret, concurrency: 50, startAt: 0 }, [[], receivers], new Progress(`S7 ${name}: receivers`))),
    ];
    const failures = connected.filter((c) => c.failed > 0).map((c) => JSON.stringify(c.failures));
    if (failures.length > 0) throw new Error(`S7 ${name}: connections failed: ${failures.join(', ')}`);
    const shape = (withSenders: boolean): PlanShape => ({
      mode: 'open',
      senders: withSenders ? seeded.convs.map((conv, client) => ({ client, conv })) : [],
      window: 0,
      rate: withSenders ? p.rate : 0,
      bodyChars: ctx.params.bodyChars,
      sampleEvery: 1,
    });
    const phase = await runPhase(ctx, shards, `S7 ${name} @ ${p.rate}/s`, [shape(true), shape(false)], p, enginePids);
    await ctx.pool.closeAll();
    // 1:1: every send of the window owes exactly one DELIVER.
    return { setup, shards: ids.length, rate: p.rate, run: chargeUndelivered(phase, phase.sentInWindow, p.drainMs) };
  } finally {
    await Promise.all(shards.map((s) => s.stop()));
    await deleteRedisKeys(prefix).catch(() => undefined);
  }
}

export async function runS7(ctx: Ctx): Promise<Row[]> {
  const p = ctx.params.s7;
  const data: NonNullable<typeof ctx.results.s7> = { skipped: null, runs: [] };
  ctx.results.s7 = data;
  const skip = (reason: string): Row[] => {
    console.log(`  S7 SKIPPED: ${reason}`);
    data.skipped = reason;
    return [row('S7', `SKIPPED: ${reason}`, '', null, null)];
  };
  if (ctx.pool.size < 2) return skip('needs two load generators');
  const down = await redisDown();
  if (down) return skip(down);
  const run = randomBytes(3).toString('hex');
  const keyspace = `bench_s7_${run}`;
  const ids = shardIds(p.shards);
  let seeded: SeededCluster;
  try {
    const t0 = Date.now();
    seeded = await seedCluster(keyspace, run, p.pairs, ids, ids[ids.length - 1]);
    console.log(`  seeded keyspace ${keyspace}: ${p.pairs} pairs owned by ${ids[ids.length - 1]} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    return skip(`Cassandra not usable (${(err as Error).message.split('\n')[0]}); start it with scripts/services/all.sh start`);
  }
  const enginePids = [...pidsMatching('redis-server'), ...pidsMatching('org.apache.cassandra.service.CassandraDaemon')];
  try {
    for (const setup of ['single', 'links', 'redis'] as const) data.runs.push(await measure(ctx, seeded, setup, keyspace, run, enginePids));
  } finally {
    await dropKeyspace(keyspace).catch((err: unknown) => console.log(`  S7: keyspace ${keyspace} not dropped: ${(err as Error).message}`));
  }
  return rowsOf(data.runs, enginePids.length);
}

function rowsOf(runs: CrossShardRun[], engines: number): Row[] {
  const single = runs.find((r) => r.setup === 'single')?.run ?? null;
  const base = (f: (r: NonNullable<typeof single>) => number): number | null => (single ? f(single) : null);
  const rows: Row[] = [];
  const goal = `≤ ${target}x single shard`;
  for (const r of runs) {
    if (r.setup === 'single') continue;
    const o = r.run;
    const what = `${r.shards} shards, ${r.setup}`;
    const notes = [
      o.undelivered > 0 ? `${o.undelivered} undelivered, charged at the drain time` : '',
      Object.keys(o.errors).length > 0 ? `errors ${JSON.stringify(o.errors)}` : '',
      single && single.undelivered > 0 ? `single shard: ${single.undelivered} undelivered` : '',
      Math.max(o.otherCpuPct, single?.otherCpuPct ?? 0) > 10
        ? `other processes used ${o.otherCpuPct.toFixed(0)}% / ${(single?.otherCpuPct ?? 0).toFixed(0)}% of a core (noisy run)`
        : '',
    ].filter(Boolean);
    rows.push(row('S7', `${what}: achieved send rate`, 'msg/s', o.sentInWindow / o.windowSec, base((s) => s.sentInWindow / s.windowSec)));
    rows.push(row('S7', `${what}: send→deliver p50`, 'ms', o.latency.p50 / 1000, base((s) => s.latency.p50 / 1000), goal, within));
    rows.push(row('S7', `${what}: send→deliver p99`, 'ms', o.latency.p99 / 1000, base((s) => s.latency.p99 / 1000), goal, within, notes.join('; ') || undefined));
    rows.push(row('S7', `${what}: send→ACK p50`, 'ms', o.ackLatency.p50 / 1000, base((s) => s.ackLatency.p50 / 1000)));
    rows.push(row('S7', `${what}: server CPU per message (all shards)`, 'µs', o.cpuUsPerDelivery, base((s) => s.cpuUsPerDelivery), goal, within));
    if (engines > 0) rows.push(row('S7', `${what}: Redis + Cassandra CPU per message`, 'µs', o.engineCpuUsPerDelivery ?? null, base((s) => s.engineCpuUsPerDelivery ?? 0)));
  }
  const links = runs.find((r) => r.setup === 'links')?.run;
  const redis = runs.find((r) => r.setup === 'redis')?.run;
  if (links && redis) {
    // Faster = lower median send→deliver; within 10% the run cannot tell them apart on a
    // shared two-core machine (the order of the phases alone moved p50 by more than that).
    const r = links.latency.p50 / redis.latency.p50;
    const faster = Math.abs(r - 1) < 0.1 ? 'neither (p50 within 10%)' : r < 1 ? 'links' : 'redis';
    rows.push(row('S7', `links vs redis (ours = links, baseline = redis): p50`, 'ms', links.latency.p50 / 1000, redis.latency.p50 / 1000));
    rows.push(row('S7', `links vs redis: p99`, 'ms', links.latency.p99 / 1000, redis.latency.p99 / 1000));
    rows.push(row('S7', `links vs redis: server CPU per message`, 'µs', links.cpuUsPerDelivery, redis.cpuUsPerDelivery));
    rows.push(row('S7', `links vs redis: Redis + Cassandra CPU per message`, 'µs', links.engineCpuUsPerDelivery ?? null, redis.engineCpuUsPerDelivery ?? null));
    console.log(`  S7: faster transport: ${faster} (p50 ${(links.latency.p50 / 1000).toFixed(2)} ms links vs ${(redis.latency.p50 / 1000).toFixed(2)} ms redis)`);
    rows.push(row('S7', `faster transport (lower p50): ${faster}`, '', null, null));
  }
  return rows;
}

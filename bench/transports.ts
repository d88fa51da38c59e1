/**
 * The same load over different carriers of the protocol, on fresh servers of ours: S3's
 * direct pairs open loop at one rate, and idle sessions measured as S1 measures
 * connections. S8 compares long-poll with WebSocket this way, S12 MQTT with WebSocket.
 */
import { sleep } from './clock';
import { deal, liveSpec, startTarget, type Ctx } from './context';
import type { Transport } from './ipc';
import { chargeUndelivered, runPhase, type PlanShape } from './phase';
import { Progress } from './progress';
import { openFds, rssBytes } from './procstat';
import type { IdleRun, PhaseRun } from './results';
import type { Target } from './target';

export function transportName(t: Transport): string {
  return { ws: 'WebSocket', longpoll: 'long-poll', mqtt311: 'MQTT 3.1.1', mqtt5: 'MQTT 5' }[t];
}

/** Where a client of `t` connects on ours. */
export function urlFor(target: Target, t: Transport): string {
  const url = t === 'ws' ? target.wsUrl : t === 'longpoll' ? target.http : target.mqttUrl;
  if (url === null) throw new Error(`${transportName(t)}: the ${target.kind} server has no such listener`);
  return url;
}

export interface TrafficParams {
  pairs: number;
  rate: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
  loadgens: number;
}

/**
 * `pairs` direct pairs over `t`, every client sending open loop (the pair's conversation),
 * `rate` msg/s in all, on a fresh server; measured as S3 measures, undelivered sends of
 * the window charged at the drain time. `tag` names the server's log and profile;
 * `mqttQos0`: MQTT clients at QoS 0 both ways, as the SDK (no PUBACKs).
 */
export async function transportTraffic(ctx: Ctx, t: Transport, p: TrafficParams, tag: string, mqttQos0 = false): Promise<PhaseRun> {
  const { pool } = ctx;
  const specs = Array.from({ length: 2 * p.pairs }, (_, i) => liveSpec(ctx, i));
  const { lists } = deal(specs, p.loadgens);
  const target = await startTarget(ctx, 'ours', tag);
  try {
    const connected = await pool.connect({ url: urlFor(target, t), transport: t, mqttQos0, secret: ctx.secret, concurrency: 100, startAt: 0 }, lists, new Progress(`${tag} connecting`));
    const failed = connected.reduce((n, r) => n + r.failed, 0);
    if (failed > 0) throw new Error(`${tag}: ${failed} sessions failed to connect: ${JSON.stringify(connected.map((r) => r.failures))}`);
    const shapes: PlanShape[] = lists.map((clients) => ({
      mode: 'open',
      senders: clients.map((c, index) => ({ client: index, conv: Object.keys(c.convs)[0] })),
      window: 0,
      rate: p.rate / lists.length,
      bodyChars: ctx.params.bodyChars,
      sampleEvery: 1,
    }));
    const run = await runPhase(ctx, target, `${tag} ${transportName(t)} @ ${p.rate.toLocaleString('en-US')}/s`, shapes, p);
    await pool.closeAll();
    // 1:1: every send of the window owes exactly one DELIVER.
    return chargeUndelivered(run, run.sentInWindow, p.drainMs);
  } finally {
    await target.stop();
  }
}

export interface IdleParams {
  idle: number;
  idleWarm: number;
  settleMs: number;
}

/**
 * `idleWarm` sessions over `t`, then `idle` more, on a fresh server started with
 * --inspect: VmRSS, V8 heap (after a forced full GC) and open descriptors before and after
 * the measured ones, each `settleMs` after its sessions opened.
 */
export async function idleSessions(ctx: Ctx, t: Transport, p: IdleParams, tag: string): Promise<IdleRun> {
  const { pool } = ctx;
  const specs = Array.from({ length: p.idleWarm + p.idle }, (_, i) => liveSpec(ctx, i));
  const target = await startTarget(ctx, 'ours', tag, { inspect: true });
  try {
    const shared = { url: urlFor(target, t), transport: t, secret: ctx.secret, concurrency: 100, startAt: 0 };
    const warm = await pool.connect(shared, deal(specs.slice(0, p.idleWarm), pool.size).lists, new Progress(`${tag} warm-up`));
    // As long after the warm-up as after the measured sessions (long-poll: the warm
    // sessions' send sockets are past the server's keep-alive timeout in both readings).
    await sleep(p.settleMs);
    const heapBefore = await target.gcAndHeap();
    const rssBefore = rssBytes(target.pid);
    const fdsBefore = openFds(target.pid);
    const rest = await pool.connect(shared, deal(specs.slice(p.idleWarm), pool.size).lists, new Progress(`${tag} sessions`));
    await sleep(p.settleMs);
    const heapAfter = await target.gcAndHeap();
    const rssAfter = rssBytes(target.pid);
    const fdsAfter = openFds(target.pid);
    const all = [...warm, ...rest];
    const failed = all.reduce((n, r) => n + r.failed, 0);
    if (failed > 0) console.log(`  ${tag}: ${failed} sessions failed: ${JSON.stringify(all.map((r) => r.failures))}`);
    const measured = rest.reduce((n, r) => n + r.connected, 0);
    const serverSessions = await target.metric('chat_connections');
    await pool.closeAll();
    return {
      transport: t,
      sessions: all.reduce((n, r) => n + r.connected, 0),
      failed,
      measured,
      rssBefore,
      rssAfter,
      heapBefore,
      heapAfter,
      rssPerSession: measured > 0 ? (rssAfter - rssBefore) / measured : 0,
      heapPerSession: measured > 0 ? (heapAfter - heapBefore) / measured : 0,
      fdsPerSession: measured > 0 ? (fdsAfter - fdsBefore) / measured : 0,
      serverSessions,
    };
  } finally {
    await target.stop();
  }
}

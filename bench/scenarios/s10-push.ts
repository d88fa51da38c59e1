/**
 * S10 push to offline devices, on one shard (embedded engines), through the real Web Push
 * provider to a local HTTPS push service in a process of its own (lg-push-service.ts:
 * records each request's arrival, decrypts them to check them and to read conv and seq).
 *
 * 1. The floor, before the server starts: push-floor.ts sends from a bare script (web-push's
 *    encryption, a VAPID header signed once, HTTPS POST) to the same push service: latency of one push alone,
 *    pushes/s and CPU per push with as many in flight as the server's device jobs.
 * 2. seed-push.ts writes S10's users, conversations and registrations into the database.
 * 3. One fresh server (PUSH_ALLOW=127.0.0.1/32, PUSH_CA_FILE = the push service's cert).
 *    (a) the sender (online, lg-push-clients.ts) sends one message to each of `direct`
 *    conversations whose recipient has a registered device and no session: ACK → request at
 *    the push service, the 200 ms batching window included. (c) `readers` recipients are
 *    pushed likewise, then read on a second, online device: READ sent → retract request.
 *    (b) S3's pairs send open loop on the shared load generators, a window without push load,
 *    then one while one message in each of `groups` groups pushes to every offline member:
 *    requests/s, server CPU per push (less the messaging's, at its quiet rate), send→deliver
 *    with the push load over without it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { nowMs, sleep } from '../clock';
import { Forked } from '../child';
import { deal, liveSpec, startTarget, type Ctx } from '../context';
import { Histogram, percentiles, type HistogramData } from '../histogram';
import type { FromPushClients, SentRecord, ToPushClients } from '../lg-push-clients';
import type { Arrival, FromService, ToService } from '../lg-push-service';
import { chargeUndelivered, runPhase, type PlanShape } from '../phase';
import { cpuMicros } from '../procstat';
import { Progress } from '../progress';
import { row, type PhaseRun, type PushRuns, type Row } from '../results';
import { seedPush, type PushSeed } from '../seed-push';
import type { Target } from '../target';

type Service = Forked<ToService, FromService>;
type Clients = Forked<ToPushClients, FromPushClients>;

/** The server's batching window (PushService batchMs default). */
const windowMs = 200;

/** Polls the push service until `n` requests arrived in all, or `deadline` (monotonic ms). */
async function awaitArrivals(service: Service, n: number, deadline: number): Promise<number> {
  for (;;) {
    const c = await service.request({ op: 'count' }, 'counted');
    if (c.n >= n || nowMs() > deadline) return c.n;
    await sleep(20);
  }
}

/** Latency from each record's time to the request that carried its (conv, seq), or charged. */
function match(records: SentRecord[], arrivals: Arrival[], from: (r: SentRecord) => number, timeoutMs: number): { h: Histogram; pushed: number } {
  const at = new Map<string, number>();
  for (const a of arrivals) if (a.kind === 'message' && a.conv !== undefined) at.set(`${a.conv}\0${a.seq}`, a.at);
  const h = new Histogram();
  let pushed = 0;
  for (const r of records) {
    const t = at.get(`${r.conv}\0${r.seq}`);
    if (t !== undefined) pushed++;
    h.record((t === undefined ? timeoutMs : t - from(r)) * 1000);
  }
  return { h, pushed };
}

function messaging(ctx: Ctx, lists: ReturnType<typeof liveSpec>[][]): PlanShape[] {
  const p = ctx.params.s10;
  return lists.map((clients) => ({
    mode: 'open',
    senders: clients.map((c, index) => ({ client: index, conv: Object.keys(c.convs)[0] })),
    window: 0,
    rate: p.rate / lists.length,
    bodyChars: ctx.params.bodyChars,
    sampleEvery: 1,
  }));
}

async function direct(ctx: Ctx, service: Service, clients: Clients, seed: PushSeed, data: PushRuns): Promise<void> {
  const p = ctx.params.s10;
  console.log(`  S10 (a): ${p.direct} messages to offline recipients, ${p.sendRate}/s`);
  await service.request({ op: 'sample', decryptEvery: 1 }, 'sampled');
  await service.request({ op: 'take' }, 'taken');
  const sent = await clients.request({ op: 'send', device: 0, convs: seed.direct.map((d) => d.conv), startAt: nowMs() + 100, rate: p.sendRate }, 'sent');
  await awaitArrivals(service, sent.records.length, nowMs() + p.timeoutMs);
  const { arrivals, badPayloads } = await service.request({ op: 'take' }, 'taken');
  if (badPayloads > 0) throw new Error(`(a): ${badPayloads} push payloads did not decrypt`);
  const fromAck = match(sent.records, arrivals, (r) => r.ackAt, p.timeoutMs);
  const fromSend = match(sent.records, arrivals, (r) => r.sentAt, p.timeoutMs);
  data.direct = { sent: sent.records.length, pushed: fromAck.pushed, fromAck: fromAck.h.toJSON(), fromSend: fromSend.h.toJSON() };
  console.log(`  S10 (a): ${sent.records.length} ACKed, ${fromAck.pushed} pushed${Object.keys(sent.errors).length ? `, errors ${JSON.stringify(sent.errors)}` : ''}`);
}

async function retract(ctx: Ctx, service: Service, clients: Clients, seed: PushSeed, data: PushRuns): Promise<void> {
  const p = ctx.params.s10;
  console.log(`  S10 (c): ${p.readers} recipients pushed, then reading on their online device, ${p.readRate}/s`);
  const sent = await clients.request({ op: 'send', device: 0, convs: seed.readers.map((r) => r.conv), startAt: nowMs() + 100, rate: p.sendRate }, 'sent');
  const pushed = await awaitArrivals(service, sent.records.length, nowMs() + p.timeoutMs);
  await service.request({ op: 'take' }, 'taken');
  const seqOf = new Map(sent.records.map((r) => [r.conv, r.seq]));
  // Reader i's online device is the clients' device 1 + i (0 is the sender).
  const reads = seed.readers.flatMap((r, i) => (seqOf.has(r.conv) ? [{ device: 1 + i, conv: r.conv, seq: seqOf.get(r.conv) as number }] : []));
  const done = await clients.request({ op: 'read', reads, startAt: nowMs() + 100, rate: p.readRate }, 'read');
  await awaitArrivals(service, done.records.length, nowMs() + p.timeoutMs);
  const { arrivals, badPayloads } = await service.request({ op: 'take' }, 'taken');
  if (badPayloads > 0) throw new Error(`(c): ${badPayloads} push payloads did not decrypt`);
  const at = new Map<string, number>();
  for (const a of arrivals) if (a.kind === 'retract' && a.conv !== undefined) at.set(a.conv, a.at);
  const h = new Histogram();
  let retracted = 0;
  for (const r of done.records) {
    const t = at.get(r.conv);
    if (t !== undefined) retracted++;
    h.record((t === undefined ? p.timeoutMs : t - r.sentAt) * 1000);
  }
  data.retract = { reads: done.records.length, retracted, fromRead: h.toJSON() };
  console.log(`  S10 (c): ${pushed} pushed, ${done.records.length} READs, ${retracted} retracted`);
}

async function fanout(ctx: Ctx, target: Target, service: Service, clients: Clients, seed: PushSeed, lists: ReturnType<typeof liveSpec>[][], data: PushRuns): Promise<void> {
  const p = ctx.params.s10;
  const shapes = messaging(ctx, lists);
  const rate = `${p.rate.toLocaleString('en-US')}/s`;
  const others = [service.pid, clients.pid];
  const quiet = await runPhase(ctx, target, `S10 messaging @ ${rate}, no push load`, shapes, p, others);
  data.quiet = chargeUndelivered(quiet, quiet.sentInWindow, p.drainMs);

  const expected = seed.groups.length * p.members;
  await service.request({ op: 'sample', decryptEvery: p.sampleEvery }, 'sampled');
  await service.request({ op: 'take' }, 'taken');
  console.log(`  S10 (b): one message in each of ${seed.groups.length} groups: ${expected.toLocaleString('en-US')} offline devices to push, while the messaging runs`);
  // runPhase starts its load half a second after it is called: the group messages go then.
  const startAt = nowMs() + 500;
  const cpu0 = cpuMicros(target.pid);
  const sending = clients.request({ op: 'send', device: 0, convs: seed.groups.map((g) => g.conv), startAt, rate: 1000 }, 'sent');
  sending.catch(() => undefined);
  const windowTo = startAt + p.warmupMs + p.measureMs;
  const loaded = await runPhase(ctx, target, `S10 messaging @ ${rate} with the group pushes`, shapes, p, others);
  data.loaded = chargeUndelivered(loaded, loaded.sentInWindow, p.drainMs);
  const sent = await sending;
  // Generous: ~200 pushes/s were seen on the busy 2-core VM; a push missing by then is charged at the wait.
  const waitMs = Math.max(60_000, expected * 20);
  const n = await awaitArrivals(service, expected, nowMs() + waitMs);
  const cpu1 = cpuMicros(target.pid);
  const end = nowMs();
  const taken = await service.request({ op: 'take' }, 'taken');
  if (taken.badPayloads > 0) throw new Error(`(b): ${taken.badPayloads} sampled push payloads did not decrypt`);
  const ackOf = new Map(sent.records.map((r) => [r.conv, r.ackAt]));
  const h = new Histogram();
  let first = Infinity;
  let last = 0;
  let wrong = 0;
  for (const a of taken.arrivals) {
    // off_u_push_g012_0034 -> c_push_g012
    const group = `c_push_g${a.device.slice(12, 15)}`;
    const ack = ackOf.get(group);
    if (ack !== undefined) h.record((a.at - ack) * 1000);
    if (a.kind !== undefined && (a.kind !== 'message' || a.conv !== group || a.urgency !== 'high')) wrong++;
    first = Math.min(first, a.at);
    last = Math.max(last, a.at);
  }
  if (wrong > 0) throw new Error(`(b): ${wrong} sampled pushes were not this group's message at high urgency`);
  h.recordMany(waitMs * 1000, Math.max(0, expected - n));
  // The server's CPU from the group messages to the last push, less the messaging's at its quiet rate.
  // The messaging sends from startAt to windowTo (its drain only receives the last ones).
  const messagingUs = (data.quiet.serverCpuPct / 100) * (Math.min(end, windowTo) - startAt) * 1000;
  const spanMs = last - first;
  data.fanout = {
    expected,
    pushed: new Set(taken.arrivals.map((a) => a.device)).size,
    requests: taken.arrivals.length,
    spanMs,
    fromAck: h.toJSON(),
    pushesPerSec: spanMs > 0 ? (taken.arrivals.length * 1000) / spanMs : 0,
    cpuUsPerPush: taken.arrivals.length > 0 ? (cpu1 - cpu0 - messagingUs) / taken.arrivals.length : 0,
    serviceCpuUs: taken.cpuUs,
    decrypted: taken.decrypted,
    badPayloads: taken.badPayloads,
    windowTo,
    lastPushAt: last,
  };
  console.log(`  S10 (b): ${n} of ${expected} pushed in ${(spanMs / 1000).toFixed(1)} s (${taken.decrypted} decrypted and checked); the last ${last >= windowTo ? 'after' : `${((windowTo - last) / 1000).toFixed(1)} s before`} the loaded window's end`);
}

export async function runS10(ctx: Ctx): Promise<Row[]> {
  const p = ctx.params.s10;
  const data: PushRuns = { floor: [], direct: null, retract: null, fanout: null, quiet: null, loaded: null };
  ctx.results.s10 = data;
  const service: Service = new Forked('lg-push-service.js', 'push service');
  const clients: Clients = new Forked('lg-push-clients.js', 'push clients');
  let target: Target | null = null;
  try {
    const { port, cert } = await service.request({ op: 'start', decryptEvery: 1 }, 'started');
    const caFile = path.join(ctx.workDir, 'push-ca.pem');
    writeFileSync(caFile, cert);
    console.log(`  S10 floor: web-push from a bare script to the push service, ${p.floorAlone} pushes alone, then ${p.floorPushes} with ${p.floorConcurrency} in flight; keep-alive, then a new TLS connection per push`);
    data.floor = (await clients.request({ op: 'floor', port, ca: cert, alone: p.floorAlone, pushes: p.floorPushes, concurrency: p.floorConcurrency }, 'floored')).runs;
    const floorTaken = await service.request({ op: 'take' }, 'taken');
    if (floorTaken.badPayloads > 0) throw new Error(`floor: ${floorTaken.badPayloads} payloads did not decrypt`);

    const t = Date.now();
    const seed = await seedPush(path.join(ctx.dataDir, 'chat.db'), port, { direct: p.direct, readers: p.readers, groups: p.groups, members: p.members }, ctx.params.sqliteSync);
    console.log(`  S10 seeded ${p.direct + p.readers + p.groups * p.members + 1} users, as many push registrations less one, ${p.groups} groups of ${p.members} + the sender in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    target = await startTarget(ctx, 'ours', 'S10-ours', { env: { PUSH_ALLOW: '127.0.0.1/32', PUSH_CA_FILE: caFile, MAX_GROUP_MEMBERS: String(p.members + 1) } });
    const senderConvs = [...seed.direct.map((d) => d.conv), ...seed.readers.map((r) => r.conv), ...seed.groups.map((g) => g.conv)];
    await clients.request(
      {
        op: 'connect',
        wsUrl: target.wsUrl,
        secret: ctx.secret,
        devices: [{ user: seed.sender, device: 'd_push_sender', convs: senderConvs }, ...seed.readers.map((r) => ({ user: r.user, device: r.online, convs: [r.conv] }))],
      },
      'connected',
    );
    const specs = Array.from({ length: 2 * p.pairs }, (_, i) => liveSpec(ctx, i));
    const { lists } = deal(specs, p.loadgens);
    await ctx.pool.connect({ url: target.wsUrl, secret: ctx.secret, concurrency: 100, startAt: 0 }, lists, new Progress('S10 messaging clients connecting'));

    await direct(ctx, service, clients, seed, data);
    await retract(ctx, service, clients, seed, data);
    await fanout(ctx, target, service, clients, seed, lists, data);
    await clients.request({ op: 'close' }, 'closed');
    await ctx.pool.closeAll();
  } finally {
    await target?.stop();
    clients.stop();
    service.stop();
  }
  return rows(ctx, data);
}

const pct = (h: HistogramData) => percentiles(Histogram.from([h]));
const ms = (us: number) => us / 1000;

function rows(ctx: Ctx, data: PushRuns): Row[] {
  const p = ctx.params.s10;
  const ka = data.floor.find((f) => f.connection === 'keep-alive');
  const pp = data.floor.find((f) => f.connection === 'per-push');
  if (!ka || !pp) throw new Error('S10: no floor');
  const kaAlone = pct(ka.alone);
  const ppAlone = pct(pp.alone);
  const d = data.direct as NonNullable<PushRuns['direct']>;
  const c = data.retract as NonNullable<PushRuns['retract']>;
  const f = data.fanout as NonNullable<PushRuns['fanout']>;
  const q = data.quiet as PhaseRun;
  const l = data.loaded as PhaseRun;
  const a = pct(d.fromAck);
  const as = pct(d.fromSend);
  const r = pct(c.fromRead);
  const fa = pct(f.fromAck);
  const le = (limit: number) => (v: number) => v <= limit;
  const other = Math.max(q.otherCpuPct, l.otherCpuPct);
  const rate = `@ ${p.rate.toLocaleString('en-US')}/s`;
  return [
    row('S10', '(a) offline recipient: ACK → push request received: p50', 'ms', ms(a.p50), windowMs + ms(kaAlone.p50), '≤ 250 ms', le(250),
      `${d.sent} messages at ${p.sendRate}/s to ${d.sent} direct conversations, ${d.pushed} pushed and decrypted${d.pushed < d.sent ? ` (the rest charged at ${p.timeoutMs / 1000} s)` : ''}; baseline: the ${windowMs} ms batching window + the floor's one push alone (keep-alive)`),
    row('S10', '(a) offline recipient: ACK → push request received: p99', 'ms', ms(a.p99), windowMs + ms(kaAlone.p99), '≤ 400 ms', le(400)),
    row('S10', '(a) offline recipient: ACK → push request received: max', 'ms', ms(a.max), windowMs + ms(kaAlone.max)),
    row('S10', '(a) offline recipient: SEND → push request received: p50', 'ms', ms(as.p50), null, null, null, `SEND → ACK is the rest`),
    row('S10', "(a) the batching window's share of the p50", '%', a.p50 > 0 ? (100 * windowMs * 1000) / a.p50 : null, null, null, null, `${windowMs} ms of ${ms(a.p50).toFixed(0)} ms; what is left, ${(ms(a.p50) - windowMs).toFixed(0)} ms, is the jobs (push-batch, push-device) and the request; the floor's push alone: ${ms(kaAlone.p50).toFixed(1)} ms keep-alive, ${ms(ppAlone.p50).toFixed(1)} ms with a new connection`),
    row('S10', '(c) READ on the online device → retract request: p50', 'ms', ms(r.p50), ms(kaAlone.p50), null, null,
      `${c.reads} READs at ${p.readRate}/s, ${c.retracted} retract requests decrypted${c.retracted < c.reads ? ` (the rest charged at ${p.timeoutMs / 1000} s)` : ''}; no batching window; baseline: the floor's one push alone`),
    row('S10', '(c) READ on the online device → retract request: p99', 'ms', ms(r.p99), ms(kaAlone.p99), '≤ 500 ms', le(500)),
    row('S10', '(b) fan-out: provider requests per second', 'req/s', f.pushesPerSec, ka.pushesPerSec, null, null,
      `${f.pushed.toLocaleString('en-US')} of ${f.expected.toLocaleString('en-US')} devices pushed${f.requests > f.pushed ? ` (${f.requests} requests: some twice)` : ''} (${p.groups} groups × ${p.members} offline members + the online sender), first → last request ${(f.spanMs / 1000).toFixed(1)} s, 1 in ${p.sampleEvery} decrypted and checked (${f.decrypted}); baseline: the floor with ${ka.concurrency} in flight (as the server's push-device jobs), keep-alive, one process; with a new connection per push: ${pp.pushesPerSec.toFixed(0)}/s`),
    row('S10', '(b) fan-out: server CPU per push (less the messaging)', 'ms', ms(f.cpuUsPerPush), ms(ka.cpuUsPerPush), null, null,
      `baseline: the floor's CPU per push, keep-alive (web-push encrypt + HTTPS POST, VAPID header signed once); with a new TLS connection per push: ${ms(pp.cpuUsPerPush).toFixed(2)} ms`),
    row('S10', '(b) fan-out: group message ACK → push request: p50', 'ms', ms(fa.p50), null),
    row('S10', '(b) fan-out: group message ACK → push request: p99', 'ms', ms(fa.p99), null),
    row('S10', '(b) push service CPU per push (its decrypting included)', 'ms', f.pushed > 0 ? ms(f.serviceCpuUs / f.pushed) : null, null, null, null, 'the local push service, a process of its own; over the whole scenario, floor included'),
    row('S10', `(b) messaging ${rate}: send→deliver p50`, 'ms', ms(l.latency.p50), ms(q.latency.p50), null, null,
      [
        'ours = with the push load, baseline = the same clients without it (same server, same run)',
        f.lastPushAt < f.windowTo ? `the pushes ended ${((f.windowTo - f.lastPushAt) / 1000).toFixed(1)} s before the loaded window did` : '',
        q.undelivered + l.undelivered > 0 ? `undelivered, charged at the drain time: ${l.undelivered} with pushes, ${q.undelivered} without` : '',
        other > 10 ? `other processes used ${l.otherCpuPct.toFixed(0)}% / ${q.otherCpuPct.toFixed(0)}% of a core: noisy` : '',
      ].filter(Boolean).join('; ')),
    row('S10', `(b) messaging ${rate}: send→deliver p99`, 'ms', ms(l.latency.p99), ms(q.latency.p99), '≤ 1.5x without pushes', (o, b) => b !== null && o <= 1.5 * b),
    row('S10', `(b) messaging ${rate}: server CPU busy (1 core = 100%)`, '%', l.serverCpuPct, q.serverCpuPct),
    row('S10', `(b) messaging ${rate}: other processes CPU, not the bench`, '%', l.otherCpuPct, q.otherCpuPct),
    row('S10', 'floor: one push alone, p50 / keep-alive', 'ms', ms(kaAlone.p50), null, null, null, `p99 ${ms(kaAlone.p99).toFixed(1)} ms; with a new TLS connection per push p50 ${ms(ppAlone.p50).toFixed(1)}, p99 ${ms(ppAlone.p99).toFixed(1)} ms`),
  ];
}

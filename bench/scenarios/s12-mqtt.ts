/**
 * S12 MQTT against WebSocket, all on our server, in the same run. The MQTT clients are the
 * stock `mqtt` client (lg-clients.ts): no SUBSCRIBE, the protocol's frames PUBLISHed to
 * `up` at QoS 1, the server's frames PUBACKed as they arrive; MQTT 5 clients allow topic
 * aliases. Four parts, each on fresh servers:
 * (a) idle sessions of WebSocket, MQTT 3.1.1 and MQTT 5, measured as S1 measures
 *     connections (VmRSS and heap growth after a full GC, past a warm-up). Target: MQTT ≤ WS.
 * (b) S3's pairs open loop at one rate over each transport, server CPU per delivered
 *     message (/proc utime+stime over the window). Target: MQTT ≤ 1.2x WS. Then MQTT
 *     again at QoS 0 both ways, as the SDK speaks it (frames published at QoS 0, the
 *     device's topic subscribed at QoS 0): no PUBACKs, which is where most of the QoS 1
 *     runs' extra CPU goes.
 * (c) bytes on the client sockets (lg-wire.ts) per message, over MQTT 5, MQTT 3.1.1,
 *     WebSocket and long-poll; and per keep-alive exchange, turned into bytes per idle hour.
 * (d) typical frames as JSON, MessagePack and CBOR.
 * Columns: ours = MQTT (or long-poll, or the binary encoding), baseline = WebSocket (or
 * JSON), so the ratio reads MQTT / WebSocket. No floor: the comparison is the carriers on
 * one server.
 */
import { newSortableId } from '../../src/protocol/ids';
import { Forked } from '../child';
import { liveSpec, sourceAddress, startTarget, type Ctx } from '../context';
import type { ClientSpec, Transport } from '../ipc';
import type { CaseFailed, FromWire, KeepaliveBytes, KeepaliveCase, MessageBytes, MessageCase, ToWire } from '../lg-wire';
import { row, type IdleRun, type MqttRuns, type PhaseRun, type Row } from '../results';
import { idleSessions, transportName, transportTraffic, urlFor } from '../transports';

const KB = 1024;
const mqtts = ['mqtt311', 'mqtt5'] as const;

function info(...args: Parameters<typeof row>): Row {
  return { ...row(...args), info: true };
}

/** Runs one part; a failure is recorded and the other parts go on (the MQTT listener is new). */
async function part(ctx: Ctx, name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.log(`  S12 ${name} failed: ${message}`);
    ctx.results.errors.push({ scenario: 'S12', message: `${name}: ${message}` });
    await ctx.pool.closeAll().catch(() => undefined);
  }
}

type Probe = Forked<ToWire, FromWire>;

/** The cases measured; each failed one is reported as an error of the run. */
function measuredOnly<T extends object>(ctx: Ctx, what: string, results: (T | CaseFailed)[]): (T | null)[] {
  return results.map((r) => {
    if (!('error' in r)) return r;
    console.log(`  S12 ${what} over ${transportName(r.transport)} failed: ${r.error}`);
    ctx.results.errors.push({ scenario: 'S12', message: `${what}, ${transportName(r.transport)}: ${r.error}` });
    return null;
  });
}

/** The wire probe's clients: direct pairs past S4's group members and S3's pairs (so the sync names one conversation). */
function probeSpec(ctx: Ctx, k: number): ClientSpec {
  return liveSpec(ctx, 2 * Math.max(ctx.seeded.groupMembers.length, 2 * ctx.params.s3.pairs) + k);
}

/** (c) bytes per message and (d) the frames' encodings, on a server that does not ping. */
async function wireMessages(ctx: Ctx, probe: Probe, data: MqttRuns): Promise<void> {
  const p = ctx.params.s12;
  // No heartbeat inside the measurement: a ping would be counted as message bytes.
  const target = await startTarget(ctx, 'ours', 'S12-wire', { env: { HEARTBEAT_MS: '600000' } });
  let frames: { name: string; text: string }[] = [];
  try {
    const transports: Transport[] = ['mqtt5', 'mqtt311', 'ws', 'longpoll'];
    const cases: MessageCase[] = transports.map((t, j) => ({
      transport: t,
      url: urlFor(target, t),
      sender: probeSpec(ctx, 2 * j),
      receiver: probeSpec(ctx, 2 * j + 1),
      messages: p.wireMessages,
      bodyChars: p.wireBodyChars,
    }));
    // One more over WebSocket for (d)'s long DELIVER.
    cases.push({ ...cases[2], sender: probeSpec(ctx, 8), receiver: probeSpec(ctx, 9), messages: 1, bodyChars: 400 });
    console.log(`  S12 wire: ${p.wireMessages} messages of ${p.wireBodyChars} characters one at a time over ${transports.map(transportName).join(', ')}`);
    const measured = measuredOnly(ctx, '(c) bytes per message', (await probe.request({ op: 'messages', secret: ctx.secret, cases }, 'messages')).results);
    data.wire = measured.slice(0, transports.length).filter((m): m is MessageBytes => m !== null);
    const ws = measured[2];
    const long = measured[4];
    if (!ws || !long) throw new Error('no WebSocket frames to encode for (d)');
    const storm: ClientSpec = { user: ctx.seeded.storm.users[0], convs: { [ctx.seeded.storm.convs[0]]: 0 }, localAddress: sourceAddress(ctx, 0) };
    const connack = (await probe.request({ op: 'connack', secret: ctx.secret, wsUrl: target.wsUrl, client: storm }, 'connack')).text;
    const send = JSON.stringify({ type: 'SEND', client_msg_id: newSortableId('m'), conv_id: Object.keys(cases[2].sender.convs)[0], body: JSON.parse(ws.deliver).body as string });
    frames = [
      { name: `SEND, ${p.wireBodyChars}-char body`, text: send },
      { name: `DELIVER, ${p.wireBodyChars}-char body`, text: ws.deliver },
      { name: 'DELIVER, 400-char body', text: long.deliver },
      { name: 'ACK', text: ws.ack },
      { name: `CONNACK with ${ctx.seeded.storm.missed} missed events`, text: connack },
    ];
  } finally {
    await target.stop();
  }
  data.encodings = (await probe.request({ op: 'encode', frames }, 'encode')).results;
}

/** (c) bytes of one keep-alive exchange per transport, on a server pinging often (the bytes do not depend on how often). */
async function wireKeepalive(ctx: Ctx, probe: Probe, data: MqttRuns): Promise<void> {
  const p = ctx.params.s12;
  const beat = await startTarget(ctx, 'ours', 'S12-keepalive', { env: { HEARTBEAT_MS: String(p.probeHeartbeatMs) } });
  try {
    const cases: KeepaliveCase[] = [
      { transport: 'ws', url: urlFor(beat, 'ws'), client: probeSpec(ctx, 10), exchanges: p.keepaliveExchanges },
      ...mqtts.map((t, j) => ({ transport: t, url: urlFor(beat, t), client: probeSpec(ctx, 11 + j), exchanges: p.keepaliveExchanges, mqttKeepaliveS: p.probeKeepaliveS })),
      { transport: 'longpoll', url: urlFor(beat, 'longpoll'), client: probeSpec(ctx, 13), exchanges: p.lpExchanges, lpWaitMs: p.probeLpWaitMs },
    ];
    console.log(
      `  S12 keep-alive exchanges: server pinging every ${p.probeHeartbeatMs} ms, MQTT keep-alive ${p.probeKeepaliveS} s, long-poll wait_ms ${p.probeLpWaitMs} (~${((p.probeLpWaitMs * (p.lpExchanges + 0.5)) / 1000).toFixed(0)} s)`,
    );
    const measured = measuredOnly(ctx, '(c) bytes per keep-alive exchange', (await probe.request({ op: 'keepalive', secret: ctx.secret, cases }, 'keepalive')).results);
    data.keepalive = measured.filter((k): k is KeepaliveBytes => k !== null);
  } finally {
    await beat.stop();
  }
}

function perMessage(m: MessageBytes): number {
  return m.senderWritten + m.senderRead + m.receiverWritten + m.receiverRead;
}

function perExchange(k: KeepaliveBytes): number {
  return k.written + k.read;
}

function wireRows(ctx: Ctx, data: MqttRuns): Row[] {
  const p = ctx.params.s12;
  const rows: Row[] = [];
  const msg = (t: Transport): MessageBytes | undefined => data.wire.find((m) => m.transport === t);
  const ws = msg('ws');
  const breakdown = data.wire
    .map((m) => `${transportName(m.transport)}: sender ↑${m.senderWritten.toFixed(0)} ↓${m.senderRead.toFixed(0)}, receiver ↑${m.receiverWritten.toFixed(0)} ↓${m.receiverRead.toFixed(0)}`)
    .join('; ');
  const what = `${p.wireBodyChars}-char body: SEND + ACK + DELIVER with their acks, both clients, both ways`;
  for (const [t, label] of [
    ['mqtt5', 'MQTT 5, topic alias allowed'],
    ['mqtt311', 'MQTT 3.1.1'],
    ['longpoll', 'long-poll (HTTP, headers included)'],
  ] as const) {
    const m = msg(t);
    if (!m || !ws) continue;
    const note =
      t === 'mqtt5'
        ? `bytes above TCP on the client sockets (bytesWritten/bytesRead), ${p.wireMessages} messages one at a time, per message; ours = ${transportName(t)}, baseline = WebSocket. ${breakdown}`
        : t === 'longpoll'
          ? "node:http's own request headers (Host, Connection, Content-Type, Content-Length): a browser sends more"
          : undefined;
    rows.push(info('S12', `(c) bytes per message, ${label} (${what})`, 'B', perMessage(m), perMessage(ws), null, null, note));
  }
  const ka = (t: Transport): KeepaliveBytes | undefined => data.keepalive.find((k) => k.transport === t);
  const wsKa = ka('ws');
  const mq5 = ka('mqtt5');
  const mq3 = ka('mqtt311');
  const lp = ka('longpoll');
  if (wsKa) {
    const wsHour = (perExchange(wsKa) * 3_600_000) / p.heartbeatMs;
    const kaNote = `measured on one idle session: WebSocket ${perExchange(wsKa).toFixed(0)} B (server ping + pong) over ${wsKa.exchanges} pings; MQTT ${mq3 ? perExchange(mq3).toFixed(0) : '—'} (3.1.1) / ${mq5 ? perExchange(mq5).toFixed(0) : '—'} (5) B (PINGREQ + PINGRESP) over ${mq5?.exchanges ?? '—'}; long-poll ${lp ? perExchange(lp).toFixed(0) : '—'} B (an empty poll answer + the next poll) over ${lp?.exchanges ?? '—'}${lp?.polls !== undefined && lp.polls !== lp.exchanges ? ` (polls seen: ${lp.polls}, expected ${lp.exchanges}: noisy)` : ''}`;
    if (mq5) rows.push(info('S12', '(c) bytes per keep-alive exchange: MQTT PINGREQ + PINGRESP / WebSocket ping + pong', 'B', perExchange(mq5), perExchange(wsKa), null, null, kaNote));
    if (lp) rows.push(info('S12', '(c) bytes per keep-alive exchange: long-poll empty answer + next poll / WebSocket ping + pong', 'B', perExchange(lp), perExchange(wsKa)));
    const hourNote = `computed, not measured over an hour: bytes of one measured exchange × exchanges per hour (MQTT 3600 / keep-alive, WebSocket 3600 / HEARTBEAT_MS ${p.heartbeatMs / 1000} s, long-poll 3600 / ${p.lpPollMs / 1000} s). Above TCP only: each exchange also costs at least 2 TCP segments (~52 B of IPv4+TCP headers each with timestamps, plus any bare ACK), which matter more than the payload at these sizes`;
    p.keepalivesS.forEach((s, i) => {
      if (mq5) rows.push(info('S12', `(c) bytes per idle hour per session: MQTT keep-alive ${s} s / WebSocket ping every ${p.heartbeatMs / 1000} s`, 'B', (perExchange(mq5) * 3600) / s, wsHour, null, null, i === 0 ? hourNote : undefined));
    });
    if (lp) rows.push(info('S12', `(c) bytes per idle hour per session: long-poll, one poll per ${p.lpPollMs / 1000} s / WebSocket`, 'B', (perExchange(lp) * 3_600_000) / p.lpPollMs, wsHour));
  }
  data.encodings.forEach((f, i) => {
    const note = i === 0 ? 'frames as our server wrote them (the SEND as the bench sends it), decoded and encoded again: @msgpack/msgpack, cbor-x without records and with minimal map headers; keys stay strings in both' : undefined;
    rows.push(info('S12', `(d) ${f.name}: MessagePack / JSON`, 'B', f.msgpack, f.json, null, null, note));
    rows.push(info('S12', `(d) ${f.name}: CBOR / JSON`, 'B', f.cbor, f.json));
  });
  return rows;
}

function idleRows(data: MqttRuns): Row[] {
  const w = data.idle.ws;
  if (!w) return [];
  const rows: Row[] = [];
  for (const t of mqtts) {
    const m: IdleRun | null = data.idle[t];
    if (!m) continue;
    const n = `${m.measured.toLocaleString('en-US')} / ${w.measured.toLocaleString('en-US')} sessions`;
    const notes = [
      t === 'mqtt311' ? 'ours = MQTT, baseline = WebSocket, each on a fresh server of ours' : '',
      m.failed + w.failed > 0 ? `failed to open: ${transportName(t)} ${m.failed}, WebSocket ${w.failed}` : '',
      m.serverSessions !== null && m.serverSessions !== m.sessions ? `${transportName(t)}: server counts ${m.serverSessions} sessions, load generators ${m.sessions}` : '',
      t === 'mqtt311' && w.serverSessions !== null && w.serverSessions !== w.sessions ? `WebSocket: server counts ${w.serverSessions} sessions, load generators ${w.sessions}` : '',
    ].filter(Boolean);
    rows.push(
      // Nothing measured (every session failed) is no figure, and no PASS.
      row('S12', `(a) RSS per idle session, ${transportName(t)} (${n})`, 'KB', m.measured > 0 ? m.rssPerSession / KB : null, w.rssPerSession / KB, '≤ WebSocket', (v, base) => base !== null && v <= base, notes.join('; ') || undefined),
      info('S12', `(a) V8 heap per idle session, ${transportName(t)}`, 'KB', m.measured > 0 ? m.heapPerSession / KB : null, w.heapPerSession / KB),
      info('S12', `(a) server sockets per idle session, ${transportName(t)}`, 'sockets', m.measured > 0 ? m.fdsPerSession : null, w.fdsPerSession),
    );
  }
  return rows;
}

function trafficRows(data: MqttRuns): Row[] {
  const w = data.traffic.ws;
  if (!w) return [];
  const r = `@ ${data.rate.toLocaleString('en-US')}/s`;
  const errs = (run: PhaseRun): string => (Object.keys(run.errors).length > 0 ? JSON.stringify(run.errors) : '');
  const rows: Row[] = [];
  // The CPU baseline is the mean of the WebSocket runs before and after the MQTT ones, so
  // a drift over the scenario (the data directory grows with every run) falls on both sides.
  const after = data.traffic.wsAfter;
  const wsCpu = after ? (w.cpuUsPerDelivery + after.cpuUsPerDelivery) / 2 : w.cpuUsPerDelivery;
  const wsRuns = after ? `WebSocket ${w.cpuUsPerDelivery.toFixed(0)} µs before the MQTT runs and ${after.cpuUsPerDelivery.toFixed(0)} µs after, the baseline their mean` : '';
  const runs = [
    ...mqtts.map((t) => ({ t, m: data.traffic[t], qos0: false })),
    { t: 'mqtt311' as const, m: data.traffic.mqtt311Qos0, qos0: true },
    { t: 'mqtt5' as const, m: data.traffic.mqtt5Qos0, qos0: true },
  ];
  for (const { t, m, qos0 } of runs) {
    if (!m) continue;
    const name = qos0 ? `${transportName(t)} at QoS 0 both ways, as the SDK` : transportName(t);
    const notes = [
      qos0
        ? 'ours = MQTT at QoS 0 both ways as the SDK speaks it (frames published at QoS 0, the device topic subscribed at QoS 0): no PUBACKs; baseline = WebSocket'
        : 'ours = MQTT at QoS 1 (the clients PUBACK), baseline = WebSocket, each on a fresh server of ours',
      wsRuns,
      m.undelivered + w.undelivered + (after?.undelivered ?? 0) > 0
        ? `undelivered, charged at the drain time: ${name} ${m.undelivered}, WebSocket ${w.undelivered}${after ? ` and ${after.undelivered} after` : ''}`
        : '',
      errs(m) ? `${name} errors ${errs(m)}` : '',
      errs(w) ? `WebSocket errors ${errs(w)}` : '',
      after && errs(after) ? `WebSocket (after) errors ${errs(after)}` : '',
      Math.max(m.otherCpuPct, w.otherCpuPct) > 10 ? `other processes used ${m.otherCpuPct.toFixed(0)}% / ${w.otherCpuPct.toFixed(0)}% of a core: noisy` : '',
    ].filter(Boolean);
    rows.push(
      row('S12', `(b) ${r}: server CPU per delivered message, ${name}`, 'µs', m.cpuUsPerDelivery, wsCpu, '≤ 1.2x WebSocket', (v, base) => base !== null && v <= 1.2 * base, notes.join('; ')),
      info('S12', `(b) ${r}: achieved send rate, ${name}`, 'msg/s', m.sentInWindow / m.windowSec, w.sentInWindow / w.windowSec),
      info('S12', `(b) ${r}: server CPU busy (1 core = 100%), ${name}`, '%', m.serverCpuPct, w.serverCpuPct),
      info('S12', `(b) ${r}: send→deliver p50, ${name}`, 'ms', m.latency.p50 / 1000, w.latency.p50 / 1000),
      info('S12', `(b) ${r}: send→deliver p99, ${name}`, 'ms', m.latency.p99 / 1000, w.latency.p99 / 1000),
      info('S12', `(b) ${r}: send→ACK p99, ${name}`, 'ms', m.ackLatency.p99 / 1000, w.ackLatency.p99 / 1000),
      info('S12', `(b) ${r}: load generators CPU (1 core = 100%), ${name}`, '%', m.loadgenCpuPct, w.loadgenCpuPct),
      info('S12', `(b) ${r}: other processes CPU, not the bench, ${name}`, '%', m.otherCpuPct, w.otherCpuPct),
    );
  }
  return rows;
}

export async function runS12(ctx: Ctx): Promise<Row[]> {
  const p = ctx.params.s12;
  const data: MqttRuns = { rate: p.rate, idle: { ws: null, mqtt311: null, mqtt5: null }, traffic: { ws: null, mqtt311: null, mqtt5: null, mqtt311Qos0: null, mqtt5Qos0: null, wsAfter: null }, wire: [], keepalive: [], encodings: [] };
  ctx.results.s12 = data;
  for (const t of ['ws', ...mqtts] as const) {
    await part(ctx, `(a) idle ${transportName(t)}`, async () => {
      data.idle[t] = await idleSessions(ctx, t, p, `S12-idle-${t}`);
    });
  }
  for (const t of ['ws', ...mqtts] as const) {
    await part(ctx, `(b) traffic ${transportName(t)}`, async () => {
      data.traffic[t] = await transportTraffic(ctx, t, p, `S12-${t}`);
    });
  }
  for (const t of mqtts) {
    await part(ctx, `(b) traffic ${transportName(t)} at QoS 0`, async () => {
      data.traffic[t === 'mqtt5' ? 'mqtt5Qos0' : 'mqtt311Qos0'] = await transportTraffic(ctx, t, p, `S12-${t}-qos0`, true);
    });
  }
  await part(ctx, '(b) traffic WebSocket, again', async () => {
    data.traffic.wsAfter = await transportTraffic(ctx, 'ws', p, 'S12-ws-after');
  });
  const probe: Probe = new Forked<ToWire, FromWire>('lg-wire.js', 'S12 wire probe');
  try {
    await part(ctx, '(c, d) bytes per message and encodings', () => wireMessages(ctx, probe, data));
    await part(ctx, '(c) bytes per keep-alive exchange', () => wireKeepalive(ctx, probe, data));
  } finally {
    probe.stop();
  }
  return [...idleRows(data), ...trafficRows(data), ...wireRows(ctx, data)];
}

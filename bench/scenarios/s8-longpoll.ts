/**
 * S8 long-poll against WebSocket, both on our server, in the same run: the same 1:1
 * traffic (S3's pairs, open loop at one fixed rate well under saturation) driven once
 * over WebSocket and once over long-poll (lg-longpoll.ts: one poll outstanding per
 * session, sends of a turn batched into one POST), each on a fresh server. Measured as S3
 * measures: server CPU per delivered message (/proc utime+stime over the window) and
 * send→DELIVER latency from the scheduled send time (CLOCK_MONOTONIC, undelivered sends
 * charged at the drain time). Then, on two more fresh servers, idle sessions of each
 * transport, measured as S1 measures connections (VmRSS and heap growth after a full GC,
 * past a warm-up). No target: INFO rows, "ours" = long-poll, "baseline" = WebSocket, so
 * the ratio column is long-poll / WebSocket.
 */
import type { Ctx } from '../context';
import { row, type PhaseRun, type Row, type TransportRuns } from '../results';
import { idleSessions, transportTraffic } from '../transports';

const KB = 1024;

function info(...args: Parameters<typeof row>): Row {
  return { ...row(...args), info: true };
}

export async function runS8(ctx: Ctx): Promise<Row[]> {
  const p = ctx.params.s8;
  const data: TransportRuns = { rate: p.rate, ws: null, longpoll: null, idleWs: null, idleLongpoll: null };
  ctx.results.s8 = data;
  data.ws = await transportTraffic(ctx, 'ws', p, 'S8-ws');
  data.longpoll = await transportTraffic(ctx, 'longpoll', p, 'S8-longpoll');
  data.idleWs = await idleSessions(ctx, 'ws', p, 'S8-idle-ws');
  data.idleLongpoll = await idleSessions(ctx, 'longpoll', p, 'S8-idle-longpoll');
  const l = data.longpoll;
  const w = data.ws;
  const r = `@ ${p.rate.toLocaleString('en-US')}/s`;
  const errs = (run: PhaseRun): string => (Object.keys(run.errors).length > 0 ? JSON.stringify(run.errors) : '');
  const notes = [
    'columns: ours = long-poll, baseline = WebSocket (both our server); ratio = long-poll / WebSocket',
    l.undelivered + w.undelivered > 0 ? `undelivered, charged at the drain time: long-poll ${l.undelivered}, WebSocket ${w.undelivered}` : '',
    errs(l) ? `long-poll errors ${errs(l)}` : '',
    errs(w) ? `WebSocket errors ${errs(w)}` : '',
    Math.max(l.otherCpuPct, w.otherCpuPct) > 10 ? `other processes used ${l.otherCpuPct.toFixed(0)}% / ${w.otherCpuPct.toFixed(0)}% of a core: noisy` : '',
  ];
  const delivered = l.deliveredPerSec * l.windowSec;
  const requests = (l.lpPolls ?? 0) + (l.lpSends ?? 0);
  const iw = data.idleWs;
  const il = data.idleLongpoll;
  const n = `${il.measured.toLocaleString('en-US')} / ${iw.measured.toLocaleString('en-US')} sessions`;
  const idleNote = [
    il.failed + iw.failed > 0 ? `failed to open: long-poll ${il.failed}, WebSocket ${iw.failed}` : '',
    il.serverSessions !== null && il.serverSessions !== il.sessions ? `long-poll: server counts ${il.serverSessions} sessions, load generators ${il.sessions}` : '',
    iw.serverSessions !== null && iw.serverSessions !== iw.sessions ? `WebSocket: server counts ${iw.serverSessions} sessions, load generators ${iw.sessions}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return [
    info('S8', `${r}: achieved send rate`, 'msg/s', l.sentInWindow / l.windowSec, w.sentInWindow / w.windowSec, null, null, notes.filter(Boolean).join('; ')),
    info('S8', `${r}: server CPU per delivered message`, 'µs', l.cpuUsPerDelivery, w.cpuUsPerDelivery),
    info('S8', `${r}: server CPU busy (1 core = 100%)`, '%', l.serverCpuPct, w.serverCpuPct),
    info('S8', `${r}: send→deliver p50`, 'ms', l.latency.p50 / 1000, w.latency.p50 / 1000),
    info('S8', `${r}: send→deliver p99`, 'ms', l.latency.p99 / 1000, w.latency.p99 / 1000),
    info('S8', `${r}: send→deliver p99.9`, 'ms', l.latency.p999 / 1000, w.latency.p999 / 1000),
    info('S8', `${r}: send→ACK p99`, 'ms', l.ackLatency.p99 / 1000, w.ackLatency.p99 / 1000),
    info('S8', `${r}: HTTP requests per delivered message`, 'req', delivered > 0 ? requests / delivered : null, null),
    info('S8', `${r}: load generators CPU (1 core = 100%)`, '%', l.loadgenCpuPct, w.loadgenCpuPct),
    info('S8', `${r}: other processes CPU, not the bench`, '%', l.otherCpuPct, w.otherCpuPct),
    info('S8', `RSS per idle session (${n})`, 'KB', il.rssPerSession / KB, iw.rssPerSession / KB, null, null, idleNote || undefined),
    info('S8', 'V8 heap per idle session', 'KB', il.heapPerSession / KB, iw.heapPerSession / KB),
    info('S8', 'server sockets per idle session', 'sockets', il.fdsPerSession, iw.fdsPerSession),
  ];
}

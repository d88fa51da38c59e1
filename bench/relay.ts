/**
 * The baseline: a bare `ws` relay speaking the same frames as the real server, so the
 * same load generator drives both. CONNECT → CONNACK (no auth: the token's subject is
 * read, not verified; membership comes from the keys of sync.convs); SEND → ACK to the
 * sender and one DELIVER, serialised once, to every other member's socket. No storage,
 * no sequencer beyond a counter per conversation, no validation beyond JSON.parse.
 * Runs in its own process (forked by the orchestrator with --expose-gc), port in argv[2].
 * Listeners are module-level, as in the real gateway, so memory per connection compares
 * like with like. With a ping interval in argv[3] (S11) it also heartbeats as the server
 * does: one timer pings every socket each interval, and one that answered no ping since the
 * last sweep is terminated. Off by default, so the other scenarios' floor stays what it was.
 */
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { FromRelay, ToRelay } from './ipc';

interface Conn {
  user: string;
  convs: string[];
}

const kConn = Symbol('conn');
const kAlive = Symbol('alive');
type RelaySocket = WebSocket & { [kConn]?: Conn; [kAlive]?: boolean };

/** conv_id -> sockets of its members that are connected */
const members = new Map<string, Set<RelaySocket>>();
const counters = new Map<string, number>();

interface Frame {
  type?: string;
  token?: string;
  device_id?: string;
  sync?: { convs?: Record<string, number> };
  client_msg_id?: string;
  conv_id?: string;
  body?: string;
}

function subjectOf(token: string | undefined): string {
  try {
    const payload = JSON.parse(Buffer.from((token ?? '').split('.')[1] ?? '', 'base64url').toString()) as { sub?: string };
    return payload.sub ?? 'anonymous';
  } catch {
    return 'anonymous';
  }
}

function onMessage(this: RelaySocket, data: RawData): void {
  let f: Frame;
  try {
    f = JSON.parse(data.toString()) as Frame;
  } catch {
    return;
  }
  const conn = this[kConn];
  if (f.type === 'CONNECT' && !conn) return connect(this, f);
  if (!conn) return;
  if (f.type === 'SEND' && f.conv_id && f.client_msg_id) return relay(this, conn, f.conv_id, f.client_msg_id, f.body ?? '');
  if (f.type === 'PING') this.send(`{"type":"PONG","ts":${Date.now()}}`);
}

function connect(ws: RelaySocket, f: Frame): void {
  const conn: Conn = { user: subjectOf(f.token), convs: Object.keys(f.sync?.convs ?? {}) };
  ws[kConn] = conn;
  for (const c of conn.convs) {
    let set = members.get(c);
    if (!set) members.set(c, (set = new Set()));
    set.add(ws);
  }
  const now = Date.now();
  ws.send(
    JSON.stringify({
      type: 'CONNACK',
      session_id: 's_' + conn.user,
      user_id: conn.user,
      device_id: f.device_id ?? '',
      server_ts: now,
      heartbeat_ms: 25_000,
      missed: [],
      more: false,
      inbox: [],
      inbox_cursor: String(now),
    }),
  );
}

function relay(ws: RelaySocket, conn: Conn, convId: string, clientMsgId: string, body: string): void {
  const seq = (counters.get(convId) ?? 0) + 1;
  counters.set(convId, seq);
  const ts = Date.now();
  ws.send(JSON.stringify({ type: 'ACK', client_msg_id: clientMsgId, conv_id: convId, seq, ts }));
  const bytes = Buffer.from(
    JSON.stringify({
      type: 'DELIVER',
      conv_id: convId,
      seq,
      ts,
      sender_id: conn.user,
      kind: 'message',
      body,
      reply_to: null,
      attachments: [],
      mentions: [],
      client_msg_id: clientMsgId,
    }),
  );
  for (const other of members.get(convId) ?? []) if (other !== ws) other.send(bytes, { binary: false });
}

function onClose(this: RelaySocket): void {
  const conn = this[kConn];
  if (!conn) return;
  for (const c of conn.convs) {
    const set = members.get(c);
    set?.delete(this);
    if (set?.size === 0) members.delete(c);
  }
}

function onError(): void {
  // 'close' follows; nothing to clean up here.
}

function onPong(this: RelaySocket): void {
  this[kAlive] = true;
}

/** Sockets pinged by the heartbeat (only when it is on). */
const sockets = new Set<RelaySocket>();

function untrack(this: RelaySocket): void {
  sockets.delete(this);
}

function sweep(): void {
  for (const ws of sockets) {
    if (ws[kAlive] === false) {
      ws.terminate();
      continue;
    }
    ws[kAlive] = false;
    ws.ping();
  }
}

const port = Number(process.argv[2] ?? 0);
const pingMs = Number(process.argv[3] ?? 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: false, maxPayload: 1 << 20 });
wss.on('connection', (ws: RelaySocket) => {
  ws.on('message', onMessage);
  ws.on('close', onClose);
  ws.on('error', onError);
  if (pingMs > 0) {
    ws[kAlive] = true;
    sockets.add(ws);
    ws.on('pong', onPong);
    ws.on('close', untrack);
  }
});
if (pingMs > 0) setInterval(sweep, pingMs);
wss.on('listening', () => {
  const address = wss.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.send?.({ op: 'ready', port: actual } satisfies FromRelay);
});

process.on('message', (msg: ToRelay) => {
  if (msg.op === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ op: 'gc-done', heapUsed: process.memoryUsage().heapUsed } satisfies FromRelay);
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

/**
 * S10's clients, a child process of their own (forked by scenarios/s10-push.ts, never inside
 * the server): first the floor (push-floor.ts), while nothing else of the bench runs; then
 * the WebSocket devices that are online: the sender, and the readers' second devices of
 * S10 (c). The sender sends one message per conversation on an open-loop schedule and
 * records when each was sent and ACKed; a reader sends READ and records when. Frames here
 * are few, so they are parsed. Times are monotonic ms (clock.ts), shared with the push
 * service's process.
 */
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { newSortableId } from '../src/protocol/ids';
import { nowMs, sleepUntil } from './clock';
import { measureFloor, type FloorRun } from './push-floor';

/** An online device: the user's id, its device id, the conversations it syncs. */
export interface OnlineDevice {
  user: string;
  device: string;
  convs: string[];
}

/** One SEND: when it left and when its ACK came back (monotonic ms), and the seq it got. */
export interface SentRecord {
  conv: string;
  seq: number;
  sentAt: number;
  ackAt: number;
}

export interface ReadRecord {
  device: number;
  conv: string;
  seq: number;
  sentAt: number;
}

export type ToPushClients =
  | { op: 'floor'; port: number; ca: string; alone: number; pushes: number; concurrency: number }
  | { op: 'connect'; wsUrl: string; secret: string; devices: OnlineDevice[] }
  /** `device` sends one message to each of `convs`, evenly spread from `startAt` at `rate`/s. */
  | { op: 'send'; device: number; convs: string[]; startAt: number; rate: number }
  /** Each read: `device` reads `conv` up to `seq`, at `rate`/s from `startAt`. */
  | { op: 'read'; reads: { device: number; conv: string; seq: number }[]; startAt: number; rate: number }
  | { op: 'close' };

export type FromPushClients =
  | { op: 'floored'; runs: FloorRun[] }
  | { op: 'connected' }
  | { op: 'sent'; records: SentRecord[]; errors: Record<string, number> }
  | { op: 'read'; records: ReadRecord[] }
  | { op: 'closed' }
  | { op: 'error'; message: string };

interface Frame {
  type: string;
  client_msg_id?: string;
  seq?: number;
  code?: string;
}

let sockets: WebSocket[] = [];
/** client_msg_id -> the pending SEND. */
const pending = new Map<string, { conv: string; sentAt: number; done: (f: Frame, at: number) => void }>();

function reply(m: FromPushClients): void {
  process.send?.(m);
}

function open(wsUrl: string, secret: string, d: OnlineDevice): Promise<WebSocket> {
  const token = jwt.sign({}, secret, { algorithm: 'HS256', subject: d.user, expiresIn: 6 * 3600 });
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    let ready = false;
    const sync = Object.fromEntries(d.convs.map((c) => [c, Number.MAX_SAFE_INTEGER]));
    ws.once('open', () => ws.send(JSON.stringify({ type: 'CONNECT', token, device_id: d.device, sync: { convs: sync } })));
    ws.on('message', (data: Buffer) => {
      const at = nowMs();
      const f = JSON.parse(data.toString()) as Frame;
      if (!ready) {
        if (f.type === 'CONNACK') {
          ready = true;
          resolve(ws);
        } else if (f.type === 'ERROR') reject(new Error(`CONNECT refused: ${f.code}`));
        return;
      }
      if ((f.type === 'ACK' || f.type === 'ERROR') && f.client_msg_id !== undefined) pending.get(f.client_msg_id)?.done(f, at);
    });
    ws.once('error', reject);
    ws.once('close', (code) => {
      if (!ready) reject(new Error(`closed ${code} before CONNACK`));
    });
  });
}

async function send(m: Extract<ToPushClients, { op: 'send' }>): Promise<void> {
  const ws = sockets[m.device];
  const records: SentRecord[] = [];
  const errors: Record<string, number> = {};
  const acks: Promise<void>[] = [];
  for (const [i, conv] of m.convs.entries()) {
    await sleepUntil(m.startAt + (i * 1000) / m.rate);
    const id = newSortableId('m');
    const sentAt = nowMs();
    acks.push(
      new Promise<void>((resolve) => {
        pending.set(id, {
          conv,
          sentAt,
          done: (f, at) => {
            pending.delete(id);
            if (f.type === 'ACK') records.push({ conv, seq: f.seq as number, sentAt, ackAt: at });
            else errors[f.code ?? 'error'] = (errors[f.code ?? 'error'] ?? 0) + 1;
            resolve();
          },
        });
      }),
    );
    ws.send(JSON.stringify({ type: 'SEND', client_msg_id: id, conv_id: conv, body: `push bench message ${i} to ${conv}` }));
  }
  const timeout = new Promise<void>((r) => setTimeout(r, 30_000).unref());
  await Promise.race([Promise.all(acks), timeout]);
  if (pending.size > 0) errors.no_ack = pending.size;
  pending.clear();
  reply({ op: 'sent', records, errors });
}

async function read(m: Extract<ToPushClients, { op: 'read' }>): Promise<void> {
  const records: ReadRecord[] = [];
  for (const [i, r] of m.reads.entries()) {
    await sleepUntil(m.startAt + (i * 1000) / m.rate);
    records.push({ ...r, sentAt: nowMs() });
    sockets[r.device].send(JSON.stringify({ type: 'READ', conv_id: r.conv, seq: r.seq }));
  }
  reply({ op: 'read', records });
}

async function handle(m: ToPushClients): Promise<void> {
  switch (m.op) {
    case 'floor': {
      const runs: FloorRun[] = [];
      for (const connection of ['keep-alive', 'per-push'] as const) runs.push(await measureFloor(m.port, m.ca, connection, m.alone, m.pushes, m.concurrency));
      return reply({ op: 'floored', runs });
    }
    case 'connect':
      sockets = [];
      for (const d of m.devices) sockets.push(await open(m.wsUrl, m.secret, d));
      return reply({ op: 'connected' });
    case 'send':
      return send(m);
    case 'read':
      return read(m);
    case 'close':
      for (const ws of sockets) ws.close(1000);
      sockets = [];
      return reply({ op: 'closed' });
  }
}

process.on('message', (m: ToPushClients) => {
  handle(m).catch((err: unknown) => reply({ op: 'error', message: err instanceof Error ? err.message : String(err) }));
});
process.on('disconnect', () => process.exit(0));

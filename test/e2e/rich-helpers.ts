/**
 * Helpers of the rich-message e2e suites (rich-*.test.ts): devices, the REACT/EDIT/DELETE
 * round trip, history and inbox reads, a scan of the store for text that must be gone,
 * and throwaway HTTP servers that count what the link-preview fetcher asks them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { TestSocket, http, type Frame, type HttpResult, type TestServer, type TestUser } from './harness';

/** One connected device of a user. */
export interface Device {
  user: TestUser;
  deviceId: string;
  sock: TestSocket;
  connack: Frame;
}

export async function connectDevice(server: TestServer, user: TestUser, deviceId: string, sync?: unknown): Promise<Device> {
  const { sock, connack } = await TestSocket.connect(server.wsUrl, user.token, deviceId, sync);
  return { user, deviceId, sock, connack };
}

export function closeAll(devices: Device[]): void {
  for (const d of devices) d.sock.close();
}

let idCounter = 0;
/** A client_msg_id unique within this process. */
export function cmid(prefix = 'c'): string {
  return `${prefix}-${process.pid}-${++idCounter}`;
}

/** Sends a frame that carries a client_msg_id and waits for the ACK or ERROR answering it. */
export async function request(sock: TestSocket, frame: { type: string; client_msg_id: string } & Record<string, unknown>): Promise<Frame> {
  sock.send(frame);
  return sock.next(
    (f) => (f.type === 'ACK' && f.client_msg_id === frame.client_msg_id) || (f.type === 'ERROR' && f.ref === frame.client_msg_id),
  );
}

export function react(sock: TestSocket, convId: string, targetSeq: number, emoji: string | null, id = cmid('react')): Promise<Frame> {
  return request(sock, { type: 'REACT', client_msg_id: id, conv_id: convId, target_seq: targetSeq, emoji });
}

export function edit(sock: TestSocket, convId: string, targetSeq: number, body: string, id = cmid('edit')): Promise<Frame> {
  return request(sock, { type: 'EDIT', client_msg_id: id, conv_id: convId, target_seq: targetSeq, body });
}

/** DELETE ("unsend"). */
export function unsend(sock: TestSocket, convId: string, targetSeq: number, id = cmid('del')): Promise<Frame> {
  return request(sock, { type: 'DELETE', client_msg_id: id, conv_id: convId, target_seq: targetSeq });
}

export function send(sock: TestSocket, convId: string, body: string, extra: Record<string, unknown> = {}, id = cmid('msg')): Promise<Frame> {
  return sock.sendMessage(convId, body, id, extra);
}

/** Asserts the answer is an ACK of a new event (not a duplicate) and returns its seq. */
export function acked(answer: Frame): number {
  expect(answer).toMatchObject({ type: 'ACK', seq: expect.any(Number), ts: expect.any(Number) });
  expect(answer.duplicate).toBeUndefined();
  return answer.seq as number;
}

/** Sends a message and returns its seq, failing unless it was ACKed. */
export async function sendOk(sock: TestSocket, convId: string, body: string, extra: Record<string, unknown> = {}): Promise<number> {
  return acked(await send(sock, convId, body, extra));
}

/** Asserts `answer` is the ERROR `code` answering `ref`. */
export function expectRefused(answer: Frame, code: string, ref: string | null): void {
  expect(answer).toEqual({ type: 'ERROR', code, message: expect.any(String), ref });
}

/** Matches the DELIVER of event `seq` of `convId` (of `kind` when given). */
export function deliverOf(convId: string, seq: number, kind?: string): (f: Frame) => boolean {
  return (f) => f.type === 'DELIVER' && f.conv_id === convId && f.seq === seq && (kind === undefined || f.kind === kind);
}

/** Matches any DELIVER of `kind` in `convId` (about `targetSeq` when given). */
export function deliverKind(convId: string, kind: string, targetSeq?: number): (f: Frame) => boolean {
  return (f) => f.type === 'DELIVER' && f.conv_id === convId && f.kind === kind && (targetSeq === undefined || f.target_seq === targetSeq);
}

/** Waits for the DELIVER of event `seq` on each device and checks its fields. */
export async function expectDelivered(devices: Device[], convId: string, seq: number, fields: Record<string, unknown>, timeoutMs = 5000): Promise<void> {
  for (const d of devices) {
    const f = await d.sock.next(deliverOf(convId, seq), timeoutMs);
    expect({ device: d.deviceId, ...f }).toMatchObject({ device: d.deviceId, conv_id: convId, seq, ...fields });
  }
}

/** Waits until `ms` has passed and asserts no DELIVER of event `seq` reached any of `devices`. */
export async function expectNotDelivered(devices: Device[], convId: string, seq: number, ms = 300): Promise<void> {
  await Promise.all(devices.map((d) => d.sock.none(deliverOf(convId, seq), ms)));
}

/** The READ_SYNC frame carrying the user's whole read state of a conversation. */
export function readSync(convId: string, lastReadSeq: number, unread: number, unreadMentions = 0, markedUnread = false): Frame {
  return { type: 'READ_SYNC', conv_id: convId, last_read_seq: lastReadSeq, unread, unread_mentions: unreadMentions, marked_unread: markedUnread };
}

/**
 * Waits for the next READ_SYNC of `convId` on each device (the next one `match` accepts, when
 * given) and checks it equals `expected`.
 */
export async function expectReadSync(devices: Device[], expected: Frame, match: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<void> {
  for (const d of devices) {
    const f = await d.sock.next((x) => x.type === 'READ_SYNC' && x.conv_id === expected.conv_id && match(x), timeoutMs);
    expect({ device: d.deviceId, ...f }).toEqual({ device: d.deviceId, ...expected });
  }
}

// ---- REST reads ----

/** A REST call under /api/v1 as `user`. */
export const api = (server: TestServer, user: TestUser, method: string, path: string, body?: unknown): Promise<HttpResult<any>> =>
  http(server.url, method, '/api/v1' + path, body, user.token);

/** History rows of a conversation, ascending (the newest `limit`). */
export async function history(server: TestServer, user: TestUser, convId: string, limit = 200): Promise<Frame[]> {
  const res = await api(server, user, 'GET', `/conversations/${convId}/messages?limit=${limit}`);
  expect(res.status).toBe(200);
  return res.body.messages as Frame[];
}

/** The history row of message `seq`; fails the test when it is absent. */
export async function historyRow(server: TestServer, user: TestUser, convId: string, seq: number): Promise<Frame> {
  const row = (await history(server, user, convId)).find((m) => m.seq === seq);
  if (!row) throw new Error(`no history row for seq ${seq} in ${convId}`);
  return row;
}

/** The whole log of a conversation as /events returns it. */
export async function events(server: TestServer, user: TestUser, convId: string, after = 0): Promise<Frame[]> {
  const res = await api(server, user, 'GET', `/conversations/${convId}/events?after=${after}&limit=1000`);
  expect(res.status).toBe(200);
  return res.body.events as Frame[];
}

/** The user's inbox row of a conversation (GET /conversations); fails when absent. */
export async function inboxRow(server: TestServer, user: TestUser, convId: string): Promise<Frame> {
  const res = await api(server, user, 'GET', '/conversations?limit=200');
  expect(res.status).toBe(200);
  const row = (res.body.conversations as Frame[]).find((r) => r.conv_id === convId);
  if (!row) throw new Error(`no inbox row for ${convId}`);
  return row;
}

/** The inbox row of `convId` in a CONNACK; fails when absent. */
export function connackRow(connack: Frame, convId: string): Frame {
  const row = (connack.inbox as Frame[]).find((r) => r.conv_id === convId);
  if (!row) throw new Error(`no CONNACK inbox row for ${convId}`);
  return row;
}

// ---- storage ----

/**
 * Whether any row of any table of the server's database holds `needle` (as text, JSON
 * included). Schema-agnostic on purpose: "removed from storage" means from every table.
 */
export function storageContains(server: TestServer, needle: string): boolean {
  const db = new Database(join(server.dataDir, 'chat.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).iterate()) {
        const values = Object.values(row as Record<string, unknown>);
        if (values.some((v) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : '').includes(needle))) return true;
      }
    }
    return false;
  } finally {
    db.close();
  }
}

// ---- HTTP servers for link previews ----

/** A throwaway HTTP server on one address that records every request path. */
export interface PageServer {
  host: string;
  port: number;
  /** `http://host:port`, IPv6 hosts in brackets. */
  origin: string;
  /** Paths (with query) of every request received, in order. */
  hits: string[];
  /** Requests whose connection was closed, with how long after arrival (ms). */
  closedAfter: Map<string, number>;
  close(): Promise<void>;
}

export type PageHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Starts a server on `host` (and `port`, 0 for any); rejects when the address cannot be bound. */
export async function startPageServer(host: string, handler: PageHandler, port = 0): Promise<PageServer> {
  const hits: string[] = [];
  const closedAfter = new Map<string, number>();
  const sockets = new Set<import('node:net').Socket>();
  const srv: Server = createServer((req, res) => {
    const path = req.url ?? '';
    hits.push(path);
    const started = Date.now();
    res.on('close', () => closedAfter.set(path, Date.now() - started));
    handler(req, res);
  });
  srv.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => resolve());
  });
  const bound = (srv.address() as AddressInfo).port;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  return {
    host,
    port: bound,
    origin,
    hits,
    closedAfter,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** An HTML page with the given head tags. */
export function htmlPage(head: string, body = '<p>hello</p>'): string {
  return `<!doctype html><html><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`;
}

/** An HTML page that would give a full preview: served by servers that must never be asked. */
export const bait = htmlPage('<title>bait</title><meta property="og:title" content="SSRF bait"><meta property="og:description" content="must not be fetched">');

/** Two devices of each of two users, connected without sync. */
export interface FourDevices {
  a1: Device;
  a2: Device;
  b1: Device;
  b2: Device;
}

export async function fourDevices(server: TestServer, alice: TestUser, bob: TestUser, tag = cmid('dev')): Promise<FourDevices> {
  const [a1, a2, b1, b2] = await Promise.all([
    connectDevice(server, alice, `${tag}-a1`),
    connectDevice(server, alice, `${tag}-a2`),
    connectDevice(server, bob, `${tag}-b1`),
    connectDevice(server, bob, `${tag}-b2`),
  ]);
  return { a1, a2, b1, b2 };
}

/** The events of `convId` in a CONNACK's `missed` (entries have no `type`). */
export function missedOf(connack: Frame, convId: string): Frame[] {
  return (connack.missed as Frame[]).filter((e) => e.conv_id === convId);
}

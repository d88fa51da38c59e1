/**
 * A scripted stand-in for the server, for SDK unit tests: a real `ws` WebSocketServer at
 * `/ws` and a node `http` server for `/api/v1`, both on one ephemeral port. Tests read
 * the client's frames in order and answer with whatever frames they script.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { ChatClient, type ChatClientOptions, type ChatEvents } from '../../src/client';
import type { ClientFrame, ConnackFrame, ConvEvent, ServerFrame } from '../../src/protocol/frames';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface RouteReply {
  status: number;
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
}

export type RouteHandler = (req: RecordedRequest) => RouteReply | Promise<RouteReply>;

/** One accepted WebSocket, with the frames the client sent on it. */
export class FakeConn {
  readonly frames: ClientFrame[] = [];
  /** Answer PING with PONG automatically. */
  autoPong = true;
  readonly closed: Promise<number>;
  private read = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      this.frames.push(frame);
      if (frame.type === 'PING' && this.autoPong) this.send({ type: 'PONG', ts: Date.now() });
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
    this.closed = new Promise((resolve) => socket.on('close', (code) => resolve(code)));
  }

  /** The next frame the client sent that this test has not read yet. */
  async next(timeoutMs = 2000): Promise<ClientFrame> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.frames.length) {
      if (Date.now() > deadline) throw new Error('no frame from the client in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames[this.read++];
  }

  /** Skips frames until one of `type` arrives. */
  async nextOfType<T extends ClientFrame['type']>(type: T): Promise<Extract<ClientFrame, { type: T }>> {
    for (;;) {
      const f = await this.next();
      if (f.type === type) return f as Extract<ClientFrame, { type: T }>;
    }
  }

  send(frame: ServerFrame): void {
    this.socket.send(JSON.stringify(frame));
  }

  close(code: number, reason = ''): void {
    this.socket.close(code, reason);
  }

  /** Drops the TCP connection without a closing handshake (client sees 1006). */
  kill(): void {
    this.socket.terminate();
  }
}

export class FakeServer {
  readonly conns: FakeConn[] = [];
  readonly requests: RecordedRequest[] = [];
  private readonly routes = new Map<string, RouteHandler>();
  private connWaiters: (() => void)[] = [];
  private taken = 0;

  private constructor(
    private readonly http: http.Server,
    private readonly wss: WebSocketServer,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<FakeServer> {
    const server = http.createServer();
    const wss = new WebSocketServer({ server, path: '/ws' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeServer(server, wss, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => void fake.onRequest(req, res));
    wss.on('connection', (socket) => {
      fake.conns.push(new FakeConn(socket));
      const waiters = fake.connWaiters;
      fake.connWaiters = [];
      for (const w of waiters) w();
    });
    return fake;
  }

  /** Scripts the answer to `METHOD /path` (path without query string). */
  route(method: string, path: string, handler: RouteHandler): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  /** The next connection this test has not taken yet. */
  async nextConn(timeoutMs = 2000): Promise<FakeConn> {
    const deadline = Date.now() + timeoutMs;
    while (this.taken >= this.conns.length) {
      if (Date.now() > deadline) throw new Error('no connection from the client in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.connWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.conns[this.taken++];
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: raw ? (JSON.parse(raw) as unknown) : undefined,
    };
    this.requests.push(recorded);
    const handler = this.routes.get(`${recorded.method} ${recorded.path}`);
    const reply = handler ? await handler(recorded) : { status: 404, body: { error: { code: 'not_found', message: 'no route' } } };
    if (reply.body === undefined) {
      res.writeHead(reply.status).end();
    } else if (typeof reply.body === 'string') {
      res.writeHead(reply.status, { 'content-type': 'text/html' }).end(reply.body);
    } else {
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    }
  }
}

/** A CONNACK with defaults for every field not given. */
export function connack(over: Partial<ConnackFrame> = {}): ConnackFrame {
  return {
    type: 'CONNACK',
    session_id: 's_1',
    user_id: 'u_me',
    device_id: 'd_1',
    server_ts: Date.now(),
    heartbeat_ms: 25_000,
    missed: [],
    more: false,
    inbox: [],
    inbox_cursor: 'cursor_1',
    ...over,
  };
}

/** A `message` event from `sender` (default another user). */
export function msg(conv_id: string, seq: number, sender_id = 'u_other', body = `m${seq}`): ConvEvent {
  return { conv_id, seq, ts: 1_700_000_000_000 + seq, sender_id, kind: 'message', body, reply_to: null, attachments: [], mentions: [], client_msg_id: `c_${conv_id}_${seq}` };
}

/** Resolves once `cond()` holds, polling; rejects after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Connects `c` to `server` and answers its CONNECT with CONNACK; resolves once the client is ready. */
export async function connectReady(server: FakeServer, c: ChatClient): Promise<FakeConn> {
  c.connect();
  const conn = await server.nextConn();
  expect((await conn.next()).type).toBe('CONNECT');
  conn.send(connack());
  await waitFor(() => c.status === 'ready');
  return conn;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A ChatClient on `server` using `ws` and fast reconnects; records every event it emits. */
export function clientFor(server: FakeServer, opts: Partial<ChatClientOptions> = {}): { client: ChatClient; log: LogEntry[] } {
  const client = new ChatClient({
    baseUrl: server.baseUrl,
    token: 'tok_1',
    deviceId: 'd_1',
    WebSocketImpl: WebSocket,
    reconnect: { minDelayMs: 10, maxDelayMs: 50 },
    ...opts,
  });
  const log: LogEntry[] = [];
  const names: (keyof ChatEvents)[] = [
    'connected', 'synced', 'event', 'inbox', 'unread', 'receipt', 'typing', 'presence',
    'readSync', 'muteSync', 'error', 'disconnected', 'reconnecting', 'unauthorized',
    'outbox', 'restoredAck', 'restoredError',
  ];
  for (const name of names) client.on(name, (...args: unknown[]) => log.push({ name, args }));
  return { client, log };
}

export interface LogEntry {
  name: keyof ChatEvents;
  args: unknown[];
}

/** The `event` payloads of a log, as "conv:seq" strings. */
export function seqs(log: LogEntry[]): string[] {
  return log.filter((e) => e.name === 'event').map((e) => {
    const ev = e.args[0] as ConvEvent;
    return `${ev.conv_id}:${ev.seq}`;
  });
}

/**
 * End-to-end harness: a real server (in-process or as a child process) on a temp data
 * directory, and a raw protocol client that speaks the wire protocol byte for byte over
 * WebSocket, over long-poll (E2E_TRANSPORT=longpoll) or over MQTT (E2E_TRANSPORT=mqtt),
 * written here apart from the SDK.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config';
import { startServer, type RunningServer, type StartServerOptions } from '../../src/server';
import { LongPollCarrier, MqttCarrier, WsCarrier, baseOf, transport, type ClientCarrier, type Transport } from './carriers';

export { mqttVersion, transport, type Transport } from './carriers';

export interface TestServer extends RunningServer {
  dataDir: string;
  wsUrl: string;
}

/**
 * The MQTT URL of each running test server by its wsUrl: TestSocket is handed a wsUrl
 * whatever the transport (every suite's call sites), and finds the MQTT listener here.
 */
const mqttUrls = new Map<string, string>();

/** The MQTT URL (mqtt://host:port) of the test server whose wsUrl is `wsUrl`; throws when it has none. */
export function mqttUrlOf(wsUrl: string): string {
  const url = mqttUrls.get(wsUrl);
  if (url === undefined) throw new Error(`no MQTT listener known for ${wsUrl} (started by startTestServer, MQTT_PORT not off?)`);
  return url;
}

/**
 * Every test client is 127.0.0.1, and suites open sessions and send by the hundred: per-user
 * and per-address limits this high never bind unless a test lowers them.
 */
export const generousLimits = {
  RATE_LIMIT_PER_SECOND: '1000',
  RATE_LIMIT_BURST: '1000',
  SESSION_OPEN_PER_SECOND: '1000',
  SESSION_OPEN_BURST: '1000',
  MAX_PENDING_PER_ADDRESS: '1000',
} as const;

/**
 * Starts a server in this process on a random port with its own data directory; `opts`
 * carries the test seams of startServer (logs stay silent whatever they say).
 */
export async function startTestServer(env: Record<string, string> = {}, opts: Omit<StartServerOptions, 'silentLogs'> = {}): Promise<TestServer> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'chat-e2e-'));
  // MQTT on any free port even when a test pins PORT: jest's workers run servers side by side.
  const config = loadConfig({ PORT: '0', MQTT_PORT: '0', HOST: '127.0.0.1', SQLITE_SYNC: 'normal', ...generousLimits, ...env, DATA_DIR: dataDir });
  const server = await startServer(config, { ...opts, silentLogs: true });
  const wsUrl = server.url.replace('http', 'ws') + '/ws';
  if (server.mqttUrl !== null) mqttUrls.set(wsUrl, server.mqttUrl);
  return { ...server, dataDir, wsUrl };
}

export async function stopTestServer(server: TestServer, keepData = false): Promise<void> {
  mqttUrls.delete(server.wsUrl);
  await server.stop();
  if (!keepData) rmSync(server.dataDir, { recursive: true, force: true });
}

/** A server as a child process running the built entry point (dist/main.js). */
export interface ChildServer {
  proc: ChildProcess;
  url: string;
  wsUrl: string;
  /** mqtt://host:port, or null when the server runs with MQTT_PORT=off. */
  mqttUrl: string | null;
  output: () => string;
  exited: Promise<number | null>;
}

export async function spawnServer(env: Record<string, string>): Promise<ChildServer> {
  const proc = spawn(process.execPath, [join(__dirname, '../../dist/main.js')], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
    if (m) {
      const mqtt = /"mqtt_url":"(mqtt:\/\/[^"]+)"/.exec(out);
      return { proc, url: m[1], wsUrl: m[1].replace('http', 'ws') + '/ws', mqttUrl: mqtt ? mqtt[1] : null, output: () => out, exited };
    }
    if (proc.exitCode !== null) break;
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error(`server did not start:\n${out}`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- REST ----

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export async function http<T = any>(base: string, method: string, path: string, body?: unknown, token?: string, rawBody?: string): Promise<HttpResult<T>> {
  const headers: Record<string, string> = {};
  if (body !== undefined || rawBody !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

export interface TestUser {
  user_id: string;
  username: string;
  token: string;
}

let userCounter = 0;
export async function registerUser(base: string, name?: string): Promise<TestUser> {
  const username = name ?? `user${process.pid}x${++userCounter}`;
  const res = await http(base, 'POST', '/api/v1/auth/register', { username, password: 'correct horse battery' });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { user_id: res.body.user_id, username: res.body.username, token: res.body.token };
}

export async function createConversation(base: string, owner: TestUser, type: 'direct' | 'group', members: TestUser[], title?: string): Promise<string> {
  const res = await http(base, 'POST', '/api/v1/conversations', { type, member_ids: members.map((m) => m.user_id), title }, owner.token);
  if (res.status !== 201 && res.status !== 200) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.conv_id;
}

// ---- raw protocol clients: WebSocket, long-poll over HTTP, or MQTT ----

export type Frame = Record<string, any> & { type: string };

/**
 * A raw protocol client over the transport this run tests (E2E_TRANSPORT), or one chosen
 * explicitly: queues every frame it receives and lets tests wait on them.
 */
export class TestSocket {
  readonly frames: Frame[] = [];
  closeCode: number | null = null;
  closeReason = '';
  private waiters: (() => void)[] = [];
  readonly closed: Promise<number>;
  private readonly carrier: ClientCarrier;

  constructor(carrier: WebSocket | ClientCarrier) {
    this.carrier = carrier instanceof WebSocket ? new WsCarrier(carrier) : carrier;
    this.carrier.onFrame = (text) => {
      this.frames.push(JSON.parse(text));
      this.wake();
    };
    this.closed = new Promise((resolve) => {
      this.carrier.onClose = (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason;
        this.wake();
        resolve(code);
      };
    });
  }

  /** The WebSocket under this client; WebSocket runs only (tests using it skip the other transports). */
  get ws(): WebSocket {
    if (!(this.carrier instanceof WsCarrier)) throw new Error('TestSocket.ws: this client is not on WebSocket');
    return this.carrier.ws;
  }

  /**
   * Opens a connection to `url` (a server's wsUrl) over `via` (default: this run's
   * transport). Over MQTT nothing is opened yet: the MQTT CONNECT needs the token, so it
   * is made at the first send(), which must be the protocol CONNECT.
   */
  static async open(url: string, opts: WebSocket.ClientOptions = {}, via: Transport = transport): Promise<TestSocket> {
    if (via === 'mqtt') return new TestSocket(new MqttCarrier(mqttUrlOf(url)));
    if (via === 'longpoll') {
      const carrier = await LongPollCarrier.open(baseOf(url));
      const sock = new TestSocket(carrier);
      carrier.start();
      return sock;
    }
    const ws = new WebSocket(url, opts);
    const sock = new TestSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return sock;
  }

  /** Opens a connection and completes CONNECT; returns the client and its CONNACK. */
  static async connect(url: string, token: string, deviceId: string, sync?: unknown, via: Transport = transport): Promise<{ sock: TestSocket; connack: Frame }> {
    const sock = await TestSocket.open(url, {}, via);
    sock.send({ type: 'CONNECT', token, device_id: deviceId, ...(sync ? { sync } : {}) });
    const connack = await sock.next((f) => f.type === 'CONNACK');
    return { sock, connack };
  }

  send(frame: unknown): void {
    this.carrier.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Removes and returns the first received frame matching `pred`, waiting up to `timeoutMs`. */
  async next(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode} ${this.closeReason}) while waiting; have ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a frame; have ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Asserts that no frame matching `pred` arrives within `ms`. */
  async none(pred: (f: Frame) => boolean, ms = 300): Promise<void> {
    await sleep(ms);
    const f = this.frames.find(pred);
    if (f) throw new Error(`unexpected frame ${JSON.stringify(f)}`);
  }

  /** Sends SEND and waits for its ACK or ERROR. */
  async sendMessage(convId: string, body: string, clientMsgId: string, extra: Record<string, unknown> = {}): Promise<Frame> {
    this.send({ type: 'SEND', client_msg_id: clientMsgId, conv_id: convId, body, ...extra });
    return this.next((f) => (f.type === 'ACK' || f.type === 'ERROR') && (f.client_msg_id === clientMsgId || f.ref === clientMsgId));
  }

  close(): void {
    this.carrier.close();
  }

  /** Drops the connection without a close handshake (WS, MQTT: no DISCONNECT) or stops polling without DELETE (long-poll). */
  terminate(): void {
    this.carrier.terminate();
  }

  /** Stops reading what the server writes (TCP paused: no PUBACK over MQTT; or no poll), until resume(). */
  pause(): void {
    this.carrier.pause();
  }

  resume(): void {
    this.carrier.resume();
  }
}

// ---- REST helpers (rest-*.test.ts) ----

/** What /auth/register and /auth/login answer, or the error body. */
export interface AuthBody {
  user_id?: string;
  username?: string;
  /** The device the token names (the one asked for, or one the server named). */
  device_id?: string;
  token?: string;
  error?: { code: string; message: string; retry_after_ms?: number };
}

/**
 * POSTs to /api/v1/auth/*, waiting out the server's per-address auth limiter (5/s, burst
 * 20): every test client is 127.0.0.1, so a suite registering many users would hit it.
 */
export async function authRequest(base: string, path: '/auth/register' | '/auth/login', body: unknown): Promise<HttpResult<AuthBody>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await http<AuthBody>(base, 'POST', '/api/v1' + path, body);
    if (res.status !== 429 || Date.now() > deadline) return res;
    await sleep(250);
  }
}

let patientCounter = 0;
/** Like registerUser, but rides out 429 from the auth limiter; names are unique unless given. */
export async function registerUserPatiently(base: string, name?: string, password = 'correct horse battery'): Promise<TestUser> {
  const username = name ?? `rest${process.pid}x${++patientCounter}`;
  const res = await authRequest(base, '/auth/register', { username, password });
  if (res.status !== 201 || !res.body.user_id || !res.body.username || !res.body.token) {
    throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return { user_id: res.body.user_id, username: res.body.username, token: res.body.token };
}

/** The answer of POST /conversations/:id/messages. */
export interface RestAck {
  client_msg_id: string;
  conv_id: string;
  seq: number;
  ts: number;
  duplicate?: true;
}

/** Sends a message over REST; returns the status and the ACK-shaped body. */
export async function sendRest(base: string, user: TestUser, convId: string, body: string, clientMsgId: string): Promise<HttpResult<RestAck>> {
  return http<RestAck>(base, 'POST', `/api/v1/conversations/${convId}/messages`, { client_msg_id: clientMsgId, body }, user.token);
}

/** Polls `read` until `done` holds (returning that value) or the timeout passes (returning the last one). */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(25);
  }
}

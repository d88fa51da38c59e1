/**
 * The load generator's connections: opening them (CONNECT → CONNACK, bounded
 * concurrency), over WebSocket, long-poll (lg-longpoll.ts, S8) or MQTT 3.1.1 / 5 (the
 * stock `mqtt` client, S12), routing their frames to
 * whatever traffic phase is running, and closing them. Frames are told apart by one byte instead of being parsed: both servers put
 * `"type"` first, and at 100k frames/s a JSON.parse per frame would make the load
 * generator, not the server, the thing being measured.
 */
import { createSecretKey } from 'node:crypto';
import net from 'node:net';
import jwt from 'jsonwebtoken';
import { MqttClient, type IClientOptions } from 'mqtt';
import WebSocket from 'ws';
import { nowMs, sleepUntil } from './clock';
import { Histogram } from './histogram';
import type { ClientSpec, ConnectCommand, ConnectResult } from './ipc';
import { LongPollWire } from './lg-longpoll';

/** What a traffic phase wants to hear about; the default ignores everything. */
export interface FrameSink {
  deliver(client: Client, data: Buffer, at: number): void;
  ack(client: Client, at: number, data: Buffer): void;
  error(client: Client, data: Buffer): void;
  closed(client: Client, code: number): void;
}

const ignore: FrameSink = { deliver() {}, ack() {}, error() {}, closed() {} };

// Offset of the type's first letter in '{"type":"X...'.
const typeAt = 9;
const D = 'D'.charCodeAt(0); // DELIVER
const A = 'A'.charCodeAt(0); // ACK
const E = 'E'.charCodeAt(0); // ERROR

/** A FIFO of numbers without Array#shift's copying (open-loop queues can grow long). */
export class NumberQueue {
  private items: number[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: number): void {
    this.items.push(v);
  }
  shift(): number | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

let pingsSeen = 0;

/** Counts the server's heartbeat pings (ws answers each with a pong by itself). */
function onPing(): void {
  pingsSeen++;
}

/** Pings received by this process's WebSocket clients so far (S11 reads it around its idle window). */
export function pingsReceived(): number {
  return pingsSeen;
}

const closedAfterOpen: Record<string, { n: number; first: number; last: number }> = {};

/** Sessions that closed after their CONNACK since the process started, by close code: how many, first and last (epoch ms). */
export function closesAfterOpen(): Record<string, { n: number; first: number; last: number }> {
  return structuredClone(closedAfterOpen);
}

export class Client {
  ws: WebSocket | null = null;
  /** The long-poll carrier instead of `ws` (S8). */
  lp: LongPollWire | null = null;
  /** The MQTT carrier instead of `ws` (S12): frames are PUBLISHed to `up`, received on the device's topic. */
  mq: MqttClient | null = null;
  /** The QoS this MQTT client publishes at (and subscribed its frames at, when 0). */
  mqQos: 0 | 1 = 1;
  /** With `trackSockets`: every TCP socket the client used, for their byte counts (S12). */
  readonly sockets: Set<net.Socket> | null;
  open = false;
  /** Send times of SENDs still waiting for their ACK, oldest first (ACKs come in order). */
  readonly pending = new NumberQueue();
  /** The conversation this client sends to in the running phase (null: it only receives). */
  sendConv: string | null = null;
  constructor(
    readonly index: number,
    readonly spec: ClientSpec,
    readonly token: string,
    trackSockets = false,
  ) {
    this.sockets = trackSockets ? new Set() : null;
  }

  /** Writes one frame on whichever carrier the client has (MQTT: at `mqQos`). */
  send(text: string): void {
    if (this.lp) this.lp.send(text);
    else if (this.mq) this.mq.publish('up', text, { qos: this.mqQos });
    else this.ws?.send(text);
  }

  /** Has a carrier to send on. */
  get wired(): boolean {
    return this.ws !== null || this.lp !== null || this.mq !== null;
  }

  /**
   * Bytes written and read on the client's TCP sockets so far (payload, headers of every
   * layer above TCP included), summed over its sockets; zeros unless `trackSockets`.
   */
  wireBytes(): { written: number; read: number } {
    let written = 0;
    let read = 0;
    for (const s of this.sockets ?? []) {
      written += s.bytesWritten;
      read += s.bytesRead;
    }
    return { written, read };
  }
}

interface Outcome {
  error: string | null;
  missed: number;
  more: boolean;
  at: number;
}

export class ClientSet {
  readonly clients: Client[] = [];
  sink: FrameSink = ignore;

  /** Opens every client of the command; resolves when each has its CONNACK or failed. */
  async connect(cmd: ConnectCommand, progress: (done: number, total: number) => void): Promise<ConnectResult> {
    // Tokens are minted before the start time so a storm measures the server, not jwt.sign.
    // With a KeyObject: given the string, jsonwebtoken re-parses it as a key on every call
    // (~0.75 ms each), which blocked a load generator minting 16,000 tokens for 12-60 s on
    // the busy VM: long enough to miss two heartbeats, so the server dropped its open sockets (S11).
    const key = createSecretKey(Buffer.from(cmd.secret, 'utf8'));
    const base = this.clients.length;
    const fresh = cmd.clients.map(
      (spec, i) => new Client(base + i, spec, jwt.sign({}, key, { algorithm: 'HS256', subject: spec.user, expiresIn: 6 * 3600 }), cmd.trackSockets === true),
    );
    this.clients.push(...fresh);
    if (cmd.startAt > 0) await sleepUntil(cmd.startAt);
    const result: ConnectResult = {
      connected: 0,
      failed: 0,
      failures: {},
      startedAt: nowMs(),
      lastConnackAt: 0,
      connack: new Histogram().toJSON(),
      missedTotal: 0,
      minMissed: Infinity,
      more: 0,
    };
    const connack = new Histogram();
    let next = 0;
    let done = 0;
    const ticker = setInterval(() => progress(done, fresh.length), 500);
    await new Promise<void>((resolve) => {
      if (fresh.length === 0) return resolve();
      const launch = (): void => {
        const c = fresh[next++];
        const t0 = nowMs();
        const opening =
          cmd.transport === 'longpoll'
            ? this.openLongPoll(c, cmd.url, cmd.lpWaitMs)
            : cmd.transport === 'mqtt311' || cmd.transport === 'mqtt5'
              ? this.openMqtt(c, cmd.url, cmd.transport === 'mqtt5' ? 5 : 4, cmd.mqttKeepaliveS ?? 60, cmd.mqttQos0 === true ? 0 : 1)
              : this.open(c, cmd.url);
        void opening.then((o) => {
          done++;
          if (o.error === null) {
            result.connected++;
            result.lastConnackAt = Math.max(result.lastConnackAt, o.at);
            result.missedTotal += o.missed;
            result.minMissed = Math.min(result.minMissed, o.missed);
            if (o.more) result.more++;
            connack.record((o.at - t0) * 1000);
          } else {
            result.failed++;
            result.failures[o.error] = (result.failures[o.error] ?? 0) + 1;
          }
          if (next < fresh.length) launch();
          else if (done === fresh.length) resolve();
        });
      };
      for (let i = 0; i < Math.min(cmd.concurrency, fresh.length); i++) launch();
    });
    clearInterval(ticker);
    progress(done, fresh.length);
    if (result.minMissed === Infinity) result.minMissed = 0;
    result.connack = connack.toJSON();
    return result;
  }

  private open(c: Client, url: string): Promise<Outcome> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      const ws = new WebSocket(url, {
        localAddress: c.spec.localAddress,
        perMessageDeflate: false,
        skipUTF8Validation: true,
        handshakeTimeout: 60_000,
      });
      c.ws = ws;
      if (c.sockets) ws.once('upgrade', (res) => c.sockets?.add(res.socket));
      ws.on('ping', onPing);
      ws.once('open', () => {
        ws.send(JSON.stringify({ type: 'CONNECT', token: c.token, device_id: 'd_' + c.spec.user, sync: { convs: c.spec.convs } }));
      });
      ws.on('message', (data: Buffer) => {
        if (c.open) return this.dispatch(c, data);
        const frame = JSON.parse(data.toString()) as { type: string; missed?: unknown[]; more?: boolean; code?: string };
        if (frame.type === 'CONNACK') {
          c.open = true;
          settle({ error: null, missed: frame.missed?.length ?? 0, more: frame.more === true, at: nowMs() });
        } else if (frame.type === 'ERROR') {
          settle({ error: `ERROR ${frame.code ?? '?'}`, missed: 0, more: false, at: nowMs() });
        }
        // Anything else before CONNACK (none expected) is ignored.
      });
      ws.on('close', (code: number) => {
        const wasOpen = c.open;
        c.open = false;
        if (wasOpen) {
          const now = Date.now();
          const seen = (closedAfterOpen[code] ??= { n: 0, first: now, last: now });
          seen.n++;
          seen.last = now;
          this.sink.closed(c, code);
        }
        settle({ error: `close ${code}`, missed: 0, more: false, at: nowMs() });
      });
      ws.on('error', (err: Error & { code?: string }) => {
        settle({ error: err.code ?? err.message, missed: 0, more: false, at: nowMs() });
      });
    });
  }

  /** The same handshake over long-poll: POST /lp, CONNECT through a send, CONNACK from a poll. */
  private openLongPoll(c: Client, url: string, waitMs: number | undefined): Promise<Outcome> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      const wire = new LongPollWire(new URL(url), c.spec.localAddress, {
        frame: (data, at) => {
          if (c.open) return this.dispatch(c, data, at);
          const frame = JSON.parse(data.toString()) as { type: string; missed?: unknown[]; more?: boolean; code?: string };
          if (frame.type === 'CONNACK') {
            c.open = true;
            settle({ error: null, missed: frame.missed?.length ?? 0, more: frame.more === true, at });
          } else if (frame.type === 'ERROR') {
            settle({ error: `ERROR ${frame.code ?? '?'}`, missed: 0, more: false, at });
          }
        },
        closed: (code, reason) => {
          const wasOpen = c.open;
          c.open = false;
          if (wasOpen) this.sink.closed(c, code);
          settle({ error: `close ${code} ${reason}`, missed: 0, more: false, at: nowMs() });
        },
      }, { ...(waitMs !== undefined ? { waitMs } : {}), ...(c.sockets ? { sockets: c.sockets } : {}) });
      c.lp = wire;
      wire.open().then(
        () => wire.send(JSON.stringify({ type: 'CONNECT', token: c.token, device_id: 'd_' + c.spec.user, sync: { convs: c.spec.convs } })),
        (err: Error & { code?: string }) => {
          wire.stop();
          settle({ error: err.code ?? err.message, missed: 0, more: false, at: nowMs() });
        },
      );
    });
  }

  /**
   * The same handshake over MQTT (docs/protocol.md, "MQTT"): the MQTT CONNECT carries the
   * device id (client id) and the token (password); then the protocol's CONNECT, without
   * them, is the first PUBLISH to `up`, and its CONNACK comes on the device's topic. At
   * `qos` 1 the client does not SUBSCRIBE (the server publishes the session's frames
   * regardless) and PUBACKs every QoS 1 frame, as the stock client does; at 0 it publishes
   * at QoS 0 and subscribes to its frames at QoS 0 before the CONNECT (the SDK, at its
   * first frame: the CONNACK is the only difference). MQTT 5 clients
   * allow topic aliases, so the server can send its topic as alias 1.
   */
  private openMqtt(c: Client, url: string, version: 4 | 5, keepalive: number, qos: 0 | 1): Promise<Outcome> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      const { hostname, port } = new URL(url);
      const device = 'd_' + c.spec.user;
      const closeTopic = `down/${c.spec.user}/${device}/close`;
      // 1006 unless the server published the close first.
      let closeCode = 1006;
      const opts: IClientOptions = {
        protocolVersion: version,
        clientId: device,
        username: c.spec.user,
        password: c.token,
        keepalive,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: 60_000,
        ...(version === 5 ? { properties: { topicAliasMaximum: 10 } } : {}),
      };
      // Our own socket, for the source address (the stock TCP builder takes none) and the byte counts.
      const mq = new MqttClient(() => {
        const socket = net.createConnection({ host: hostname, port: Number(port), localAddress: c.spec.localAddress });
        c.sockets?.add(socket);
        return socket;
      }, opts);
      c.mq = mq;
      c.mqQos = qos;
      mq.once('connect', () => {
        // The SUBSCRIBE goes first on the connection, so the server lowers every frame to QoS 0 from the CONNACK on.
        if (qos === 0) mq.subscribe(`down/${c.spec.user}/${device}`, { qos: 0 });
        mq.publish('up', JSON.stringify({ type: 'CONNECT', sync: { convs: c.spec.convs } }), { qos });
      });
      mq.on('message', (topic: string, payload: Buffer) => {
        if (topic === closeTopic) {
          try {
            closeCode = (JSON.parse(payload.toString()) as { code: number }).code;
          } catch {
            // keep 1006
          }
          return;
        }
        if (c.open) return this.dispatch(c, payload);
        const frame = JSON.parse(payload.toString()) as { type: string; missed?: unknown[]; more?: boolean; code?: string };
        if (frame.type === 'CONNACK') {
          c.open = true;
          settle({ error: null, missed: frame.missed?.length ?? 0, more: frame.more === true, at: nowMs() });
        } else if (frame.type === 'ERROR') {
          settle({ error: `ERROR ${frame.code ?? '?'}`, missed: 0, more: false, at: nowMs() });
        }
      });
      mq.on('close', () => {
        const wasOpen = c.open;
        c.open = false;
        if (wasOpen) {
          const now = Date.now();
          const seen = (closedAfterOpen[closeCode] ??= { n: 0, first: now, last: now });
          seen.n++;
          seen.last = now;
          this.sink.closed(c, closeCode);
        }
        settle({ error: `close ${closeCode}`, missed: 0, more: false, at: nowMs() });
      });
      mq.on('error', (err: Error & { code?: string | number }) => {
        // A refused MQTT CONNECT: its return or reason code; a socket error: its errno name.
        settle({ error: err.code !== undefined ? `mqtt ${err.code}` : err.message, missed: 0, more: false, at: nowMs() });
      });
    });
  }

  private dispatch(c: Client, data: Buffer, at = nowMs()): void {
    const t = data[typeAt];
    if (t === D) this.sink.deliver(c, data, at);
    else if (t === A) this.sink.ack(c, at, data);
    else if (t === E) this.sink.error(c, data);
    // READ_SYNC, RECEIPT, PRESENCE, TYPING, PONG: not measured.
  }

  /** Clients with an open session right now. */
  openCount(): number {
    let n = 0;
    for (const c of this.clients) if (c.open) n++;
    return n;
  }

  /** Closes every socket (without the close handshake; long-poll sessions are DELETEd) and forgets the clients. */
  async closeAll(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const c of this.clients) {
      if (c.lp) {
        // DELETE /lp/:sid, as a client closing its socket: otherwise the sessions would live on until the heartbeat drops them.
        c.open = false;
        waits.push(c.lp.close());
        continue;
      }
      if (c.mq) {
        // The TCP connection dropped without DISCONNECT, as ws.terminate() below.
        const mq = c.mq;
        waits.push(new Promise<void>((resolve) => mq.end(true, () => resolve())));
        continue;
      }
      const ws = c.ws;
      if (!ws || ws.readyState === WebSocket.CLOSED) continue;
      waits.push(new Promise<void>((resolve) => ws.once('close', () => resolve())));
      ws.terminate();
    }
    await Promise.race([Promise.all(waits), new Promise((r) => setTimeout(r, 10_000))]);
    this.clients.length = 0;
  }
}

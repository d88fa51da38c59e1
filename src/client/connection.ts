/**
 * A ChatClient's connection lifecycle: picks the carrier of each attempt (TransportPolicy,
 * with the WebSocket open deadline), opens it, sends CONNECT, and schedules reconnects with
 * backoff until `close()` (or a 4001). What incoming frames mean is the FrameSink's job.
 */
import type { ClientFrame, SyncState } from '../protocol/frames';
import { CloseCode } from '../protocol/errors';
import { backoffDelay, tryLaterDelay } from './backoff';
import type { Emit } from './emitter';
import { ClientClosedError } from './errors';
import { LongPollSocket } from './longpoll';
import { MqttSocket, mqttUrlFor } from './mqtt';
import { OpenTimeoutSocket } from './open-timeout';
import { Pinger } from './pinger';
import { defaultWebSocket, OPEN, wsUrlFor, type WebSocketConstructor, type WebSocketLike } from './socket';
import type { SyncTracker } from './sync';
import { TransportPolicy } from './transport';
import type { ChatClientOptions, ChatEvents, ChatStatus, ChatTransport } from './types';

/** Client-chosen close code for connections the SDK drops itself (ping timeout, failed catch-up). */
const dropCode = 4000;

/** `wsOpenTimeoutMs` when not given. */
const defaultWsOpenTimeoutMs = 5000;

/** Takes the text frames of the live connection. */
export interface FrameSink {
  /** `text` arrived on `conn`, whose generation is `gen` and whose CONNECT carried `sent`. */
  frame(text: string, conn: Connection, gen: number, sent: SyncState): void;
}

export interface ConnectionDeps {
  /** Read at each use, as the client always did. */
  opts: ChatClientOptions;
  /** Snapshotted for CONNECT; its held events are dropped with the connection. */
  sync: SyncTracker;
  /** Reports `error`, `disconnected`, `reconnecting` and `unauthorized` as the client. */
  emit: Emit<ChatEvents>;
  frames: FrameSink;
}

/** One connection at a time, replaced on every reconnect. All state is per instance. */
export class Connection {
  /** App-level PING/PONG of the live connection; its interval ping drops a dead one. */
  readonly pinger: Pinger;
  private readonly opts: ChatClientOptions;
  private readonly sync: SyncTracker;
  private readonly emit: Emit<ChatEvents>;
  private readonly frames: FrameSink;
  /** Resolved at the first WebSocket attempt, so 'longpoll' (and 'auto' without one) needs no WebSocket. */
  private WS: WebSocketConstructor | undefined;
  private readonly policy: TransportPolicy;
  private readonly wsUrl: string;
  /** Derived at the first MQTT attempt, so a `baseUrl` a URL parser refuses fails only there. */
  private mqttUrl: string | undefined;
  private token: string;
  private ws: WebSocketLike | null = null;
  private currentStatus: ChatStatus = 'idle';
  /** Bumped per connection, so async work of a dead connection recognises itself. */
  private gen = 0;
  private attempt = 0;
  /** The server's `retry_after_ms` for the next attempt, from the ERROR that preceded its close. */
  private retryHintMs = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private sessionUser: string | null = null;
  private currentTransport: ChatTransport | null = null;

  constructor(deps: ConnectionDeps) {
    this.opts = deps.opts;
    this.sync = deps.sync;
    this.emit = deps.emit;
    this.frames = deps.frames;
    this.token = deps.opts.token;
    this.policy = new TransportPolicy(deps.opts.transport ?? 'auto');
    // Only 'websocket' cannot do without one, so only it fails here, as it always did.
    this.WS = deps.opts.WebSocketImpl ?? (this.policy.mode === 'websocket' ? defaultWebSocket() : undefined);
    this.wsUrl = deps.opts.wsUrl ?? wsUrlFor(deps.opts.baseUrl);
    this.mqttUrl = deps.opts.mqttUrl;
    this.pinger = new Pinger(
      () => this.write({ type: 'PING' }),
      () => this.drop('ping timeout'),
    );
  }

  get status(): ChatStatus {
    return this.currentStatus;
  }

  /** Which connection is current; async work compares it with the one it started on. */
  get generation(): number {
    return this.gen;
  }

  /** The user of the current or last session, known after the first CONNACK. */
  get userId(): string | null {
    return this.sessionUser;
  }

  /** The carrier of the current connection, or of the last one while disconnected; null before the first attempt. */
  get transport(): ChatTransport | null {
    return this.currentTransport;
  }

  /** The token of the next CONNECT. */
  setToken(token: string): void {
    this.token = token;
  }

  /** Opens the connection unless one is open or opening; throws once closed. */
  connect(): void {
    if (this.currentStatus === 'closed') throw new ClientClosedError();
    if (this.currentStatus === 'connecting' || this.currentStatus === 'handshake' || this.currentStatus === 'ready') return;
    this.clearReconnect();
    this.open();
  }

  /**
   * Stops for good: closes the socket and cancels reconnects, silently. Returns whether a
   * socket was open, so the caller knows to report `disconnected` once it has cleaned up.
   */
  close(): boolean {
    const hadSocket = this.ws !== null;
    this.currentStatus = 'closed';
    this.gen++;
    this.detach(CloseCode.normal, 'client closed');
    this.clearReconnect();
    return hadSocket;
  }

  /** Kept for the reconnect after the close that follows (1013 "try again later"). */
  retryAfter(ms: number): void {
    this.retryHintMs = Math.max(0, ms);
  }

  /** CONNACK arrived on the live connection: the session is up. */
  established(userId: string): void {
    this.currentStatus = 'ready';
    this.attempt = 0;
    this.retryHintMs = 0;
    if (this.currentTransport) this.policy.connected(this.currentTransport);
    this.sessionUser = userId;
  }

  /** Writes a frame on the live connection; false when there is none (or it is not open). */
  write(frame: ClientFrame): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** Drops a live connection the SDK no longer trusts and reconnects. */
  drop(reason: string): void {
    if (!this.ws) return;
    this.end(dropCode, reason, reason);
  }

  /** Closes the socket with `code` and `reason`, then handles it as closed with `reported` as the reason. */
  end(code: number, reason: string, reported: string): void {
    this.detach(code, reason);
    this.onClosed(code, reported);
  }

  /** Starts a connection attempt over `via` (by default what the transport policy picks). */
  private open(via: ChatTransport = this.policy.choose()): void {
    const gen = ++this.gen;
    this.currentStatus = 'connecting';
    this.currentTransport = via;
    let ws: WebSocketLike;
    try {
      ws = this.carrier(via);
    } catch (err) {
      if (via === 'websocket' && this.policy.webSocketFailed()) {
        this.open('longpoll');
        return;
      }
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
      this.onClosed(1006, 'cannot open socket');
      return;
    }
    this.ws = ws;
    // Connect-time state is what the server answers in CONNACK, so remember which
    // conversations it covered: those are the ones to page when `more` is set.
    let sent: SyncState = {};
    let opened = false;
    /** Under 'auto', a WebSocket that fails before 'open' hands this attempt to long-poll at once. */
    const fellBack = (): boolean => {
      if (opened || via !== 'websocket' || !this.policy.webSocketFailed()) return false;
      this.detach(1000, 'falling back to long-poll');
      this.open('longpoll');
      return true;
    };
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      opened = true;
      this.currentStatus = 'handshake';
      sent = this.sync.snapshot();
      this.write({ type: 'CONNECT', token: this.token, device_id: this.opts.deviceId, sync: sent });
    });
    ws.addEventListener('message', (event) => {
      if (this.ws !== ws || typeof event.data !== 'string') return;
      this.frames.frame(event.data, this, gen, sent);
    });
    ws.addEventListener('close', (event) => {
      if (this.ws !== ws || fellBack()) return;
      this.ws = null;
      this.onClosed(event.code, event.reason);
    });
    // Otherwise 'error' is always followed by 'close', which does the work.
    ws.addEventListener('error', () => {
      if (this.ws === ws) fellBack();
    });
  }

  /** Builds the carrier of one connection; throws when it cannot even start. */
  private carrier(via: ChatTransport): WebSocketLike {
    if (via === 'longpoll') return new LongPollSocket(this.opts.baseUrl, { fetch: this.opts.fetch });
    if (via === 'mqtt') {
      this.mqttUrl ??= mqttUrlFor(this.opts.baseUrl);
      const { deviceId, mqttProtocolVersion: protocolVersion, mqttKeepaliveS: keepaliveS } = this.opts;
      return this.openDeadline(new MqttSocket(this.mqttUrl, { token: this.token, deviceId, protocolVersion, keepaliveS }));
    }
    this.WS ??= defaultWebSocket();
    return this.openDeadline(new this.WS(this.wsUrl));
  }

  /** A socket still connecting, under the `wsOpenTimeoutMs` deadline. */
  private openDeadline(ws: WebSocketLike): WebSocketLike {
    const timeoutMs = this.opts.wsOpenTimeoutMs ?? defaultWsOpenTimeoutMs;
    return timeoutMs > 0 ? new OpenTimeoutSocket(ws, timeoutMs) : ws;
  }

  /** Forgets the current socket (its late events are ignored) and closes it. */
  private detach(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    this.pinger.stop();
    if (!ws) return;
    try {
      ws.close(code, reason);
    } catch {
      // Already closing; nothing to do.
    }
  }

  private onClosed(code: number, reason: string): void {
    this.gen++; // async work of the dead connection now stands down
    this.pinger.stop();
    this.sync.dropHeld();
    this.pinger.failAll(new Error('connection closed'));
    if (this.currentStatus === 'closed') return;
    const unauthorized = code === CloseCode.unauthorized;
    // 4009: another connection of this device replaced this one; reconnecting would replace it back.
    const next: ChatStatus = unauthorized || code === CloseCode.takenOver ? 'stopped' : 'waiting';
    this.currentStatus = next;
    this.emit('disconnected', code, reason);
    // A listener may have called close() or connect(); theirs is the last word.
    if (this.currentStatus !== next) return;
    if (unauthorized) {
      this.emit('unauthorized', reason);
      return;
    }
    if (next === 'stopped') return;
    // 1012 means "shard moving, come back now"; only the first try after a healthy
    // session is immediate, so a server restarting in a loop still gets backoff. 1013
    // means "the shard cannot serve now": never at once, after its hint, fully jittered.
    const hint = this.retryHintMs;
    this.retryHintMs = 0;
    const delay =
      code === CloseCode.tryAgainLater
        ? tryLaterDelay(this.attempt, hint, this.opts.reconnect)
        : code === CloseCode.restarting && this.attempt === 0
          ? 0
          : backoffDelay(this.attempt, this.opts.reconnect);
    this.attempt++;
    this.emit('reconnecting', this.attempt, delay);
    if (this.currentStatus !== 'waiting') return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, delay);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }
}

/**
 * The gateway: accepts sockets on /ws, long-poll sessions on /lp (longpoll.ts) and MQTT
 * connections (mqtt.ts: MQTT_PORT and /mqtt),
 * authenticates at CONNECT, holds the sessions of this shard whatever carries them, writes
 * frames the bus brings for them, and drives heartbeats from one timer for all connections.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CloseCode, ProtocolError, echoableRef, encodeFrame, newId, type Limits } from '../protocol';
import { gatewayTopic, presenceTopic, usersTopic, type Bus, type BusMessage } from '../bus';
import type { Presence } from '../presence';
import type { AuthState, Store, UserSettings } from '../store';
import type { ConversationReads } from '../conversations';
import type { Intake } from '../intake';
import { refusal, tokenCounts, type Authenticator, type TokenService } from '../auth';
import { RateLimiter, frameBudgets, type CommandBudgets } from '../ratelimit';
import type { EngineFailures, Observability } from '../observability';
import { Session, kSession, type Carrier } from './session';
import { FrameHandlers, type SessionBudgets } from './handlers';
import { Connector, type SessionHost } from './connect';
import { PresenceWatch } from './presence-watch';
import { WriteBatch } from './batch';
import { LongPoll, type LongPollHost } from './longpoll';
import { Admission, type AdmissionLimits, type Admitted, type Refusal } from './admission';
import { AuthRecheck } from './recheck';
import { MqttListener, type MqttListenerHost } from './mqtt';
import { MqttConnection } from './mqtt-connection';

/** Serves a WebSocket upgrade on another path of the same HTTP server (shard links). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface GatewayOptions {
  gatewayId: string;
  /** Other upgrade paths of the HTTP server, by path. */
  upgrades?: Record<string, UpgradeHandler>;
  limits: Limits;
  heartbeatMs: number;
  connectTimeoutMs: number;
  maxSocketBufferBytes: number;
  replayLimit: number;
  /** Turns conversation frames into commands (shared with REST). */
  intake: Intake;
  reads: ConversationReads;
  store: Store;
  presence: Presence;
  bus: Bus;
  tokens: TokenService;
  /** The per-user budgets of commands (spent by the intake); swept by the gateway's timer. */
  budgets: CommandBudgets;
  /** Limits on opening sessions, per client address and in all (both transports). */
  admission: AdmissionLimits;
  /** Users' auth state (shared with REST): CONNECT and every frame check the token still counts. */
  auth: Authenticator;
  obs: Observability;
  /** Maps what a frame or CONNECT failed with to its ERROR (engine outages to `unavailable`), logging and counting it. */
  failures: EngineFailures;
  /** The MQTT transport (its TCP port is opened by listenMqtt()); null when MQTT_PORT=off. */
  mqtt: { maxKeepAliveS: number } | null;
}

/** How long a settings change is kept for sessions still connecting (longer than any CONNECT takes). */
const recentSettingsMs = 60_000;

/** Frames above the limit but below this many times it get an ERROR; larger ones close 1009. */
const hardCapFactor = 16;

/** What opening a session gets while the shard drains. */
const restarting: Admitted = { ok: false, refusal: { status: 503, code: 'unavailable', message: 'shard restarting', retryAfterS: 1 } };

/** Room for an MQTT PUBLISH's fixed header, topic and properties on top of its payload. */
const mqttHeaderRoom = 1024;

export class Gateway implements SessionHost, LongPollHost, MqttListenerHost {
  readonly wss: WebSocketServer;
  /**
   * Sessions that have not sent CONNECT yet (checked for the connect timeout), with the
   * client address they count under: kept here, not on the session, as it matters only
   * until CONNECT.
   */
  private readonly pending = new Map<Session, string>();
  private readonly admission: Admission;
  /** user id -> that user's connected sessions on this gateway (the local socket map). */
  private readonly users = new Map<string, Session[]>();
  /** Every session not yet fully closed, whatever its state and carrier (for shutdown). */
  private readonly live = new Set<Session>();
  /** The long-poll transport's HTTP handlers (mounted by the server in front of the API). */
  readonly longPoll: LongPoll;
  /** The MQTT transport: /mqtt on the HTTP server, and its own TCP port once listenMqtt() ran. */
  readonly mqtt: MqttListener | null;
  private readonly batch = new WriteBatch();
  /** Settings changes of the last minute, for sessions whose CONNECT read the user before them. */
  private readonly recentSettings = new Map<string, { settings: UserSettings; at: number }>();
  private readonly watch: PresenceWatch;
  private readonly handlers: FrameHandlers;
  private readonly sessionBudgets: SessionBudgets;
  private readonly unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastSweep = Date.now();
  private draining = false;
  private presenceBusy = false;
  /** Users whose auth state is being read again because a frame found it stale, and the verdict. */
  private readonly rechecking = new Map<string, Promise<void>>();
  private readonly authRecheck: AuthRecheck;

  constructor(readonly opts: GatewayOptions) {
    this.watch = new PresenceWatch({ gatewayId: opts.gatewayId, presence: opts.presence, store: opts.store, bus: opts.bus, logger: opts.obs.logger });
    const connector = new Connector(this, {
      tokens: opts.tokens,
      authCache: opts.auth.cache,
      store: opts.store,
      reads: opts.reads,
      watch: this.watch,
      replayLimit: opts.replayLimit,
      heartbeatMs: opts.heartbeatMs,
      logger: opts.obs.logger,
    });
    this.admission = new Admission(opts.admission);
    this.authRecheck = new AuthRecheck(opts.auth.cache, (userId, state) => this.enforce(userId, state));
    const sets = opts.limits.maxPresenceSub;
    this.sessionBudgets = {
      ping: new RateLimiter(frameBudgets.ping.perSecond, frameBudgets.ping.burst),
      presenceSub: new RateLimiter(frameBudgets.presenceSub.perSecond * sets, frameBudgets.presenceSub.burst * sets),
    };
    this.handlers = new FrameHandlers(this, opts.intake, this.watch, connector, this.sessionBudgets);
    this.longPoll = new LongPoll(this, { maxBodyBytes: opts.limits.maxFrameBytes * hardCapFactor, sessions: opts.obs.metrics.longPollSessions });
    this.mqtt =
      opts.mqtt === null
        ? null
        : new MqttListener(
            this,
            {
              maxPacketBytes: opts.limits.maxFrameBytes * hardCapFactor + mqttHeaderRoom,
              maxKeepAliveS: opts.mqtt.maxKeepAliveS,
              maxIdChars: opts.limits.maxIdChars,
              connectTimeoutMs: opts.connectTimeoutMs,
              sessions: opts.obs.metrics.mqttSessions,
              maxBufferedBytes: opts.maxSocketBufferBytes,
            },
            refuseUpgrade,
            opts.admission.trustProxy,
          );
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.limits.maxFrameBytes * hardCapFactor,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /**
   * Subscribes to the bus and registers with presence, then serves /ws on `server` and
   * starts the timer: a session is never registered before its gateway hears its topic.
   */
  async attach(server: Server): Promise<void> {
    // Frames for these sessions may have been lost while the bus was down: close them with
    // 1012 so their clients reconnect at once and catch up through CONNECT replay.
    this.opts.bus.onGap(() => this.resync());
    const { bus, gatewayId } = this.opts;
    for (const topic of [gatewayTopic(gatewayId), presenceTopic, usersTopic]) {
      this.unsubscribe.push(await bus.subscribe(topic, this.onBus));
    }
    await this.presenceHeartbeat(true);
    server.on('upgrade', this.onUpgrade);
    this.timer = setInterval(this.tick, 1000);
    this.timer.unref();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '').split('?')[0];
    const other = this.opts.upgrades?.[path];
    if (other && !this.draining) {
      other(req, socket, head);
      return;
    }
    if (path === '/mqtt' && this.mqtt) {
      this.mqtt.upgrade(req, socket, head); // admitted there, like /ws below
      return;
    }
    if (path !== '/ws' && !this.draining) {
      refuseUpgrade(socket, { status: 404, code: 'not_found', message: 'no such endpoint', retryAfterS: null });
      return;
    }
    const admitted = this.admit(req);
    if (!admitted.ok) {
      refuseUpgrade(socket, admitted.refusal);
      return;
    }
    // handleUpgrade calls back synchronously: no other upgrade is admitted in between.
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, admitted.address));
  };

  private onConnection(ws: WebSocket, address: string): void {
    ws[kSession] = this.accept(ws, address);
    (ws as WebSocketWithGateway)[kGateway] = this;
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('close', onClose);
    ws.on('error', onError);
  }

  /**
   * Whether a request may open a session (either transport): refused while draining, or
   * over the opening limits of its client address or of the server.
   */
  admit(req: IncomingMessage): Admitted {
    if (this.draining) return restarting;
    return this.admission.check(req);
  }

  /** admit() for a client known by its address alone (an MQTT connection over TCP). */
  admitAddress(address: string): Admitted {
    if (this.draining) return restarting;
    return this.admission.checkAddress(address);
  }

  /**
   * The MQTT CONNECT's check of its token (the protocol CONNECT that follows runs the full
   * one): the user it names, or the ProtocolError it is refused with.
   */
  async authenticate(token: string, deviceId: string): Promise<{ userId: string } | ProtocolError> {
    if (this.draining) return new ProtocolError('unavailable', 'shard restarting');
    try {
      const claims = await this.opts.auth.authenticate(token, deviceId);
      return { userId: claims.user_id };
    } catch (err) {
      return this.opts.failures.refusal(err, 'connect');
    }
  }

  takeOver(userId: string, deviceId: string, session: Session): void {
    // Through the bus, this gateway included: the older connection may be on any shard.
    this.opts.bus.publish(usersTopic, { t: 'takeover', user_id: userId, device_id: deviceId, session_id: session.id });
  }

  /** Opens the MQTT TCP port (0: any free one); resolves with the port taken. */
  listenMqtt(port: number, host: string): Promise<number> {
    if (!this.mqtt) throw new Error('MQTT is off');
    return this.mqtt.listen(port, host);
  }

  /**
   * Starts a session on a carrier (a ws socket, a long-poll queue, an MQTT connection): it must CONNECT
   * within the connect timeout; the carrier calls closed() when it ends.
   */
  accept(carrier: Carrier, address: string): Session {
    const session = new Session(newId('s'), carrier, Date.now(), null, this.opts.maxSocketBufferBytes, this.batch);
    this.live.add(session);
    this.pending.set(session, address);
    this.admission.pended(address);
    return session;
  }

  /** The session no longer waits for its CONNECT: it stops counting toward the opening caps. */
  private unpend(session: Session): void {
    const address = this.pending.get(session);
    if (address === undefined) return;
    this.pending.delete(session);
    this.admission.unpended(address);
  }

  /** True once drain() ran: no new sessions, frames are refused with `unavailable`. */
  isDraining(): boolean {
    return this.draining;
  }

  /** Closes every session with 1012 (reconnect and sync); the gateway keeps serving. */
  private resync(): void {
    if (this.draining) return;
    this.opts.obs.logger.warn('bus outage: closing sessions so clients resync', { sessions: this.live.size });
    // Revocations announced meanwhile were lost too: every user's state is read again.
    this.opts.auth.cache.clear();
    for (const s of this.live) s.carrier.close(CloseCode.restarting, 'bus outage: reconnect to sync');
  }

  /** Entry point for every frame of every session, whatever carried it. */
  frame(session: Session, data: RawData, isBinary: boolean): void {
    session.alive = true;
    if (this.draining) {
      // The ref lets a client retry exactly the send that was refused, on its next shard.
      this.sendError(session, new ProtocolError('unavailable', 'shard restarting'), refOf(data, isBinary, this.opts.limits.maxIdChars));
      return;
    }
    const size = frameSize(data);
    if (size > this.opts.limits.maxFrameBytes) {
      this.refuse(session, new ProtocolError('too_large', `frame exceeds ${this.opts.limits.maxFrameBytes} bytes`), null);
      return;
    }
    if (isBinary) {
      this.refuse(session, new ProtocolError('bad_request', 'frames must be text'), null);
      return;
    }
    const decoded = this.opts.intake.decode(data.toString());
    if (!decoded.ok) {
      this.refuse(session, decoded.error, decoded.ref);
      return;
    }
    this.handlers.handle(session, decoded.frame, size);
  }

  /**
   * Sends an ERROR and counts it (when the client is to blame); closes the connection on
   * repeated abuse, and at once when the refused frame was the first: a session that did not
   * open with a valid CONNECT has nothing to wait for (the connect timeout would only hold
   * the connection longer).
   */
  refuse(session: Session, failure: unknown, ref: string | null): void {
    const err = this.sendError(session, failure, ref);
    if (session.state === 'connecting') {
      session.close(CloseCode.protocolError, 'first frame must be a valid CONNECT');
      return;
    }
    const close = session.countRefusal(err.code, Date.now());
    if (close !== null) session.close(close, close === CloseCode.rateLimited ? 'rate limited' : 'too many bad frames');
  }

  /** The one place a session's failure becomes an ERROR frame (with its retry hint, if any). */
  sendError(session: Session, failure: unknown, ref: string | null): ProtocolError {
    const err = this.opts.failures.refusal(failure, session.state === 'open' ? 'frame' : 'connect');
    this.opts.obs.metrics.frameErrors.inc({ code: err.code });
    const frame = encodeFrame(
      err.retryAfterMs === null
        ? { type: 'ERROR', code: err.code, message: err.message, ref }
        : { type: 'ERROR', code: err.code, message: err.message, ref, retry_after_ms: err.retryAfterMs },
    );
    session.write(frame.text);
    return err;
  }

  connecting(session: Session): void {
    this.unpend(session);
  }

  /**
   * A map lookup per frame while the user's cached state is younger than the TTL; once
   * older (or gone), the state is read again and the answer is the promise of the verdict
   * (at most once per TTL per user; a SQLite read answers within the same turn).
   */
  authorized(session: Session): boolean | Promise<void> {
    const cached = this.opts.auth.cache.peek(session.userId);
    if (cached === undefined || cached.stale) return this.recheck(session.userId);
    if (this.counts(cached.state, session)) return true;
    this.signOut(session, cached.state);
    return false;
  }

  private counts(state: AuthState | null, session: Session): boolean {
    return tokenCounts(state, session.tokenGen, session.tokenDevice, session.deviceId);
  }

  /** Answers ERROR unauthorized (why) and closes with 4001: the client must sign in again. */
  private signOut(session: Session, state: AuthState | null): void {
    if (session.isClosed()) return;
    session.discardHeld();
    this.sendError(session, new ProtocolError('unauthorized', refusal(state)), null);
    session.close(CloseCode.unauthorized, 'unauthorized');
  }

  /** Closes the sessions of `userId` on this gateway whose token `state` no longer counts. */
  private enforce(userId: string, state: AuthState | null): void {
    const sessions = this.users.get(userId);
    if (sessions === undefined) return;
    // A copy: closing takes a session out of the list (asynchronously, but not only).
    for (const s of [...sessions]) if (!this.counts(state, s)) this.signOut(s, state);
  }

  /**
   * Reads a user's auth state again (once at a time per user) and enforces it on the
   * user's sessions. A failed read keeps the sessions: their tokens were checked before,
   * and the store failing refuses their commands anyway.
   */
  private recheck(userId: string): Promise<void> {
    const running = this.rechecking.get(userId);
    if (running !== undefined) return running;
    const check = this.opts.auth.cache
      .load(userId)
      .then(
        (state) => this.enforce(userId, state),
        (err: unknown) => {
          // Logged (at most every few seconds) and counted by the store's guard: one line
          // per user here would flood the log during an outage.
          if (this.opts.obs.logger.isDebugEnabled()) this.opts.obs.logger.debug('auth state read failed', { user_id: userId, err });
        },
      )
      .finally(() => this.rechecking.delete(userId));
    this.rechecking.set(userId, check);
    return check;
  }

  /** The heartbeat's auth re-check (recheck.ts): reads the users due, enforces every user's state. */
  private async revalidate(): Promise<void> {
    try {
      // A copy: enforcing may close sessions, which takes users out of the map.
      await this.authRecheck.sweep([...this.users.keys()], () => this.draining);
    } catch (err) {
      this.opts.obs.logger.error('auth re-check failed', { err });
    }
  }

  /** Registers a session that finished CONNECT in the local socket map. */
  register(session: Session): void {
    this.unpend(session);
    // A settings change that arrived while CONNECT read the user may be newer than that read.
    const recent = this.recentSettings.get(session.userId);
    if (recent !== undefined && recent.at >= session.openedAt) session.settings = recent.settings;
    const list = this.users.get(session.userId);
    if (list) list.push(session);
    else this.users.set(session.userId, [session]);
    this.opts.obs.metrics.connections.inc();
  }

  /** Called once per session when its carrier closes, whatever the cause. */
  closed(session: Session): void {
    this.live.delete(session);
    const wasRegistered = session.userId !== '' && this.users.get(session.userId)?.includes(session);
    session.state = 'closed';
    this.unpend(session);
    this.watch.unsubscribe(session);
    this.sessionBudgets.ping.delete(session.id);
    this.sessionBudgets.presenceSub.delete(session.id);
    if (!wasRegistered) return;
    const list = this.users.get(session.userId) as Session[];
    list.splice(list.indexOf(session), 1);
    if (list.length === 0) this.users.delete(session.userId);
    this.opts.obs.metrics.connections.dec();
    void this.watch.sessionEnded(session);
  }

  private readonly onBus = (msg: BusMessage): void => {
    switch (msg.t) {
      case 'frames': {
        // Encode once per gateway; every socket gets the same bytes.
        const bytes = Buffer.from(msg.frame);
        const isEphemeral = msg.frame_type === 'TYPING' || msg.frame_type === 'PRESENCE';
        let written = 0;
        for (const userId of msg.users) {
          const sessions = this.users.get(userId);
          if (!sessions) continue;
          for (const s of sessions) {
            if (s.id === msg.exclude_session) continue;
            s.write(bytes, isEphemeral);
            written++;
          }
        }
        if (written > 0 && msg.frame_type === 'DELIVER') this.opts.obs.metrics.deliveries.inc(written);
        return;
      }
      case 'presence':
        this.watch.delivered(msg);
        return;
      case 'settings': {
        for (const s of this.users.get(msg.user_id) ?? []) s.settings = msg.settings;
        this.recentSettings.set(msg.user_id, { settings: msg.settings, at: Date.now() });
        if (msg.presence_changed) void this.watch.settingsChanged(msg.user_id, msg.settings);
        return;
      }
      case 'takeover': {
        for (const s of [...(this.users.get(msg.user_id) ?? [])]) {
          if (s.deviceId === msg.device_id && s.id !== msg.session_id && s.carrier instanceof MqttConnection) {
            s.close(CloseCode.takenOver, 'the device connected again');
          }
        }
        return;
      }
      case 'auth': {
        // Into the cache first: a CONNECT registering right now checks the cache after
        // registering, so it cannot slip between this update and the sessions' check.
        const state = this.opts.auth.cache.apply(msg.state);
        this.enforce(msg.state.user_id, state);
        return;
      }
    }
  };

  /** One timer for every connection: connect timeouts each second, heartbeats each interval. */
  private readonly tick = (): void => {
    const now = Date.now();
    if (!this.presenceBusy) void this.presenceHeartbeat(false);
    for (const s of this.pending.keys()) {
      if (now - s.openedAt > this.opts.connectTimeoutMs) {
        this.unpend(s);
        s.close(CloseCode.protocolError, 'no CONNECT in time');
      }
    }
    if (now - this.lastSweep < this.opts.heartbeatMs) return;
    this.lastSweep = now;
    for (const list of this.users.values()) {
      for (const s of list) {
        if (!s.alive) {
          s.carrier.terminate();
          continue;
        }
        s.alive = false;
        s.carrier.ping();
      }
    }
    this.opts.budgets.sweep(now);
    this.sessionBudgets.ping.sweep(now);
    this.sessionBudgets.presenceSub.sweep(now);
    this.admission.sweep(now);
    void this.revalidate();
    for (const [userId, r] of this.recentSettings) if (now - r.at > recentSettingsMs) this.recentSettings.delete(userId);
    this.longPoll.sweep(now);
  };

  /** Presence heartbeat on each tick (see PresenceWatch.heartbeat); at attach (`strict`) errors stop the start. */
  private async presenceHeartbeat(strict: boolean): Promise<void> {
    this.presenceBusy = true;
    try {
      await this.watch.heartbeat(this.users);
    } catch (err) {
      if (strict) throw err;
      this.opts.obs.logger.error('presence heartbeat failed', { err });
    } finally {
      this.presenceBusy = false;
    }
  }

  /** Stops taking frames and connections; sessions stay open until closeAll(). */
  drain(): void {
    this.draining = true;
  }

  /**
   * Closes every session with 1012 (reconnect at once) and stops the timer; a waiting
   * long-poll answers at once with the close. Sockets whose close handshake has not
   * finished after `graceMs` (a peer that stopped reading) are terminated.
   */
  async closeAll(graceMs = 1000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubscribe) u();
    for (const s of this.live) if (!s.isClosed()) s.close(CloseCode.restarting, 'shard restarting');
    const deadline = Date.now() + graceMs;
    // Long-poll sessions count until a poll has carried their 1012 (a client between two
    // polls asks again within milliseconds), like sockets until their close handshake.
    while ((this.live.size > 0 || this.longPoll.unreportedCloses() > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.live) s.carrier.terminate();
    this.wss.close();
    this.mqtt?.close();
  }
}

const kGateway = Symbol('gateway');
interface WebSocketWithGateway extends WebSocket {
  [kGateway]?: Gateway;
}

const statusText: Record<number, string> = { 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/** An upgrade refused with an HTTP answer: an admission Refusal, or an unknown path. */
interface HttpRefusal {
  status: Refusal['status'] | 404;
  code: Refusal['code'] | 'not_found';
  message: string;
  retryAfterS: number | null;
}

/**
 * Answers an upgrade request with an HTTP error instead of switching protocols, in the
 * REST error shape (a client that cannot read close codes here still gets the code).
 */
function refuseUpgrade(socket: Duplex, r: HttpRefusal): void {
  const body = JSON.stringify({ error: { code: r.code, message: r.message } });
  const head = [
    `HTTP/1.1 ${r.status} ${statusText[r.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'Connection: close',
  ];
  if (r.retryAfterS !== null) head.push(`Retry-After: ${r.retryAfterS}`);
  // Destroyed once written: nothing else will be read from or written to this socket.
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

function frameSize(data: RawData): number {
  if (Buffer.isBuffer(data)) return data.length;
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}

// Module-level listeners: one function object for all sockets; `this` is the socket.
function onMessage(this: WebSocketWithGateway, data: RawData, isBinary: boolean): void {
  const session = this[kSession];
  if (session && session.state !== 'closed') this[kGateway]?.frame(session, data, isBinary);
}

function onPong(this: WebSocketWithGateway): void {
  const session = this[kSession];
  if (session) session.alive = true;
}

function onClose(this: WebSocketWithGateway): void {
  const session = this[kSession];
  if (session) this[kGateway]?.closed(session);
}

function onError(this: WebSocketWithGateway): void {
  // ws emits 'close' after 'error' (for example 1009 on an oversized frame); cleanup happens there.
}

/** The client_msg_id of a raw frame, or null: for refusals of frames that are not decoded. */
function refOf(data: RawData, isBinary: boolean, maxChars: number): string | null {
  if (isBinary) return null;
  try {
    const value: unknown = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8'));
    const id = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).client_msg_id : undefined;
    return echoableRef(id, maxChars);
  } catch {
    return null;
  }
}

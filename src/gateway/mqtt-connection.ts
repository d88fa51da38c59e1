/**
 * One MQTT connection (docs/protocol.md, "MQTT"): MQTT 3.1.1 or 5 packets in, the session's
 * frames out as PUBLISHes on the device's topic. It is the session's Carrier, so the
 * gateway writes to it exactly as to a WebSocket; everything MQTT-specific (CONNACK codes,
 * topics, QoS 1 bookkeeping, keep-alive, DISCONNECT reason codes) stays in this file.
 * Packets are parsed and written by mqtt-packet: no hand-written codec.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import mqttPacket, { type IConnackPacket, type IConnectPacket, type IPublishPacket, type ISubscribePacket, type Packet, type Parser } from 'mqtt-packet';
import type { Gauge } from 'prom-client';
import { CloseCode, ProtocolError, clientFrameTypes } from '../protocol';
import type { Admitted } from './admission';
import { Parsers, parseV4, parseV5, type DueAcks, type ParserState, type RefusedWaiting } from './mqtt-shared';
import type { Carrier, FrameOptions, Session } from './session';

/** What a connection needs of the gateway (implemented by Gateway, through MqttListener). */
export interface MqttHost {
  /** Starts a session on this carrier: it must CONNECT (the protocol frame) within the connect timeout. */
  accept(carrier: Carrier, address: string): Session;
  /** The MQTT CONNECT's token for `deviceId`: its user, or why not (an unauthorized or unavailable ProtocolError). */
  authenticate(token: string, deviceId: string): Promise<{ userId: string } | ProtocolError>;
  /** The entry point of every client frame, whatever carried it. */
  frame(session: Session, data: Buffer, isBinary: boolean): void;
  /** Answers ERROR and counts the refusal (closing on abuse, or at once for a bad first frame). */
  refuse(session: Session, err: unknown, ref: string | null): void;
  /** Called once when a session's carrier has closed. */
  closed(session: Session): void;
  /** The device connected over MQTT: its older MQTT sessions, on any shard, are closed (4009). */
  takeOver(userId: string, deviceId: string, session: Session): void;
}

/** Limits every connection of a listener shares (set by the gateway). */
export interface MqttLimits {
  /** Largest packet read: the WebSocket hard cap for the payload plus room for MQTT headers. */
  maxPacketBytes: number;
  /** Keep-alive used when the client asks for none or for more (seconds). */
  maxKeepAliveS: number;
  /** Longest a device id (the client id) may be: the protocol's id limit. */
  maxIdChars: number;
  /** How long a connection refused by the opening limits may wait for its CONNECT (to hear why). */
  connectTimeoutMs: number;
  /** Open MQTT connections (a gauge of the metrics registry). */
  sessions: Gauge;
  /** MAX_SOCKET_BUFFER_BYTES: replies a client does not read close it like frames do (4003). */
  maxBufferedBytes: number;
}

/** The limits plus what the listener's connections share (mqtt-shared.ts). */
export interface MqttSettings extends MqttLimits {
  parsers: Parsers;
  acks: DueAcks;
  refused: RefusedWaiting;
}

/** The one topic clients publish frames to. */
export const upTopic = 'up';
/** The device's own topic: every frame of its session arrives here. */
export const downTopic = (userId: string, deviceId: string): string => `down/${userId}/${deviceId}`;

/** MQTT 5 reason codes this server sends (OASIS MQTT 5.0, 2.4). */
const Reason = {
  success: 0x00,
  unspecified: 0x80,
  malformed: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  clientIdNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  serverShuttingDown: 0x8b,
  sessionTakenOver: 0x8e,
  packetTooLarge: 0x95,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  qosNotSupported: 0x9b,
  connectionRateExceeded: 0x9f,
} as const;

/** MQTT 3.1.1 CONNACK return codes (3.2.2.3). */
const Return311 = { accepted: 0, badVersion: 1, identifierRejected: 2, serverUnavailable: 3, badCredentials: 4 } as const;

/** The protocol's close codes as MQTT 5 DISCONNECT reason codes (the close notice carries the exact code). */
function disconnectReason(code: number): number {
  switch (code) {
    case CloseCode.unauthorized:
      return Reason.notAuthorized;
    case CloseCode.protocolError:
      return Reason.protocolError;
    case CloseCode.slowConsumer:
      return Reason.quotaExceeded;
    case CloseCode.rateLimited:
      return Reason.messageRateTooHigh;
    case CloseCode.tooLarge:
      return Reason.packetTooLarge;
    case CloseCode.restarting:
      return Reason.serverShuttingDown;
    case CloseCode.tryAgainLater:
      return Reason.serverBusy;
    case CloseCode.takenOver:
      return Reason.sessionTakenOver;
    default:
      return Reason.unspecified;
  }
}

type Phase = 'new' | 'authenticating' | 'open' | 'closed';

const connectType = Buffer.from('"CONNECT"');
/** Largest packet before the MQTT CONNECT is accepted: a CONNECT (token, ids) is a few KiB. */
const maxConnectBytes = 16 * 1024;
/** Packets a client may send while its CONNECT is being checked (they are held until the CONNACK). */
const maxEarlyPackets = 64;
const knownTypes: readonly string[] = clientFrameTypes;
/** The budget of frames sent behind a CONNECT before its CONNACK (docs/protocol.md, "Session"). */
const maxBeforeConnect = 256;
const maxBeforeConnectBytes = 256 * 1024;

/** The JSON object a payload holds, or null. */
function jsonObject(payload: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Per connection: plain fields and one parser, no closures or timers: the gateway's
 * connect timeout and heartbeat apply to its session as to any other.
 */
export class MqttConnection implements Carrier {
  private phase: Phase = 'new';
  private version: 4 | 5 = 4;
  /** Frames arrive on this topic; set once the MQTT CONNECT is accepted. */
  private topic = '';
  private token = '';
  private deviceId = '';
  private keepAliveMs = 0;
  /** When a packet last arrived: the keep-alive rule counts from it. */
  private lastHeard = Date.now();
  /** QoS 1 unless the client subscribed its topic at QoS 0. */
  private maxQos: 0 | 1 = 1;
  /** MQTT 5: the client accepts topic alias 1, and whether the alias has been set. */
  private aliasAllowed = false;
  private aliasSet = false;
  private nextId = 0;
  /** QoS 1 frames written and not yet PUBACKed: packet id -> bytes, oldest first. */
  private inflight: Map<number, number> | null = null;
  private inflightBytes = 0;
  /** MQTT 5 receive maximum: QoS 1 frames past it wait here (oldest first). */
  private receiveMax = 65_535;
  private waiting: { frame: Buffer; qos: 0 | 1 }[] | null = null;
  private waitingBytes = 0;
  /** PUBACKs not yet written: [packet id, reason code] pairs, oldest first (see acknowledge). */
  private acks: number[] | null = null;
  /** MQTT 5: the client's largest packet (0: no limit). */
  private clientMaxPacket = 0;
  /** Frames published before the protocol CONNECT (see holdBeforeConnect). */
  private beforeConnect: Buffer[] | null = null;
  private beforeConnectBytes = 0;
  /** Packets that arrived while the CONNECT was being checked, handled after its CONNACK. */
  private early: Packet[] | null = null;
  /** A PINGREQ came in this chunk: one PINGRESP answers them all (a flood gets one). */
  private pingDue = false;
  /** Only for a connection refused by the opening limits: its absolute deadline. */
  private refusedTimer: NodeJS.Timeout | null = null;
  session: Session | null = null;
  /** The parser, only while it holds part of a packet (see Parsers). */
  private parser: Parser | null = null;

  constructor(
    private readonly stream: Duplex,
    /** The TCP socket (the stream itself, or the one under MQTT over WebSocket): WriteBatch corks it. */
    readonly _socket: Socket | null,
    address: string,
    /** The admission verdict for this connection's address, answered at its CONNECT when refused. */
    private readonly admitted: Admitted,
    private readonly host: MqttHost,
    private readonly settings: MqttSettings,
  ) {
    // Module-level listeners find the connection through a symbol: no closures per connection.
    (stream as Linked)[kConnection] = this;
    stream.on('data', onStreamData);
    // MQTT over WebSocket: the client's close ends the stream without closing it.
    stream.on('end', onStreamEnd);
    stream.on('close', onStreamClose);
    stream.on('error', onStreamError);
    settings.sessions.inc();
    if (admitted.ok) {
      this.session = host.accept(this, address);
      return;
    }
    // No session counts this connection: it may wait for its CONNECT to hear why it is
    // refused, at most CONNECT_TIMEOUT_MS, and only so many such connections wait at once.
    const refused = settings.refused;
    if (refused.count >= refused.max) {
      stream.destroy();
      return;
    }
    refused.count++;
    this.refusedTimer = setTimeout(() => this.terminate(), settings.connectTimeoutMs);
    this.refusedTimer.unref();
  }

  get bufferedAmount(): number {
    return this.stream.writableLength + this.inflightBytes + this.waitingBytes;
  }

  /** @internal */
  onData(chunk: Buffer): void {
    this.lastHeard = Date.now();
    if (this.session) this.session.alive = true;
    const parsers = this.settings.parsers;
    const parser = this.parser ?? parsers.take();
    const state = parser as unknown as ParserState;
    (parser as Linked)[kConnection] = this;
    // The parser reads MQTT 5 properties only once told the connection speaks 5.
    state.settings = this.version === 5 ? parseV5 : parseV4;
    parser.parse(chunk);
    if (Parsers.busy(parser)) {
      this.parser = parser;
    } else {
      this.parser = null;
      (parser as Linked)[kConnection] = undefined;
      parsers.give(parser);
    }
    if (this.phase === 'closed') return;
    if (this.pingDue) {
      this.pingDue = false;
      this.write({ cmd: 'pingresp' });
    }
    // The length is known before the payload is buffered: refuse a huge packet now, not
    // after reading all of it. Before the CONNECT only a CONNECT may come: a few KiB.
    const length = state.packet.length;
    const max = this.phase === 'open' ? this.settings.maxPacketBytes : maxConnectBytes;
    if (length > max) {
      // 1009 as on /ws (a frame over the hard cap): the close notice, then DISCONNECT 0x95.
      if (this.session && this.phase === 'open') this.session.close(CloseCode.tooLarge, `packet over ${max} bytes`);
      else this.fail(Reason.packetTooLarge, `packet over ${max} bytes`);
      return;
    }
    // Replies (PUBACK, SUBACK, PINGRESP) a client does not read count like frames it does not.
    if (this.stream.writableLength > this.settings.maxBufferedBytes) {
      if (this.session && this.phase === 'open') this.session.close(CloseCode.slowConsumer, 'slow consumer');
      else this.terminate();
    }
  }

  /** @internal */
  onPacket(packet: Packet): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'authenticating') {
      const early = (this.early ??= []);
      if (early.length >= maxEarlyPackets) this.fail(Reason.protocolError, 'too many packets before the CONNACK');
      else early.push(packet);
      return;
    }
    if (this.phase === 'new') {
      if (packet.cmd !== 'connect') {
        this.stream.destroy(); // MQTT-3.1.0-1: the first packet must be CONNECT
        return;
      }
      void this.onConnect(packet);
      return;
    }
    this.handle(packet);
  }

  private handle(packet: Packet): void {
    switch (packet.cmd) {
      case 'publish':
        this.onPublish(packet);
        return;
      case 'puback':
        this.onPuback(packet.messageId ?? 0);
        return;
      case 'subscribe':
        this.onSubscribe(packet);
        return;
      case 'unsubscribe':
        this.write({ cmd: 'unsuback', messageId: packet.messageId, ...(this.version === 5 ? { granted: packet.unsubscriptions.map(() => Reason.success) } : {}) } as Packet);
        return;
      case 'pingreq':
        this.pingDue = true; // answered once the chunk is parsed
        return;
      case 'disconnect':
        // The client closing its socket: the session ends like a WebSocket closed by its client.
        this.end();
        return;
      default:
        // A second CONNECT, AUTH, QoS 2 flow, or a packet only a server sends.
        this.fail(Reason.protocolError, `unexpected ${packet.cmd} packet`);
    }
  }

  private async onConnect(packet: IConnectPacket): Promise<void> {
    this.version = packet.protocolVersion === 5 ? 5 : 4;
    if (packet.protocolVersion !== 4 && packet.protocolVersion !== 5) {
      // MQTT 3.1 and unknown levels: answered in 3.1.1's terms, which every client reads.
      this.version = 4;
      this.refuseConnect(Return311.badVersion, Reason.protocolError, 'MQTT 3.1.1 or 5 only');
      return;
    }
    if (!this.admitted.ok) {
      const r = this.admitted.refusal;
      this.refuseConnect(Return311.serverUnavailable, r.status === 429 ? Reason.connectionRateExceeded : Reason.serverUnavailable, r.message);
      return;
    }
    const deviceId = packet.clientId;
    // The device id is a level of the device's topic: no wildcard, separator or NUL in it.
    if (deviceId.length === 0 || deviceId.length > this.settings.maxIdChars || /[+#/\u0000]/.test(deviceId)) {
      this.refuseConnect(Return311.identifierRejected, Reason.clientIdNotValid, `the client id is the device id: 1 to ${this.settings.maxIdChars} characters, none of + # / or NUL`);
      return;
    }
    if (packet.will) {
      this.refuseConnect(Return311.identifierRejected, Reason.implementationSpecific, 'will messages are not supported');
      return;
    }
    const token = packet.password?.toString('utf8') ?? '';
    if (token === '') {
      this.refuseConnect(Return311.badCredentials, Reason.badUserNameOrPassword, 'the password is the access token');
      return;
    }
    this.phase = 'authenticating';
    this.stream.pause();
    const verdict = await this.host.authenticate(token, deviceId).catch((err: unknown) => new ProtocolError('internal', String(err)));
    this.stream.resume();
    if (this.phase !== 'authenticating') return; // closed meanwhile (connect timeout, shutdown)
    if (verdict instanceof ProtocolError) {
      const unauthorized = verdict.code === 'unauthorized';
      this.refuseConnect(
        unauthorized ? Return311.badCredentials : Return311.serverUnavailable,
        unauthorized ? Reason.badUserNameOrPassword : Reason.serverUnavailable,
        verdict.message,
      );
      return;
    }
    this.token = token;
    this.deviceId = deviceId;
    this.topic = downTopic(verdict.userId, deviceId);
    this.host.takeOver(verdict.userId, deviceId, this.session as Session);
    const asked = packet.keepalive ?? 0;
    const keepAliveS = asked === 0 || asked > this.settings.maxKeepAliveS ? this.settings.maxKeepAliveS : asked;
    this.keepAliveMs = keepAliveS * 1000;
    const props = packet.properties;
    if (props?.receiveMaximum === 0 || props?.maximumPacketSize === 0) {
      // MQTT 5 makes 0 a protocol error for both (3.1.2.11.3, 3.1.2.11.4).
      this.refuseConnect(Return311.identifierRejected, Reason.protocolError, 'receive maximum and maximum packet size must not be 0');
      return;
    }
    this.aliasAllowed = (props?.topicAliasMaximum ?? 0) >= 1;
    this.receiveMax = props?.receiveMaximum ?? 65_535;
    this.clientMaxPacket = props?.maximumPacketSize ?? 0;
    this.phase = 'open';
    const connack: IConnackPacket = { cmd: 'connack', sessionPresent: false, returnCode: 0 };
    if (this.version === 5) {
      connack.reasonCode = Reason.success;
      connack.properties = {
        maximumQoS: 1,
        retainAvailable: false,
        maximumPacketSize: this.settings.maxPacketBytes,
        topicAliasMaximum: 0,
        wildcardSubscriptionAvailable: false,
        subscriptionIdentifiersAvailable: false,
        sharedSubscriptionAvailable: false,
        ...(keepAliveS !== asked ? { serverKeepAlive: keepAliveS } : {}),
      };
    }
    this.write(connack);
    const early = this.early;
    this.early = null;
    if (early) for (const p of early) if (this.phase === 'open') this.handle(p);
  }

  /** CONNACK with the refusal (3.1.1 return code or MQTT 5 reason code and why), then the close. */
  private refuseConnect(code311: number, code5: number, why: string): void {
    const connack: IConnackPacket = { cmd: 'connack', sessionPresent: false };
    if (this.version === 5) {
      connack.reasonCode = code5;
      connack.properties = { reasonString: why };
    } else {
      connack.returnCode = code311;
    }
    this.write(connack);
    this.end();
  }

  private onPublish(packet: IPublishPacket): void {
    const session = this.session as Session;
    if (packet.qos === 2) {
      // No PUBREC is coming: say why before closing, on both protocol levels.
      this.host.refuse(session, new ProtocolError('bad_request', 'QoS 2 is not supported: publish at QoS 0 or 1'), null);
      session.close(CloseCode.protocolError, 'QoS 2 is not supported');
      return;
    }
    const allowed = packet.topic === upTopic;
    if (packet.qos === 1) this.acknowledge(packet.messageId ?? 0, allowed ? Reason.success : Reason.notAuthorized);
    if (!allowed) {
      this.host.refuse(session, new ProtocolError('forbidden', `frames are published to "${upTopic}" only`), null);
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (!isUtf8(payload)) {
      this.host.refuse(session, new ProtocolError('bad_request', 'a frame is UTF-8 JSON text'), null);
      return;
    }
    // Only a CONNECT, or a frame before it, is looked into; every other frame goes on as it came.
    if (session.state !== 'connecting' && payload.indexOf(connectType) < 0) {
      this.host.frame(session, payload, false);
      return;
    }
    const frame = jsonObject(payload);
    if (frame?.type === 'CONNECT') {
      // A second one (a library replaying a CONNECT it had queued offline) is refused as on
      // /ws, not for the token it no longer carries.
      const filled = session.state === 'connecting' ? this.connectFrame(frame) : new ProtocolError('bad_request', 'already connected');
      if (filled instanceof ProtocolError) {
        this.host.refuse(session, filled, null);
        return;
      }
      this.host.frame(session, filled, false);
      this.releaseBeforeConnect(session);
      return;
    }
    if (session.state === 'connecting' && typeof frame?.type === 'string' && knownTypes.includes(frame.type)) {
      this.holdBeforeConnect(session, payload);
      return;
    }
    this.host.frame(session, payload, false); // refused by the gateway, as on /ws
  }

  /**
   * MQTT libraries resend unacknowledged PUBLISHes (and flush what they queued offline) as
   * soon as the MQTT CONNACK arrives, before the app can publish its protocol CONNECT: such
   * frames wait for it and are handled right after it, in order, within the budget of
   * frames sent behind a CONNECT (256 frames, 256 KiB; over it, refused and closed 4002).
   */
  private holdBeforeConnect(session: Session, payload: Buffer): void {
    const held = (this.beforeConnect ??= []);
    this.beforeConnectBytes += payload.length;
    if (held.length >= maxBeforeConnect || this.beforeConnectBytes > maxBeforeConnectBytes) {
      this.host.refuse(session, new ProtocolError('rate_limited', `at most ${maxBeforeConnect} frames and ${maxBeforeConnectBytes / 1024} KiB before CONNECT`), null);
      return;
    }
    held.push(payload);
  }

  private releaseBeforeConnect(session: Session): void {
    const held = this.beforeConnect;
    this.beforeConnect = null;
    this.beforeConnectBytes = 0;
    if (held) for (const payload of held) if (!session.isClosed()) this.host.frame(session, payload, false);
  }

  /**
   * The protocol CONNECT over MQTT: its token and device id may be left out (the MQTT
   * CONNECT's are used); when given they must be the same.
   */
  private connectFrame(frame: Record<string, unknown>): Buffer | ProtocolError {
    if (frame.token !== undefined && frame.token !== this.token) {
      return new ProtocolError('bad_request', "CONNECT: token differs from the MQTT CONNECT's password");
    }
    if (frame.device_id !== undefined && frame.device_id !== this.deviceId) {
      return new ProtocolError('bad_request', "CONNECT: device_id differs from the MQTT CONNECT's client id");
    }
    const filled = Buffer.from(JSON.stringify({ ...frame, token: this.token, device_id: this.deviceId }));
    this.token = ''; // a session has one CONNECT: an idle connection need not keep the token
    return filled;
  }

  private onSubscribe(packet: ISubscribePacket): void {
    const own = [this.topic, `${this.topic}/close`, `${this.topic}/#`];
    const granted = packet.subscriptions.map((s) => {
      if (!own.includes(s.topic)) return this.version === 5 ? Reason.notAuthorized : Reason.unspecified;
      const qos: 0 | 1 = s.qos === 0 ? 0 : 1;
      if (s.topic !== `${this.topic}/close`) this.maxQos = qos;
      return qos;
    });
    this.write({ cmd: 'suback', messageId: packet.messageId, granted } as Packet);
  }

  private onPuback(id: number): void {
    const inflight = this.inflight;
    const bytes = inflight?.get(id);
    if (inflight === null || bytes === undefined) return;
    inflight.delete(id);
    this.inflightBytes -= bytes;
    if (inflight.size === 0) this.inflight = null;
    this.sendWaiting(false);
  }

  private inflightCount(): number {
    return this.inflight === null ? 0 : this.inflight.size;
  }

  /**
   * Writes the frames that wait for room under the receive maximum, in order, as far as
   * room allows; `closing`: all of them, at QoS 0 (nothing will be resent after the close,
   * and the last ones, such as the ERROR saying why, must not be overtaken by the close).
   */
  private sendWaiting(closing: boolean): void {
    const waiting = this.waiting;
    if (waiting === null) return;
    let i = 0;
    for (; i < waiting.length; i++) {
      const { frame, qos } = waiting[i];
      if (!closing && qos === 1 && this.inflightCount() >= this.receiveMax) break;
      this.waitingBytes -= frame.length;
      this.publish(frame, closing ? 0 : qos);
    }
    waiting.splice(0, i);
    if (waiting.length === 0) this.waiting = null;
  }

  send(data: string | Buffer, options: FrameOptions): void {
    if (this.phase !== 'open') return;
    const frame = typeof data === 'string' ? Buffer.from(data) : data;
    // Frames that may be lost with the connection go at QoS 0: typing, presence and PONG
    // are stale by the time a reconnect could resend them.
    const qos = this.maxQos === 0 || options.ephemeral ? 0 : 1;
    // Behind a frame that waits, every frame waits (QoS 0 ones too): the order is the protocol's.
    if (this.waiting !== null || (qos === 1 && this.inflightCount() >= this.receiveMax)) {
      (this.waiting ??= []).push({ frame, qos });
      this.waitingBytes += frame.length;
      return;
    }
    this.publish(frame, qos);
  }

  /**
   * Queues a PUBACK: it goes out with the next frame written to this connection (most often
   * the ACK of the SEND it acknowledges, a few ms later) or after pubackDelayMs, saving a
   * write of its own per message. PUBACKs keep the order of their PUBLISHes (MQTT-4.6.0-2).
   */
  private acknowledge(messageId: number, reason: number): void {
    if (this.acks === null) {
      this.acks = [];
      this.settings.acks.add(this);
      this.settings.acks.schedule();
    }
    this.acks.push(messageId, reason);
  }

  /** Writes the queued PUBACKs (called before any frame, and by the delay's timer). */
  flushAcks(): void {
    const acks = this.acks;
    if (acks === null) return;
    this.acks = null;
    this.settings.acks.delete(this);
    if (this.phase !== 'open') return;
    // One write for all of them (nested corks are counted: inside a batch this flushes nothing).
    this._socket?.cork();
    for (let i = 0; i < acks.length; i += 2) {
      this.write({ cmd: 'puback', messageId: acks[i], ...(this.version === 5 && acks[i + 1] !== Reason.success ? { reasonCode: acks[i + 1] } : {}) } as Packet);
    }
    this._socket?.uncork();
  }

  private publish(frame: Buffer, qos: 0 | 1, topic = this.topic): void {
    if (this.stream.destroyed) return;
    if (this.acks !== null) this.flushAcks();
    const packet: IPublishPacket = { cmd: 'publish', topic, payload: frame, qos, dup: false, retain: false };
    if (this.version === 5 && this.aliasAllowed && topic === this.topic) {
      // Topic alias 1 stands for the device's topic after the first frame: an empty topic
      // name and the alias property, 5 bytes instead of ~40.
      packet.properties = { topicAlias: 1 };
      if (this.aliasSet) packet.topic = '';
      this.aliasSet = true;
    }
    if (qos === 1) {
      const inflight = (this.inflight ??= new Map());
      // An id still unacknowledged after 65,535 more frames is skipped, never reused.
      do this.nextId = this.nextId === 65_535 ? 1 : this.nextId + 1;
      while (inflight.has(this.nextId));
      packet.messageId = this.nextId;
      inflight.set(this.nextId, frame.length);
      this.inflightBytes += frame.length;
    }
    const bytes = encode(packet, this.version);
    if (this.clientMaxPacket > 0 && bytes.length > this.clientMaxPacket) {
      // MQTT forbids sending it, and dropping a frame silently would lose it: the client
      // reconnects and pages what it missed over REST instead.
      this.close(CloseCode.tooLarge, "frame over the client's maximum packet size");
      return;
    }
    this.stream.write(bytes);
  }

  private write(packet: Packet): void {
    if (this.stream.destroyed) return;
    this.stream.write(encode(packet, this.version));
  }

  /**
   * The session closes: the close notice on the device's close topic, MQTT 5's DISCONNECT
   * with the matching reason code, then the connection ends.
   */
  close(code: number, reason: string): void {
    if (this.phase === 'closed') {
      // Asked again (a connect timeout after the client's DISCONNECT, a shutdown): whatever
      // still holds the socket (a peer that never finishes the close) is cut.
      this.stream.destroy();
      return;
    }
    if (this.phase === 'open') {
      this.flushAcks(); // what was handed to the session is acknowledged, not resent
      this.sendWaiting(true);
      this.publish(Buffer.from(JSON.stringify({ code, reason })), 0, `${this.topic}/close`);
      if (this.version === 5) this.write({ cmd: 'disconnect', reasonCode: disconnectReason(code), properties: { reasonString: `${code} ${reason}` } });
    }
    this.end();
  }

  /**
   * A broken client (malformed packet, protocol violation, too large): MQTT 5 hears why,
   * then the connection ends. @internal
   */
  fail(reasonCode: number, why: string): void {
    if (this.phase === 'closed') return;
    const wasOpen = this.phase === 'open';
    this.phase = 'closed';
    if (wasOpen && this.version === 5) this.write({ cmd: 'disconnect', reasonCode, properties: { reasonString: why } });
    this.end();
  }

  private end(): void {
    this.phase = 'closed';
    this.stream.pause(); // nothing more is read from a connection being closed
    this.stream.end(() => this.stream.destroy());
  }

  terminate(): void {
    this.phase = 'closed';
    this.stream.destroy();
  }

  /**
   * The heartbeat's check (the server never pings an MQTT client): alive while a packet
   * arrived within 1.5 × the keep-alive (MQTT-3.1.2-24), else dropped.
   */
  ping(): void {
    if (this.phase !== 'open' || this.session === null) return;
    if (Date.now() - this.lastHeard > this.keepAliveMs * 1.5) {
      this.terminate();
      return;
    }
    this.session.alive = true;
  }

  /** @internal */
  parseError(err: Error): void {
    if (this.phase === 'new' && err.message === 'Invalid protocol version') {
      // MQTT-3.1.2-2: a level this server does not speak gets CONNACK 1 (3.1.1's form, which every client reads).
      this.write({ cmd: 'connack', sessionPresent: false, returnCode: Return311.badVersion });
      this.end();
      return;
    }
    this.fail(Reason.malformed, 'malformed packet');
  }

  /** @internal */
  onClose(): void {
    this.phase = 'closed';
    this.settings.sessions.dec();
    this.parser = null;
    this.acks = null;
    this.settings.acks.delete(this);
    if (this.refusedTimer !== null) {
      clearTimeout(this.refusedTimer);
      this.refusedTimer = null;
      this.settings.refused.count--;
    }
    if (this.session) this.host.closed(this.session);
  }
}

const kConnection = Symbol('mqtt connection');

/**
 * Collects what mqtt-packet's writeToStream writes. mqtt-packet's generate() builds an
 * event emitter and a 20-slot array per packet; the profile of S12 showed that churn, so
 * one sink is reused (writing is synchronous: nothing else writes to it in between).
 */
const sink = {
  chunks: [] as (Buffer | string)[],
  error: null as Error | null,
  write(chunk: Buffer | string): boolean {
    this.chunks.push(chunk);
    return true;
  },
  destroy(err?: Error): void {
    this.error = err ?? new Error('invalid MQTT packet');
  },
};
const options4 = { protocolVersion: 4 };
const options5 = { protocolVersion: 5 };

/** One packet's bytes, written by mqtt-packet. */
function encode(packet: Packet, version: 4 | 5): Buffer {
  sink.chunks = [];
  sink.error = null;
  mqttPacket.writeToStream(packet, sink as unknown as NodeJS.WritableStream, version === 5 ? options5 : options4);
  if (sink.error) throw sink.error;
  const chunks = sink.chunks;
  for (let i = 0; i < chunks.length; i++) if (typeof chunks[i] === 'string') chunks[i] = Buffer.from(chunks[i] as string);
  return Buffer.concat(chunks as Buffer[]);
}

/** A parser for a listener's pool: its listeners find the connection it parses for through kConnection. */
export function newMqttParser(): Parser {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', onParsedPacket);
  parser.on('error', onParseError);
  return parser;
}

type Linked = { [kConnection]?: MqttConnection };

// `this` is the parser or the stream the listener was added to.
function onParsedPacket(this: Linked, packet: Packet): void {
  this[kConnection]?.onPacket(packet);
}

function onParseError(this: Linked, err: Error): void {
  this[kConnection]?.parseError(err);
}

function onStreamData(this: Linked, chunk: Buffer): void {
  this[kConnection]?.onData(chunk);
}

function onStreamEnd(this: Linked): void {
  this[kConnection]?.terminate();
}

function onStreamClose(this: Linked): void {
  this[kConnection]?.onClose();
}

function onStreamError(): void {
  // 'close' follows every error; the session ends there.
}

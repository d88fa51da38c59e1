/**
 * The MQTT carrier (spec: docs/protocol.md, "MQTT"): the same frames as the WebSocket, one
 * per PUBLISH, through the stock `mqtt` package: over TCP (`mqtt://`, `mqtts://`) in Node,
 * over WebSocket (`ws://`, `wss://`) anywhere. It satisfies `WebSocketLike`, so ChatClient
 * drives it exactly like a socket; only the carrier differs. The package is loaded by a
 * dynamic import when the first MQTT carrier is built, so an app or bundle that never
 * chooses MQTT never loads it.
 */
import type { ErrorFrame } from '../protocol/frames';
import { CloseCode } from '../protocol/errors';
import type { CloseEventLike, MessageEventLike, WebSocketLike } from './socket';
import { CLOSED, CLOSING, CONNECTING, OPEN, SocketListeners, type SocketEvents } from './socket';

/** The options of `mqtt.connect` this carrier sets. */
export interface MqttConnectOptions {
  clientId: string;
  username: string;
  password: string;
  protocolVersion: 4 | 5;
  keepalive: number;
  reconnectPeriod: number;
  connectTimeout: number;
  clean: boolean;
  resubscribe: boolean;
  queueQoSZero: boolean;
  properties?: { topicAliasMaximum?: number };
}

/** A server DISCONNECT (MQTT 5), as `mqtt` reports it. */
export interface MqttDisconnectPacket {
  reasonCode?: number;
  properties?: { reasonString?: string };
}

/** Any packet from the server, as `mqtt` reports it ('packetreceive'). */
export interface MqttPacket {
  cmd: string;
  properties?: { reasonString?: string };
}

/** The part of the `mqtt` package's MqttClient this carrier uses (tests pass a fake). */
export interface MqttClientLike {
  on(event: 'connect', listener: () => void): unknown;
  on(event: 'message', listener: (topic: string, payload: Uint8Array) => void): unknown;
  on(event: 'disconnect', listener: (packet: MqttDisconnectPacket) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'packetreceive', listener: (packet: MqttPacket) => void): unknown;
  publish(topic: string, payload: string, opts: { qos: 0 }): unknown;
  subscribe(topic: string, opts: { qos: 0 }): unknown;
  /** `force` false sends DISCONNECT first. */
  end(force: boolean): unknown;
}

/** `mqtt.connect`, narrowed. */
export type MqttConnect = (url: string, opts: MqttConnectOptions) => MqttClientLike;

export interface MqttOptions {
  /** The MQTT CONNECT's password. */
  token: string;
  /** The MQTT CONNECT's client id. */
  deviceId: string;
  /** 5 (default) or 4 (MQTT 3.1.1). */
  protocolVersion?: 4 | 5;
  /** Seconds between PINGREQs when idle. Default 60. */
  keepaliveS?: number;
  /** Gives `mqtt.connect`; by default the `mqtt` package, imported on first use. */
  load?: () => Promise<MqttConnect>;
}

/** The topic every client frame is published to. */
const upTopic = 'up';
/** `keepaliveS` when not given: an idle connection costs one PINGREQ a minute. */
const defaultKeepaliveS = 60;
/** Close code of an abnormal end (no close notice), as browsers report it. */
const abnormal = 1006;

/**
 * What a refused MQTT CONNECT means, as the close code a `/ws` session would have got:
 * a bad token stops the client (4001), an unavailable or overloaded server is "try
 * again later" (1013, backoff with full jitter), anything else is a client error (4002).
 */
const refusals: Record<4 | 5, Record<number, number>> = {
  // 3.1.1 return codes: 4 bad user name or password, 5 not authorized, 3 server unavailable.
  4: { 4: CloseCode.unauthorized, 5: CloseCode.unauthorized, 3: CloseCode.tryAgainLater },
  // MQTT 5 reason codes: 0x86 bad user name or password, 0x87 not authorized, 0x88 server
  // unavailable, 0x89 server busy, 0x9f connection rate exceeded.
  5: { 0x86: CloseCode.unauthorized, 0x87: CloseCode.unauthorized, 0x88: CloseCode.tryAgainLater, 0x89: CloseCode.tryAgainLater, 0x9f: CloseCode.tryAgainLater },
};

/** The close code behind an MQTT 5 DISCONNECT's reason code, for a server that sent no close notice. */
const disconnects: Record<number, number> = {
  0x87: CloseCode.unauthorized,
  0x82: CloseCode.protocolError,
  0x97: CloseCode.slowConsumer,
  0x96: CloseCode.rateLimited,
  0x95: CloseCode.tooLarge,
  0x8b: CloseCode.restarting,
  0x89: CloseCode.tryAgainLater,
};

/**
 * One MQTT connection: 'open' at the MQTT CONNACK, each PUBLISH on the device's topic is a
 * 'message' whose `data` is its payload, `send` publishes to `up`. `mqtt`'s own reconnects
 * and message store are off: ChatClient reconnects and its outbox resends.
 *
 * Ending: the close notice on the device's `.../close` topic gives the 'close' event its
 * code and reason (else an MQTT 5 DISCONNECT's reason code, else 1006 with 'error' first).
 * A refused MQTT CONNECT closes with the code a `/ws` session would get (see `refusals`);
 * a bad token is first reported as the protocol's `ERROR unauthorized` frame, as the server
 * sends it on `/ws`, so ChatClient reports it the same way.
 */
export class MqttSocket implements WebSocketLike {
  private state: number = CONNECTING;
  private readonly listeners = new SocketListeners();
  private readonly protocolVersion: 4 | 5;
  private client: MqttClientLike | null = null;
  /** The server's close notice, or what its DISCONNECT said. */
  private closing: CloseEventLike | null = null;
  /** The last error `mqtt` reported, for the reason of an abnormal close. */
  private lastError: Error | null = null;
  /** An MQTT 5 CONNACK's reason string: why the server refused. */
  private refusedWhy: string | undefined;
  /** The frames' topic was subscribed at QoS 0 (see `received`). */
  private subscribed = false;
  private readonly decoder = new TextDecoder();

  constructor(
    readonly url: string,
    private readonly opts: MqttOptions,
  ) {
    this.protocolVersion = opts.protocolVersion ?? 5;
    void this.start();
  }

  /** WebSocket numbers: 0 connecting (until the MQTT CONNACK), 1 open, 2 closing, 3 closed. */
  get readyState(): number {
    return this.state;
  }

  addEventListener(type: 'open', listener: (event: unknown) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (event: CloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: keyof SocketEvents, listener: (event: never) => void): void {
    this.listeners.add(type, listener);
  }

  /**
   * Publishes a frame to `up` at QoS 0: the protocol's ACK is what says a command is
   * durable and the outbox resends what lacks one, so a PUBACK per frame would only cost
   * a packet. Throws while connecting, like a WebSocket.
   */
  send(data: string): void {
    if (this.state === CONNECTING) throw new Error('MQTT connection is still connecting');
    if (this.state !== OPEN) return; // a closed WebSocket drops sends too
    this.client?.publish(upTopic, data, { qos: 0 });
  }

  /** Sends DISCONNECT (when open) and closes; 'close' with `code` (default 1000) follows at once. */
  close(code = 1000, reason = ''): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    // Before the CONNACK there is no session to end politely, and `mqtt` would hold the
    // DISCONNECT until one: the connection is just dropped.
    const polite = this.state === OPEN;
    this.state = CLOSING;
    this.client?.end(!polite);
    queueMicrotask(() => this.finish(code, reason));
  }

  private async start(): Promise<void> {
    let connect: MqttConnect;
    try {
      connect = await (this.opts.load ?? loadMqtt)();
    } catch (err) {
      this.fail(new Error(`cannot load the mqtt package: ${messageOf(err)}`));
      return;
    }
    if (this.state !== CONNECTING) return; // closed while loading
    let client: MqttClientLike;
    try {
      client = connect(this.url, {
        clientId: this.opts.deviceId,
        // Ignored by the server, but MQTT 3.1.1 sends no password without a user name.
        username: '',
        password: this.opts.token,
        protocolVersion: this.protocolVersion,
        keepalive: this.opts.keepaliveS ?? defaultKeepaliveS,
        reconnectPeriod: 0,
        // ChatClient's open deadline bounds the wait for CONNACK; this only backs it up.
        connectTimeout: 30_000,
        clean: true,
        resubscribe: false,
        queueQoSZero: false,
        // The server then names the device's topic once and sends 3 bytes of alias after.
        ...(this.protocolVersion === 5 ? { properties: { topicAliasMaximum: 1 } } : {}),
      });
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.client = client;
    client.on('connect', () => {
      if (this.state !== CONNECTING) return;
      this.state = OPEN;
      this.listeners.emit('open', {});
    });
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'connack') this.refusedWhy = packet.properties?.reasonString;
    });
    client.on('message', (topic, payload) => this.received(topic, payload));
    client.on('disconnect', (packet) => {
      const code = disconnects[packet.reasonCode ?? -1];
      if (this.closing || code === undefined) return;
      this.closing = { code, reason: reasonOf(packet.properties?.reasonString ?? '') };
    });
    client.on('error', (err) => this.failed(err));
    client.on('close', () => {
      if (this.state === CLOSING || this.state === CLOSED) return;
      const closing = this.closing;
      if (closing) {
        this.end(closing.code, closing.reason);
        return;
      }
      this.fail(this.lastError ?? new Error('connection lost'));
    });
  }

  /** A PUBLISH from the server: a frame on `down/<user>/<device>`, the close notice on `.../close`. */
  private received(topic: string, payload: Uint8Array): void {
    if (this.state !== OPEN || !topic.startsWith('down/')) return;
    const device = `/${this.opts.deviceId}`;
    if (topic.endsWith(`${device}/close`)) {
      this.closing = closeNotice(this.decoder.decode(payload)) ?? this.closing;
    } else if (topic.endsWith(device)) {
      if (!this.subscribed) {
        // The frames then come at QoS 0, with no PUBACK each: a packet from the phone per
        // frame, and most of what MQTT costs the server over WebSocket (S12). QoS 1 adds no
        // guarantee here: the server never resends a frame (it keeps no MQTT session), so
        // what a dropped connection loses is recovered as on a WebSocket (replay by seq at
        // the next CONNECT, the outbox's resend). The topic (user id included) is known
        // from the first frame.
        this.subscribed = true;
        this.client?.subscribe(topic, { qos: 0 });
      }
      this.listeners.emit('message', { data: this.decoder.decode(payload) });
    }
  }

  /** An error from `mqtt`: a refused CONNECT ends the carrier; anything else waits for 'close'. */
  private failed(err: Error): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    this.lastError = err;
    const rc = (err as { code?: unknown }).code;
    if (this.state !== CONNECTING || typeof rc !== 'number') return;
    const code = refusals[this.protocolVersion][rc] ?? CloseCode.protocolError;
    const why = this.refusedWhy ?? err.message;
    if (code === CloseCode.unauthorized) {
      // The server's why is what its ERROR says on /ws (3.1.1 has none: mqtt's words then).
      const frame: ErrorFrame = { type: 'ERROR', code: 'unauthorized', message: why, ref: null };
      this.listeners.emit('message', { data: JSON.stringify(frame) });
      if (this.state !== CONNECTING) return; // a listener closed the carrier
      this.end(code, 'unauthorized');
      return;
    }
    this.end(code, `MQTT CONNECT refused: ${why}`);
  }

  /** A failure with no close notice: 'error', then 'close' 1006. */
  private fail(err: Error): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    this.listeners.emit('error', { error: err, message: err.message });
    this.end(abnormal, err.message);
  }

  /** The connection ended without our close(): drop the client and report `code`. */
  private end(code: number, reason: string): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    this.state = CLOSING;
    this.client?.end(true);
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.listeners.emit('close', { code, reason });
  }
}

/**
 * The default MQTT URL for `baseUrl`: in Node, the MQTT port of its host (`mqtt://host:1883`,
 * `mqtts://host:8883` for https); elsewhere (browsers, React Native: no raw TCP) MQTT over
 * WebSocket on the HTTP port (`ws(s)://host/mqtt`).
 */
export function mqttUrlFor(baseUrl: string, node: boolean = isNode()): string {
  const url = new URL(baseUrl);
  const secure = url.protocol === 'https:';
  if (node) return secure ? `mqtts://${url.hostname}:8883` : `mqtt://${url.hostname}:1883`;
  return `${secure ? 'wss' : 'ws'}://${url.host}/mqtt`;
}

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/** The `mqtt` package's connect, imported on first use. */
async function loadMqtt(): Promise<MqttConnect> {
  const mod = await import('mqtt');
  // Node's import() of the package's CommonJS build may put it all under `default`.
  const connect = mod.connect ?? (mod as unknown as { default?: { connect?: typeof mod.connect } }).default?.connect;
  if (typeof connect !== 'function') throw new Error('the mqtt package has no connect()');
  return (url, opts) => connect(url, opts);
}

/** `{"code":4003,"reason":"slow consumer"}` -> the close; null when unreadable. */
function closeNotice(text: string): CloseEventLike | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const { code, reason } = value as { code?: unknown; reason?: unknown };
    return typeof code === 'number' ? { code, reason: typeof reason === 'string' ? reason : '' } : null;
  } catch {
    return null;
  }
}

/** A DISCONNECT's reason string is "<code> <reason>": the reason. */
function reasonOf(reasonString: string): string {
  return reasonString.replace(/^\d{4} /, '');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

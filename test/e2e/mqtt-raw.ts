/**
 * A raw MQTT client for the MQTT e2e suites: packets built by mqtt-packet's generate and
 * written to a node:net socket as they are, for what a client library refuses to send
 * (bad CONNECTs, forbidden topics, oversized or malformed packets, a client that stops
 * pinging) and for what it hides (PUBACK reason codes, DISCONNECT, DUP, topic aliases).
 */
import { connect, type Socket } from 'node:net';
import { generate, parser, type IConnackPacket, type IConnectPacket, type IPublishPacket, type Packet } from 'mqtt-packet';
import type { MqttVersion } from './carriers';
import { sleep, type Frame } from './harness';

export interface RawOptions {
  /** PUBACK every QoS 1 PUBLISH as it arrives (default true), as a client library does. */
  autoPuback?: boolean;
}

/** One TCP connection speaking MQTT `version` byte for byte; queues every packet it receives. */
export class RawMqtt {
  readonly packets: Packet[] = [];
  /** Every PUBLISH received, also those taken from `packets` by next(). */
  readonly publishes: IPublishPacket[] = [];
  ended = false;
  readonly closed: Promise<void>;
  parseError: Error | null = null;
  private waiters: (() => void)[] = [];
  private nextId = 1;
  autoPuback: boolean;

  private constructor(
    readonly socket: Socket,
    readonly version: MqttVersion,
    opts: RawOptions,
  ) {
    this.autoPuback = opts.autoPuback ?? true;
    const p = parser({ protocolVersion: version });
    p.on('packet', (packet: Packet) => {
      if (packet.cmd === 'publish') {
        this.publishes.push(packet);
        if (packet.qos === 1 && this.autoPuback) this.send({ cmd: 'puback', messageId: packet.messageId });
      }
      this.packets.push(packet);
      this.wake();
    });
    p.on('error', (err: Error) => (this.parseError = err));
    socket.on('data', (data: Buffer) => p.parse(data));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  /** Opens the TCP connection to `url` (mqtt://host:port); sends nothing. */
  static async open(url: string, version: MqttVersion, opts: RawOptions = {}): Promise<RawMqtt> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawMqtt(socket, version, opts);
  }

  /** Opens a connection and sends CONNECT (`fields` over the defaults); returns the client and the CONNACK. */
  static async connect(url: string, version: MqttVersion, fields: Partial<IConnectPacket>, opts: RawOptions = {}): Promise<{ raw: RawMqtt; connack: IConnackPacket }> {
    const raw = await RawMqtt.open(url, version, opts);
    raw.send({ cmd: 'connect', protocolVersion: version, protocolId: 'MQTT', clean: true, keepalive: 60, clientId: 'raw', username: 'raw', ...fields });
    const connack = (await raw.next((p) => p.cmd === 'connack')) as IConnackPacket;
    return { raw, connack };
  }

  /**
   * A session opened as a device does: MQTT CONNECT with the token, then the protocol
   * CONNECT (without token and device_id: the MQTT CONNECT's count), up to its CONNACK frame.
   */
  static async session(url: string, version: MqttVersion, token: string, deviceId: string, fields: Partial<IConnectPacket> = {}, opts: RawOptions = {}): Promise<{ raw: RawMqtt; connack: Frame }> {
    const { raw, connack } = await RawMqtt.connect(url, version, { clientId: deviceId, password: Buffer.from(token), ...fields }, opts);
    if ((connack.reasonCode ?? connack.returnCode) !== 0) throw new Error(`MQTT CONNECT refused: ${JSON.stringify(connack)}`);
    raw.publish({ type: 'CONNECT' });
    return { raw, connack: await raw.frame((f) => f.type === 'CONNACK') };
  }

  send(packet: Packet): void {
    this.socket.write(generate(packet, { protocolVersion: this.version }));
  }

  /** Publishes one frame (an object is sent as its JSON) to `topic` (default `up`) at QoS 1 unless told; returns the packet id. */
  publish(frame: unknown, opts: { topic?: string; qos?: 0 | 1 | 2; dup?: boolean; messageId?: number } = {}): number {
    const qos = opts.qos ?? 1;
    const messageId = opts.messageId ?? this.nextId++;
    const payload = Buffer.isBuffer(frame) ? frame : Buffer.from(typeof frame === 'string' ? frame : JSON.stringify(frame));
    this.send({ cmd: 'publish', topic: opts.topic ?? 'up', payload, qos, dup: opts.dup ?? false, retain: false, ...(qos > 0 ? { messageId } : {}) });
    return messageId;
  }

  /** Removes and returns the first packet matching `pred`, waiting up to `timeoutMs`. */
  async next(pred: (p: Packet) => boolean, timeoutMs = 5000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.packets.findIndex(pred);
      if (i >= 0) return this.packets.splice(i, 1)[0];
      if (this.ended) throw new Error(`connection closed while waiting; have ${JSON.stringify(this.packets)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a packet; have ${JSON.stringify(this.packets)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next protocol frame (a PUBLISH on the device's topic, not its close) matching `pred`. */
  async frame(pred: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const p = (await this.next((p) => p.cmd === 'publish' && !p.topic.endsWith('/close') && pred(frameOf(p)), timeoutMs)) as IPublishPacket;
    return frameOf(p);
  }

  /** The close notice (a PUBLISH on `.../close`). */
  async closeNotice(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const p = (await this.next((p) => p.cmd === 'publish' && p.topic.endsWith('/close'), timeoutMs)) as IPublishPacket;
    return JSON.parse(p.payload.toString()) as { code: number; reason: string };
  }

  /** Resolves true once the server has closed the connection, false after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), sleep(ms).then(() => false)]);
  }

  /** Drops the connection without DISCONNECT. */
  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** The protocol frame a PUBLISH carries. */
export function frameOf(p: IPublishPacket): Frame {
  return JSON.parse(p.payload.toString()) as Frame;
}

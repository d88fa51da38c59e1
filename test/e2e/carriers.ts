/**
 * The carriers of the e2e harness's raw protocol client (TestSocket in harness.ts): ws's
 * WebSocket, the long-poll HTTP contract (docs/protocol.md, "Long-poll") spoken with
 * Node's fetch, and MQTT (docs/protocol.md, "MQTT") spoken by the stock `mqtt` client,
 * written here apart from the SDK and the server so that each checks the other.
 */
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';

/**
 * Which carrier TestSocket uses: E2E_TRANSPORT=longpoll (jest project e2e-longpoll),
 * E2E_TRANSPORT=mqtt (e2e-mqtt), else WebSocket.
 */
export type Transport = 'websocket' | 'longpoll' | 'mqtt';
export const transport: Transport = process.env.E2E_TRANSPORT === 'longpoll' || process.env.E2E_TRANSPORT === 'mqtt' ? process.env.E2E_TRANSPORT : 'websocket';

/** The MQTT protocol level of the harness's MQTT clients: E2E_MQTT_VERSION=4 for 3.1.1, else 5. */
export type MqttVersion = 4 | 5;
export const mqttVersion: MqttVersion = process.env.E2E_MQTT_VERSION === '4' ? 4 : 5;

/** What TestSocket needs of a carrier: frames out as text, frames and the close in. */
export interface ClientCarrier {
  /** Set by TestSocket before the carrier starts delivering. */
  onFrame: (text: string) => void;
  onClose: (code: number, reason: string) => void;
  send(text: string): void;
  close(): void;
  /** Drops the connection without a goodbye (the server finds out by itself). */
  terminate(): void;
  /** Stops taking frames from the server (a client that stopped reading), until resume(). */
  pause(): void;
  resume(): void;
}

/** The ws WebSocket as a carrier. */
export class WsCarrier implements ClientCarrier {
  onFrame: (text: string) => void = () => undefined;
  onClose: (code: number, reason: string) => void = () => undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.onFrame(data.toString()));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', () => undefined);
  }

  send(text: string): void {
    this.ws.send(text);
  }
  close(): void {
    this.ws.close();
  }
  terminate(): void {
    this.ws.terminate();
  }
  pause(): void {
    this.tcp().pause();
  }
  resume(): void {
    this.tcp().resume();
  }
  private tcp(): { pause(): void; resume(): void } {
    return (this.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  }
}

/** Largest send body the harness builds from queued frames (a single bigger frame goes alone). */
const lpBatchBytes = 32 * 1024;

/**
 * The long-poll contract (docs/protocol.md, "Long-poll") spoken with fetch, independent of
 * the SDK: frames queued in one turn go in one POST /send (newline-separated, in order,
 * one request at a time); one GET /poll is always outstanding, acknowledging by cursor.
 */
export class LongPollCarrier implements ClientCarrier {
  onFrame: (text: string) => void = () => undefined;
  onClose: (code: number, reason: string) => void = () => undefined;
  cursor = 0;
  private outbox: string[] = [];
  private sending = false;
  private paused = false;
  private polling = false;
  private ended = false;
  private closing = false;
  /** Aborts every request when the client ends. */
  private readonly abort = new AbortController();
  /** Aborts the outstanding poll (pause). */
  private pollAbort: AbortController | null = null;

  private constructor(
    readonly base: string,
    readonly sid: string,
  ) {}

  /** POST /lp; throws unless 201. */
  static async open(base: string): Promise<LongPollCarrier> {
    const res = await fetch(`${base}/lp`, { method: 'POST' });
    const body = (await res.json()) as { sid?: string };
    if (res.status !== 201 || typeof body.sid !== 'string') throw new Error(`long-poll open failed: ${res.status} ${JSON.stringify(body)}`);
    return new LongPollCarrier(base, body.sid);
  }

  /** Starts the poll loop (once TestSocket has set the handlers). */
  start(): void {
    void this.pollLoop();
  }

  send(text: string): void {
    if (this.ended) return;
    this.outbox.push(text);
    if (!this.sending) {
      this.sending = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    while (this.outbox.length > 0 && !this.ended) {
      let n = 0;
      let bytes = 0;
      while (n < this.outbox.length && (n === 0 || bytes + this.outbox[n].length < lpBatchBytes)) bytes += this.outbox[n++].length + 1;
      const body = this.outbox.splice(0, n).join('\n');
      try {
        const res = await fetch(`${this.base}/lp/${this.sid}/send`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body, signal: this.abort.signal });
        await res.arrayBuffer();
        // 410/404: the poll reports (or has reported) the close; 413 is asserted in longpoll.test.ts.
        if (res.status !== 204 && res.status !== 410 && res.status !== 404) throw new Error(`long-poll send: ${res.status}`);
      } catch (err) {
        if (!this.ended) this.end(1006, `send failed: ${(err as Error).message}`);
      }
    }
    this.sending = false;
  }

  private async pollLoop(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    while (!this.ended && !this.paused) {
      const ctl = new AbortController();
      this.pollAbort = ctl;
      let body: { frames: unknown[]; cursor: number; closed: { code: number; reason: string } | null };
      try {
        const res = await fetch(`${this.base}/lp/${this.sid}/poll?cursor=${this.cursor}`, { signal: AbortSignal.any([this.abort.signal, ctl.signal]) });
        if (res.status === 404) {
          await res.arrayBuffer();
          this.end(this.closing ? 1000 : 1006, 'session gone');
          break;
        }
        body = (await res.json()) as typeof body;
        if (res.status !== 200) throw new Error(`long-poll poll: ${res.status} ${JSON.stringify(body)}`);
      } catch (err) {
        if (this.ended) break;
        if (ctl.signal.aborted) continue; // paused: the same cursor is polled again on resume
        this.end(1006, `poll failed: ${(err as Error).message}`);
        break;
      }
      // A paused client does not read: the frames stay on the server until it polls again.
      if (this.ended || ctl.signal.aborted) continue;
      this.cursor = body.cursor;
      for (const f of body.frames) this.onFrame(JSON.stringify(f));
      if (body.closed) this.end(body.closed.code, body.closed.reason);
    }
    this.polling = false;
  }

  close(): void {
    if (this.ended || this.closing) return;
    this.closing = true;
    // The waiting poll answers with closed 1000 (or 404 if the DELETE wins): either ends it.
    void fetch(`${this.base}/lp/${this.sid}`, { method: 'DELETE' }).then((r) => r.arrayBuffer(), () => undefined);
  }

  terminate(): void {
    this.end(1006, 'terminated');
  }

  pause(): void {
    this.paused = true;
    this.pollAbort?.abort();
  }

  resume(): void {
    this.paused = false;
    void this.pollLoop();
  }

  private end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.abort.abort();
    this.onClose(code, reason);
  }
}

/**
 * The close code the harness reports for a refused MQTT CONNECT (the refusal comes as a
 * CONNACK code, before any session exists), chosen to be the close code the same cause
 * gets on /ws so that suites can assert one code whatever the carrier:
 *
 * | cause | MQTT 5 | 3.1.1 | reported close |
 * |---|---|---|---|
 * | bad user name or password (token missing, bad, signed out) | 0x86 | 4 | 4001 |
 * | server unavailable (draining, engine down) | 0x88 | 3 | 1013 |
 * | connection rate exceeded (opening limits) | 0x9F | 3 | 1013 |
 * | client identifier not valid, wills, bad protocol level, anything else | 0x85, 0x83, ... | 2, 1 | 4002 |
 */
export function connackCloseCode(version: MqttVersion, code: number): number {
  const table: Record<number, number> = version === 5 ? { 0x86: 4001, 0x88: 1013, 0x9f: 1013 } : { 4: 4001, 3: 1013 };
  return table[code] ?? 4002;
}

/** The topic the server reads frames from. */
export const mqttUpTopic = 'up';

/** What an MQTT CONNECT needs of the protocol CONNECT that opens the session, or null. */
function credentialsOf(text: string): { token: string; deviceId: string } | null {
  try {
    const frame = JSON.parse(text) as { type?: unknown; token?: unknown; device_id?: unknown };
    if (frame.type === 'CONNECT' && typeof frame.token === 'string' && typeof frame.device_id === 'string') return { token: frame.token, deviceId: frame.device_id };
  } catch {
    // not JSON: no credentials
  }
  return null;
}

/**
 * The MQTT mapping (docs/protocol.md, "MQTT") spoken by the stock `mqtt` client: the
 * MQTT CONNECT is made at the first send(), which must be the protocol CONNECT with
 * token and device_id (client id = device id, password = token); every frame is a QoS 1
 * PUBLISH to `up`, in order; frames come on `down/<user>/<device>` and the close notice
 * on its `/close`. A refused CONNACK is reported as a close, mapped by connackCloseCode;
 * the TCP connection ending without a close notice is 1006. The harness never reconnects.
 */
export class MqttCarrier implements ClientCarrier {
  onFrame: (text: string) => void = () => undefined;
  onClose: (code: number, reason: string) => void = () => undefined;
  /** The stock client, from the first send() on. */
  client: MqttClient | null = null;
  private connected = false;
  /** Frames sent before the CONNACK, published in order once it comes. */
  private readonly pending: string[] = [];
  private refusal: { code: number; reason: string } | null = null;
  private paused = false;
  private closing = false;
  private ended = false;

  constructor(
    readonly url: string,
    readonly version: MqttVersion = mqttVersion,
  ) {}

  send(text: string): void {
    if (this.ended) return;
    if (this.client === null) this.start(text);
    if (this.connected) this.publish(text);
    else this.pending.push(text);
  }

  private start(first: string): void {
    const creds = credentialsOf(first);
    // The MQTT CONNECT carries the token: a test whose first frame is anything else has no
    // MQTT equivalent and must be skipped on MQTT (its counterpart lives in mqtt.test.ts).
    if (creds === null) throw new Error('MqttCarrier: the first frame must be a CONNECT with token and device_id');
    const client = mqtt.connect(this.url, {
      clientId: creds.deviceId,
      username: 'e2e',
      password: creds.token,
      protocolVersion: this.version,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    this.client = client;
    client.on('connect', () => {
      this.connected = true;
      if (this.paused) client.stream.pause();
      for (const text of this.pending.splice(0)) this.publish(text);
    });
    client.on('message', (topic, payload) => {
      if (this.ended) return;
      if (!topic.endsWith('/close')) return this.onFrame(payload.toString('utf8'));
      const notice = JSON.parse(payload.toString('utf8')) as { code: number; reason: string };
      this.end(notice.code, notice.reason);
    });
    client.on('error', (err) => {
      const code = (err as Error & { code?: unknown }).code;
      if (!this.connected && typeof code === 'number') this.refusal = { code: connackCloseCode(this.version, code), reason: `CONNACK ${code}: ${err.message}` };
    });
    client.on('close', () => {
      if (this.refusal) this.end(this.refusal.code, this.refusal.reason);
      else this.end(this.closing ? 1000 : 1006, this.closing ? 'closed by the client' : 'connection lost');
    });
  }

  private publish(text: string): void {
    this.client?.publish(mqttUpTopic, text, { qos: 1 }, () => undefined);
  }

  close(): void {
    if (this.ended || this.closing) return;
    this.closing = true;
    if (this.client === null) this.end(1000, 'closed by the client');
    else this.client.end();
  }

  terminate(): void {
    if (this.client === null) this.end(1006, 'terminated');
    else this.client.stream.destroy();
  }

  /** Stops reading the connection: frames the server writes stay unacknowledged (no PUBACK). */
  pause(): void {
    this.paused = true;
    if (this.connected) this.client?.stream.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.connected) this.client?.stream.resume();
  }

  private end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.onClose(code, reason);
    // The close notice comes before the server ends the connection: drop it on our side too.
    this.client?.end(true);
  }
}

/** The http base URL of a server's /ws URL (TestSocket takes wsUrl whatever the transport). */
export function baseOf(url: string): string {
  return url.replace(/^ws/, 'http').replace(/\/ws$/, '');
}


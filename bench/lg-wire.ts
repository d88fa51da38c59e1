/**
 * S12's wire probe, a process of its own forked by the scenario (never inside the server):
 * a few clients of the load generator's own kind (lg-clients.ts, so the same carriers and
 * the same stock MQTT client), whose TCP sockets' `bytesWritten` / `bytesRead` it reads.
 * Those are the bytes above TCP: frames, MQTT packets, WebSocket and HTTP headers; not the
 * IP and TCP headers nor the segments that carry them.
 *
 * - messages: per case, one sender and one receiver of a direct pair, messages one at a
 *   time (the next SEND once the sender has its ACK and the receiver its DELIVER), the
 *   sockets' counts read when the pair has settled before the first and after the last.
 * - keepalive: the bytes of one keep-alive exchange of an idle session, read at the
 *   exchanges themselves (WebSocket: at the server's pings, the pong already written;
 *   MQTT: at each PINGRESP) or, for long-poll, half-way through consecutive polls' waits.
 * - connack: the protocol CONNACK a device with missed events gets (raw `ws`, its text kept).
 * - encode: the byte counts of frames as JSON, MessagePack and CBOR.
 */
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { Encoder as CborEncoder } from 'cbor-x';
import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { newSortableId } from '../src/protocol/ids';
import { sleep } from './clock';
import type { ClientSpec, Transport } from './ipc';
import { ClientSet, type Client, type FrameSink } from './lg-clients';
import { lpCounters } from './lg-longpoll';

export interface MessageCase {
  transport: Transport;
  url: string;
  sender: ClientSpec;
  receiver: ClientSpec;
  messages: number;
  bodyChars: number;
}

/** Bytes per message on each client's sockets, and the last ACK and DELIVER texts as they arrived. */
export interface MessageBytes {
  transport: Transport;
  messages: number;
  bodyChars: number;
  senderWritten: number;
  senderRead: number;
  receiverWritten: number;
  receiverRead: number;
  ack: string;
  deliver: string;
}

export interface KeepaliveCase {
  transport: Transport;
  url: string;
  client: ClientSpec;
  exchanges: number;
  /** MQTT: the keep-alive asked for (short, so the exchanges come quickly; their bytes do not depend on it). */
  mqttKeepaliveS?: number;
  /** Long-poll: the poll's wait_ms. */
  lpWaitMs?: number;
}

/** Bytes of one keep-alive exchange (mean over `exchanges`), client's view. */
export interface KeepaliveBytes {
  transport: Transport;
  exchanges: number;
  written: number;
  read: number;
  /** Long-poll: polls issued while measured (should equal `exchanges`). */
  polls?: number;
}

/** A case that could not be measured (the others still are). */
export interface CaseFailed {
  transport: Transport;
  error: string;
}

export interface EncodedFrame {
  name: string;
  json: number;
  msgpack: number;
  cbor: number;
}

export type ToWire =
  | { op: 'messages'; secret: string; cases: MessageCase[] }
  | { op: 'keepalive'; secret: string; cases: KeepaliveCase[] }
  | { op: 'connack'; secret: string; wsUrl: string; client: ClientSpec }
  | { op: 'encode'; frames: { name: string; text: string }[] };

export type FromWire =
  | { op: 'messages'; results: (MessageBytes | CaseFailed)[] }
  | { op: 'keepalive'; results: (KeepaliveBytes | CaseFailed)[] }
  | { op: 'connack'; text: string }
  | { op: 'encode'; results: EncodedFrame[] }
  | { op: 'error'; message: string };

const settleMs = 300;

/** A chat line of exactly `n` characters (ASCII, so characters = bytes). */
function body(n: number): string {
  const line = 'Running ten minutes late, the train is stuck outside the station again. Order me a flat white? ';
  return line.repeat(Math.ceil(n / line.length)).slice(0, n);
}

function minus(a: { written: number; read: number }, b: { written: number; read: number }): { written: number; read: number } {
  return { written: a.written - b.written, read: a.read - b.read };
}

async function connect(secret: string, transport: Transport, url: string, specs: ClientSpec[], extra: { mqttKeepaliveS?: number; lpWaitMs?: number } = {}): Promise<ClientSet> {
  const set = new ClientSet();
  const r = await set.connect({ op: 'connect', url, transport, secret, clients: specs, concurrency: specs.length, startAt: 0, trackSockets: true, ...extra }, () => {});
  if (r.failed > 0) throw new Error(`${transport}: ${r.failed} of ${specs.length} sessions failed to open: ${JSON.stringify(r.failures)}`);
  return set;
}

async function messages(secret: string, k: MessageCase): Promise<MessageBytes> {
  // Keep-alive 300 s: no PINGREQ inside the window.
  const set = await connect(secret, k.transport, k.url, [k.sender, k.receiver], { mqttKeepaliveS: 300 });
  try {
    const [sender, receiver] = set.clients;
    const conv = Object.keys(k.sender.convs)[0];
    let ack = Buffer.alloc(0);
    let deliver = Buffer.alloc(0);
    let waiting: { acked: boolean; delivered: boolean; done: () => void; fail: (e: Error) => void } | null = null;
    const check = (): void => {
      if (waiting && waiting.acked && waiting.delivered) waiting.done();
    };
    const sink: FrameSink = {
      deliver(c: Client, data: Buffer) {
        if (c !== receiver || !waiting) return;
        deliver = Buffer.from(data);
        waiting.delivered = true;
        check();
      },
      ack(c: Client, _at: number, data: Buffer) {
        if (c !== sender || !waiting) return;
        ack = Buffer.from(data);
        waiting.acked = true;
        check();
      },
      error(_c: Client, data: Buffer) {
        waiting?.fail(new Error(`${k.transport}: ${data.toString()}`));
      },
      closed(_c: Client, code: number) {
        waiting?.fail(new Error(`${k.transport}: session closed ${code}`));
      },
    };
    set.sink = sink;
    const text = body(k.bodyChars);
    await sleep(settleMs);
    const s0 = sender.wireBytes();
    const r0 = receiver.wireBytes();
    for (let i = 0; i < k.messages; i++) {
      await new Promise<void>((done, fail) => {
        const timer = setTimeout(() => fail(new Error(`${k.transport}: message ${i} not ACKed and delivered within 10 s`)), 10_000);
        waiting = {
          acked: false,
          delivered: false,
          done: () => {
            clearTimeout(timer);
            waiting = null;
            done();
          },
          fail: (e) => {
            clearTimeout(timer);
            waiting = null;
            fail(e);
          },
        };
        sender.send(JSON.stringify({ type: 'SEND', client_msg_id: newSortableId('m'), conv_id: conv, body: text }));
      });
    }
    // The last PUBACKs and the next polls' requests go out after the frames that end the loop.
    await sleep(settleMs);
    const s = minus(sender.wireBytes(), s0);
    const r = minus(receiver.wireBytes(), r0);
    return {
      transport: k.transport,
      messages: k.messages,
      bodyChars: k.bodyChars,
      senderWritten: s.written / k.messages,
      senderRead: s.read / k.messages,
      receiverWritten: r.written / k.messages,
      receiverRead: r.read / k.messages,
      ack: ack.toString(),
      deliver: deliver.toString(),
    };
  } finally {
    await set.closeAll();
  }
}

/** Resolves with the client's byte counts at `n + 1` consecutive exchanges, marked by `on(mark)`. */
function atExchanges(c: Client, n: number, timeoutMs: number, on: (mark: () => void) => () => void): Promise<{ written: number; read: number }[]> {
  return new Promise((resolve, reject) => {
    const marks: { written: number; read: number }[] = [];
    const timer = setTimeout(() => {
      off();
      reject(new Error(`only ${marks.length} of ${n + 1} keep-alive exchanges within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = on(() => {
      marks.push(c.wireBytes());
      if (marks.length <= n) return;
      clearTimeout(timer);
      off();
      resolve(marks);
    });
  });
}

async function keepalive(secret: string, k: KeepaliveCase): Promise<KeepaliveBytes> {
  const set = await connect(secret, k.transport, k.url, [k.client], {
    ...(k.mqttKeepaliveS !== undefined ? { mqttKeepaliveS: k.mqttKeepaliveS } : {}),
    ...(k.lpWaitMs !== undefined ? { lpWaitMs: k.lpWaitMs } : {}),
  });
  try {
    const c = set.clients[0];
    let first: { written: number; read: number };
    let last: { written: number; read: number };
    let polls: number | undefined;
    if (k.transport === 'longpoll') {
      // The CONNACK answered the first poll at once; the second is waiting now. Half-way
      // through a wait nothing is in flight: the previous answer and this poll's request
      // are counted, its answer not yet.
      const wait = k.lpWaitMs ?? 25_000;
      await sleep(wait / 2);
      first = c.wireBytes();
      const polls0 = lpCounters.polls;
      await sleep(wait * k.exchanges);
      last = c.wireBytes();
      polls = lpCounters.polls - polls0;
    } else if (k.transport === 'ws') {
      const ws = c.ws as WebSocket;
      // ws writes the pong before it emits 'ping'.
      const marks = await atExchanges(c, k.exchanges, 60_000 + k.exchanges * 30_000, (mark) => {
        ws.on('ping', mark);
        return () => ws.off('ping', mark);
      });
      first = marks[0];
      last = marks[marks.length - 1];
    } else {
      const mq = c.mq;
      if (!mq) throw new Error(`${k.transport}: no MQTT client`);
      const onPacket = (mark: () => void) => (p: { cmd: string }) => {
        if (p.cmd === 'pingresp') mark();
      };
      const marks = await atExchanges(c, k.exchanges, 10_000 + k.exchanges * 3000 * (k.mqttKeepaliveS ?? 60), (mark) => {
        const listener = onPacket(mark);
        mq.on('packetreceive', listener);
        return () => mq.off('packetreceive', listener);
      });
      first = marks[0];
      last = marks[marks.length - 1];
    }
    const d = minus(last, first);
    return { transport: k.transport, exchanges: k.exchanges, written: d.written / k.exchanges, read: d.read / k.exchanges, ...(polls !== undefined ? { polls } : {}) };
  } finally {
    await set.closeAll();
  }
}

function connack(secret: string, wsUrl: string, spec: ClientSpec): Promise<string> {
  const token = jwt.sign({}, createSecretKey(Buffer.from(secret, 'utf8')), { algorithm: 'HS256', subject: spec.user, expiresIn: 3600 });
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { localAddress: spec.localAddress, perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no CONNACK within 10 s'));
    }, 10_000);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'CONNECT', token, device_id: 'd_' + spec.user, sync: { convs: spec.convs } })));
    ws.on('message', (data: Buffer) => {
      const text = data.toString();
      if (!text.startsWith('{"type":"CONNACK"')) return;
      clearTimeout(timer);
      ws.terminate();
      resolve(text);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// Plain encodings a client library would produce: cbor-x without its record extension
// (a tag only cbor-x reads) and with minimal map headers (its default is a fixed 16-bit length).
const cbor = new CborEncoder({ useRecords: false, variableMapSize: true });

function encodeFrames(frames: { name: string; text: string }[]): EncodedFrame[] {
  return frames.map(({ name, text }) => {
    const value: unknown = JSON.parse(text);
    return { name, json: Buffer.byteLength(text), msgpack: msgpackEncode(value).length, cbor: cbor.encode(value).length };
  });
}

function failed(transport: Transport): (err: unknown) => CaseFailed {
  return (err) => ({ transport, error: err instanceof Error ? err.message : String(err) });
}

async function handle(msg: ToWire): Promise<FromWire> {
  switch (msg.op) {
    case 'messages': {
      const results: (MessageBytes | CaseFailed)[] = [];
      for (const k of msg.cases) results.push(await messages(msg.secret, k).catch(failed(k.transport)));
      return { op: 'messages', results };
    }
    case 'keepalive':
      // At once: each waits for its own exchanges.
      return { op: 'keepalive', results: await Promise.all(msg.cases.map((k) => keepalive(msg.secret, k).catch(failed(k.transport)))) };
    case 'connack':
      return { op: 'connack', text: await connack(msg.secret, msg.wsUrl, msg.client) };
    case 'encode':
      return { op: 'encode', results: encodeFrames(msg.frames) };
  }
}

process.on('message', (msg: ToWire) => {
  handle(msg).then(
    (reply) => process.send?.(reply),
    (err: unknown) => process.send?.({ op: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FromWire),
  );
});
process.on('disconnect', () => process.exit(0));

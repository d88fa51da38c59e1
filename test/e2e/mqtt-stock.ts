/**
 * Helpers of the MQTT e2e suites (mqtt.test.ts, mqtt-sessions.test.ts) around the stock
 * `mqtt` client: connect, collect what arrives (with each packet's QoS), wait for it.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IConnackPacket } from 'mqtt-packet';
import { pollUntil, type Frame } from './harness';

let idCounter = 0;
/** A fresh device or client_msg_id. */
export const fresh = (prefix: string) => `${prefix}-${++idCounter}`;

/** The CONNACK's code: MQTT 5's reason code or 3.1.1's return code. */
export const connackCode = (p: IConnackPacket) => p.reasonCode ?? p.returnCode;

/** A stock client connected (CONNACK accepted) with `opts`; the harness never reconnects by itself. */
export async function stock(url: string, opts: IClientOptions): Promise<{ client: MqttClient; connack: IConnackPacket }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, username: 'e2e', ...opts });
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, connack };
}

/** Collects the frames (with the packet's QoS) and close notices a stock client receives. */
export function collect(client: MqttClient): { frames: (Frame & { qos: number })[]; closes: Frame[] } {
  const out = { frames: [] as (Frame & { qos: number })[], closes: [] as Frame[] };
  client.on('message', (topic, payload, packet) => {
    const frame = JSON.parse(payload.toString()) as Frame;
    if (topic.endsWith('/close')) out.closes.push(frame);
    else out.frames.push({ ...frame, qos: packet.qos });
  });
  return out;
}

/** The first item of `list` matching `pred`, waiting up to 5 s for it to come. */
export async function waitFor<T>(list: T[], pred: (item: T) => boolean, what: string): Promise<T> {
  const found = await pollUntil(async () => list.find(pred), (v) => v !== undefined, 5000);
  if (found === undefined) throw new Error(`timed out waiting for ${what}; have ${JSON.stringify(list)}`);
  return found;
}

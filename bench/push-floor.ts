/**
 * S10's floor: the push request itself, from a bare script with no server: the least a
 * push can cost. web-push encrypts (aes128gcm, a fresh key per push, as RFC 8291 needs)
 * and builds the request with a VAPID header signed once and reused (tokens live for
 * hours), and the script POSTs it to the same local push service, with a notification of
 * the server's shape. Two connection policies: keep-alive sockets (the cheapest a sender
 * can be, and what the provider does) and a new TLS connection per push (for comparison:
 * what a sender that does not reuse connections pays).
 */
import https from 'node:https';
import { generateRequestDetails, generateVAPIDKeys, getVapidHeaders } from 'web-push';
import { nowMs } from './clock';
import { Histogram, type HistogramData } from './histogram';
import { subscriptionOf } from './push-keys';

export interface FloorRun {
  connection: 'keep-alive' | 'per-push';
  /** One push at a time: request latency, µs. */
  alone: HistogramData;
  /** `concurrency` pushes in flight (as the server's push-device jobs): pushes/s and CPU per push. */
  concurrency: number;
  pushes: number;
  pushesPerSec: number;
  cpuUsPerPush: number;
}

const vapid = generateVAPIDKeys();
const payload = Buffer.from(
  JSON.stringify({ kind: 'message', conv_id: 'c_push_g00', seq: 2, badge: 1, tag: 'c_push_g00', title: 'bench group 00', body: 'Push sender: one message for the whole group, as a preview' }),
);

const authorization = new Map<number, string>();

/** The VAPID header for the push service on `port`, signed once. */
function vapidHeader(port: number): string {
  let header = authorization.get(port);
  if (header === undefined) {
    header = getVapidHeaders(`https://127.0.0.1:${port}`, 'mailto:push@localhost', vapid.publicKey, vapid.privateKey, 'aes128gcm', Math.floor(Date.now() / 1000) + 12 * 3600).Authorization;
    authorization.set(port, header);
  }
  return header;
}

async function pushOnce(port: number, ca: string, device: string, agent: https.Agent | null): Promise<void> {
  const own = agent ?? new https.Agent({ ca, maxSockets: 1 });
  try {
    const sub = subscriptionOf(device, port);
    const details = generateRequestDetails(sub, payload, { headers: { Authorization: vapidHeader(port) }, TTL: 86_400, urgency: 'high', topic: 'c_push_g00', contentEncoding: 'aes128gcm' });
    await new Promise<void>((resolve, reject) => {
      const req = https.request(sub.endpoint, { method: 'POST', headers: details.headers, agent: own }, (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve() : reject(new Error(`push service: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(details.body);
    });
  } finally {
    if (!agent) own.destroy();
  }
}

export async function measureFloor(port: number, ca: string, connection: FloorRun['connection'], alone: number, pushes: number, concurrency: number): Promise<FloorRun> {
  const agent = connection === 'keep-alive' ? new https.Agent({ ca, keepAlive: true, maxSockets: concurrency }) : null;
  const h = new Histogram();
  // A few unmeasured pushes first: JIT, and the keep-alive sockets opened.
  for (let i = 0; i < 20; i++) await pushOnce(port, ca, `floor-warm-${i}`, agent);
  for (let i = 0; i < alone; i++) {
    const t = nowMs();
    await pushOnce(port, ca, `floor-alone-${i}`, agent);
    h.record((nowMs() - t) * 1000);
  }
  const cpu0 = process.cpuUsage();
  const t0 = nowMs();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < pushes) await pushOnce(port, ca, `floor-${next++}`, agent);
    }),
  );
  const wall = nowMs() - t0;
  const cpu = process.cpuUsage(cpu0);
  agent?.destroy();
  return { connection, alone: h.toJSON(), concurrency, pushes, pushesPerSec: (pushes * 1000) / wall, cpuUsPerPush: (cpu.user + cpu.system) / pushes };
}

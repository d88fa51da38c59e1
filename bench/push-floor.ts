/**
 * S10's floor: the push request itself, from a bare script with no server. The same
 * web-push call as src/push/providers/webpush.ts (aes128gcm encryption, a VAPID token
 * signed per request, HTTPS POST to the same local push service, the same options), with
 * a notification of the server's shape. Two connection policies: keep-alive sockets (the
 * cheapest a sender can be) and a new TLS connection per push (as the provider does: it
 * pins every send's connection to the addresses vetted for it).
 */
import https from 'node:https';
import { generateVAPIDKeys, sendNotification } from 'web-push';
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

async function pushOnce(port: number, ca: string, device: string, agent: https.Agent | null): Promise<void> {
  const own = agent ?? new https.Agent({ ca, maxSockets: 1 });
  try {
    await sendNotification(subscriptionOf(device, port), payload, {
      vapidDetails: { subject: 'mailto:push@localhost', publicKey: vapid.publicKey, privateKey: vapid.privateKey },
      TTL: 86_400,
      urgency: 'high',
      topic: 'c_push_g00',
      contentEncoding: 'aes128gcm',
      agent: own,
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

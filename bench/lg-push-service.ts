/**
 * S10's push service, a child process of its own (forked by scenarios/s10-push.ts, never
 * inside the server): HTTPS on 127.0.0.1 with a throwaway self-signed certificate (from
 * `openssl`, as test/push/tls.ts; the server trusts it through PUSH_CA_FILE). It answers
 * every POST /push/<device> with 201, records the request's arrival time on the monotonic
 * clock all the bench's processes share, and decrypts every `decryptEvery`-th request
 * (aes128gcm with the device's derived keys, push-keys.ts) to check it and read the
 * notification's kind, conv_id and seq.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nowMs } from './clock';
import { deviceKeys, type DeviceKeys } from './push-keys';

// http_ece (web-push's own dependency) ships no types; the one call used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ece = require('http_ece') as { decrypt(body: Buffer, params: { version: 'aes128gcm'; privateKey: DeviceKeys['ecdh']; authSecret: Buffer }): Buffer };

/** One provider request as the push service saw it; kind/conv/seq only when decrypted. */
export interface Arrival {
  device: string;
  /** Monotonic ms when the request's body was complete. */
  at: number;
  urgency: string | null;
  kind?: string;
  conv?: string;
  seq?: number;
}

export type ToService = { op: 'start'; decryptEvery: number } | { op: 'sample'; decryptEvery: number } | { op: 'count' } | { op: 'take' };

export type FromService =
  | { op: 'started'; port: number; cert: string }
  | { op: 'sampled' }
  | { op: 'counted'; n: number; last: number }
  | { op: 'taken'; arrivals: Arrival[]; decrypted: number; badPayloads: number; cpuUs: number }
  | { op: 'error'; message: string };

let arrivals: Arrival[] = [];
let lastAt = 0;
let seen = 0;
let decryptEvery = 1;
let decrypted = 0;
let badPayloads = 0;
/**
 * This process stands in for Google's and Mozilla's push services, whose CPU is not on the
 * shard's machine. On a 2-core box its TLS and HTTP work (about 0.7 ms a request) would take
 * a third of a core from the shard under test during the fan-out; at nice 10 it takes what
 * the shard and the clients leave. It can only make the pushes look slower, never faster.
 */
try {
  os.setPriority(10);
} catch {
  // Not permitted: it competes at normal priority, and the messaging ratio suffers for it.
}

const keys = new Map<string, DeviceKeys>();

function makeTls(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-push-tls-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { stdio: 'pipe' },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function onRequest(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = nowMs();
    const device = (req.url ?? '').split('/')[2] ?? '';
    const urgency = req.headers.urgency;
    const a: Arrival = { device, at, urgency: typeof urgency === 'string' ? urgency : null };
    if (seen++ % decryptEvery === 0) {
      try {
        let k = keys.get(device);
        if (!k) keys.set(device, (k = deviceKeys(device)));
        const n = JSON.parse(ece.decrypt(Buffer.concat(chunks), { version: 'aes128gcm', privateKey: k.ecdh, authSecret: k.auth }).toString('utf8')) as { kind: string; conv_id: string; seq: number };
        a.kind = n.kind;
        a.conv = n.conv_id;
        a.seq = n.seq;
        decrypted++;
      } catch {
        badPayloads++;
      }
    }
    arrivals.push(a);
    lastAt = at;
    res.writeHead(201).end();
  });
}

function reply(m: FromService): void {
  process.send?.(m);
}

process.on('message', (m: ToService) => {
  if (m.op === 'start') {
    decryptEvery = Math.max(1, m.decryptEvery);
    const tls = makeTls();
    // keepAliveTimeout as a push service's: the floor's keep-alive client reuses its sockets.
    const server = https.createServer({ key: tls.key, cert: tls.cert, keepAliveTimeout: 30_000 }, onRequest);
    server.listen(0, '127.0.0.1', () => reply({ op: 'started', port: (server.address() as AddressInfo).port, cert: tls.cert }));
    server.on('error', (err) => reply({ op: 'error', message: err.message }));
  } else if (m.op === 'sample') {
    decryptEvery = Math.max(1, m.decryptEvery);
    reply({ op: 'sampled' });
  } else if (m.op === 'count') reply({ op: 'counted', n: arrivals.length, last: lastAt });
  else if (m.op === 'take') {
    const cpu = process.cpuUsage();
    reply({ op: 'taken', arrivals, decrypted, badPayloads, cpuUs: cpu.user + cpu.system });
    arrivals = [];
    decrypted = 0;
    badPayloads = 0;
    seen = 0;
  }
});
process.on('disconnect', () => process.exit(0));

/**
 * A local Web Push service for the tests that run the server's real push path: HTTPS with
 * a throwaway certificate (tls.ts; the server trusts it through PUSH_CA_FILE), one
 * subscription per device path whose keys the test holds, and every accepted push
 * decrypted (aes128gcm, http_ece, the library web-push itself uses) and kept in order.
 */
import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { makeTestTls } from './tls';

// http_ece ships no types; the one call used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ece = require('http_ece') as { decrypt(body: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: Buffer }): Buffer };

export interface Pushed {
  device: string;
  payload: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

export interface Subscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** How the service answers one request: a status (201: accepted and decrypted), with headers; or no answer at all. */
export type Answer = number | { status: number; headers: Record<string, string> } | 'hang';

export class LocalPushService {
  /** Accepted pushes, decrypted, in arrival order. */
  readonly received: Pushed[] = [];
  /** Every request, answered or not: when it came and what it got. */
  readonly attempts: { device: string; at: number; answer: Answer }[] = [];
  private readonly devices = new Map<string, { ecdh: ECDH; auth: Buffer; answer: number; script: Answer[] }>();
  private readonly hung: import('node:http').ServerResponse[] = [];

  private server: https.Server;
  private listening = 0;
  /** PEM file of the service's certificate, for the server's PUSH_CA_FILE. */
  readonly caFile: string;

  /** Made at once (the CA file is known before the server under test is configured), listening after listen(). */
  static create(): LocalPushService {
    return new LocalPushService();
  }

  static async start(): Promise<LocalPushService> {
    return LocalPushService.create().listen();
  }

  private constructor() {
    const tls = makeTestTls();
    this.caFile = join(tmpdir(), `push-ca-${process.pid}-${randomBytes(4).toString('hex')}.pem`);
    writeFileSync(this.caFile, tls.cert);
    this.server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.take(req.url ?? '', req.headers, Buffer.concat(chunks), res));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.listening = (this.server.address() as AddressInfo).port;
    return this;
  }

  get port(): number {
    return this.listening;
  }

  /** A browser-like subscription of `device`; the service answers its pushes with `answer` (201: accepted). */
  subscription(device: string, answer = 201): Subscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    this.devices.set(device, { ecdh, auth, answer, script: [] });
    return { endpoint: `https://127.0.0.1:${this.port}/push/${device}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
  }

  /** The next requests for `device` get these answers, in order, before its usual one. */
  script(device: string, ...answers: Answer[]): void {
    this.devices.get(device)?.script.push(...answers);
  }

  /** The requests made for `device`. */
  attemptsOf(device: string): { at: number; answer: Answer }[] {
    return this.attempts.filter((a) => a.device === device);
  }

  /** The pushes accepted for `device`. */
  of(device: string): Pushed[] {
    return this.received.filter((p) => p.device === device);
  }

  async close(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private take(url: string, headers: IncomingHttpHeaders, body: Buffer, res: import('node:http').ServerResponse): void {
    const device = url.split('/')[2];
    const d = this.devices.get(device);
    if (!d) return void res.writeHead(404).end();
    const answer = d.script.shift() ?? d.answer;
    this.attempts.push({ device, at: Date.now(), answer });
    if (answer === 'hang') return void this.hung.push(res);
    const status = typeof answer === 'number' ? answer : answer.status;
    if (status === 201) {
      const plain = ece.decrypt(body, { version: 'aes128gcm', privateKey: d.ecdh, authSecret: d.auth });
      this.received.push({ device, payload: JSON.parse(plain.toString('utf8')) as Record<string, unknown>, headers });
    }
    res.writeHead(status, typeof answer === 'number' ? {} : answer.headers).end();
  }
}

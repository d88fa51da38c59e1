/**
 * WebPushProvider against a local HTTPS push service: the real web-push library encrypts
 * and signs, the service checks the VAPID token and decrypts the aes128gcm body with the
 * subscription's private key (http_ece, the library web-push itself uses), then answers
 * as each test needs. Plus the SSRF rules: https only, no private/loopback/link-local
 * addresses unless allowed (PUSH_ALLOW).
 */
import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import dns from 'node:dns';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateVAPIDKeys } from 'web-push';
import type { Worker } from 'node:worker_threads';
import { MAX_WEBPUSH_PAYLOAD_BYTES, WebPushProvider, WebPushThread, type PushNotification, type SendOptions, type WebPushTarget } from '../../src/push/providers';
import { makeTestTls, type TestTls } from './tls';

// http_ece ships no types; the one call used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ece = require('http_ece') as { decrypt(body: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: Buffer }): Buffer };

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Mode = 'ok' | 'gone' | 'notfound' | 'busy' | 'error' | 'hang' | 'bad' | 'garbage';

const SUBJECT = 'mailto:ops@example.com';
const vapid = generateVAPIDKeys();
const notification: PushNotification = { conv_id: 'c1', seq: 42, title: 'Ann', body: 'hello ☕', badge: 3, tag: 'c1', kind: 'message' };
const opts: SendOptions = { ttlSeconds: 3600, collapseKey: 'c1', urgency: 'high' };

let tls: TestTls;
let server: https.Server;
let port: number;
const received: Received[] = [];
let connections = 0;
/** Responses of 'hang' requests, with whether the client went away. */
const hung: { res: ServerResponse; closed: boolean }[] = [];

function answer(mode: Mode, req: IncomingMessage, res: ServerResponse): void {
  switch (mode) {
    case 'ok':
      res.writeHead(201, { location: 'https://push.example/m/1' }).end();
      return;
    case 'gone':
      res.writeHead(410).end('unsubscribed');
      return;
    case 'notfound':
      res.writeHead(404).end();
      return;
    case 'busy':
      res.writeHead(429, { 'retry-after': '7' }).end();
      return;
    case 'error':
      res.writeHead(500).end('oops');
      return;
    case 'bad':
      res.writeHead(400).end('{"reason":"BadJwtToken"}');
      return;
    case 'hang': {
      const entry = { res, closed: false };
      res.on('close', () => (entry.closed = true));
      hung.push(entry);
      return;
    }
    case 'garbage':
      // Not HTTP at all, straight onto the TLS stream.
      req.socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n');
      return;
  }
}

beforeAll(async () => {
  tls = makeTestTls();
  server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
      answer(path.split('/')[2] as Mode, req, res);
    });
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  connections = 0;
});

function subscription(mode: Mode, host = '127.0.0.1'): { target: WebPushTarget; ecdh: ECDH; auth: Buffer } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  const target: WebPushTarget = {
    provider: 'webpush',
    endpoint: `https://${host}:${port}/push/${mode}/${randomBytes(4).toString('hex')}`,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
  };
  return { target, ecdh, auth };
}

function provider(over: { allow?: string[]; timeoutMs?: number; ca?: string } = {}): WebPushProvider {
  return new WebPushProvider({
    keys: vapid,
    subject: SUBJECT,
    allow: over.allow ?? ['127.0.0.1/32', '::1/128'],
    timeoutMs: over.timeoutMs ?? 5000,
    ca: 'ca' in over ? over.ca : tls.cert,
  });
}

/** Checks `Authorization: vapid t=<ES256 JWT>, k=<public key>` as a push service does (RFC 8292). */
function checkVapid(header: string | undefined, audience: string): Record<string, unknown> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  expect(match).not.toBeNull();
  const [, jwt = '', k = ''] = match ?? [];
  expect(k).toBe(vapid.publicKey);
  const [head = '', claims = '', signature = ''] = jwt.split('.');
  expect(JSON.parse(Buffer.from(head, 'base64url').toString())).toMatchObject({ typ: 'JWT', alg: 'ES256' });
  const point = Buffer.from(k, 'base64url');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  const ok = verify('sha256', Buffer.from(`${head}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  expect(ok).toBe(true);
  const payload = JSON.parse(Buffer.from(claims, 'base64url').toString()) as Record<string, unknown>;
  expect(payload).toMatchObject({ aud: audience, sub: SUBJECT });
  const exp = payload.exp as number;
  expect(exp * 1000).toBeGreaterThan(Date.now());
  expect(exp * 1000).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);
  return payload;
}

describe('sending', () => {
  test('201: sent; VAPID-signed, aes128gcm-encrypted JSON the subscriber can decrypt; TTL, urgency, topic', async () => {
    const p = provider();
    const { target, ecdh, auth } = subscription('ok');
    await expect(p.send(target, notification, opts)).resolves.toEqual({ status: 'sent' });
    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req?.headers['content-encoding']).toBe('aes128gcm');
    expect(req?.headers.ttl).toBe('3600');
    expect(req?.headers.urgency).toBe('high');
    expect(req?.headers.topic).toBe('c1');
    checkVapid(req?.headers.authorization, `https://127.0.0.1:${port}`);
    const plain = ece.decrypt(req?.body ?? Buffer.alloc(0), { version: 'aes128gcm', privateKey: ecdh, authSecret: auth });
    expect(JSON.parse(plain.toString('utf8'))).toEqual(notification);
    await p.close();
  });

  test('a collapse key that is no Web Push topic is hashed to 32 base64url characters; urgency defaults to normal', async () => {
    const p = provider();
    await p.send(subscription('ok').target, { ...notification, kind: 'retract' }, { ttlSeconds: 0, collapseKey: 'conv:c1/with spaces and more than 32 chars' });
    const topic = received[0]?.headers.topic;
    expect(topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(received[0]?.headers.ttl).toBe('0');
    expect(received[0]?.headers.urgency).toBe('normal');
    // The same key hashes the same way, so pushes of one conversation still replace each other.
    await p.send(subscription('ok').target, notification, { ttlSeconds: 0, collapseKey: 'conv:c1/with spaces and more than 32 chars' });
    expect(received[1]?.headers.topic).toBe(topic);
  });

  test('410 and 404: gone', async () => {
    const p = provider();
    await expect(p.send(subscription('gone').target, notification, opts)).resolves.toEqual({ status: 'gone' });
    await expect(p.send(subscription('notfound').target, notification, opts)).resolves.toEqual({ status: 'gone' });
  });

  test('429 with Retry-After: retry after it; 500: retry', async () => {
    const p = provider();
    await expect(p.send(subscription('busy').target, notification, opts)).resolves.toEqual({ status: 'retry', afterMs: 7000, reason: 'http 429' });
    await expect(p.send(subscription('error').target, notification, opts)).resolves.toEqual({ status: 'retry', reason: 'http 500' });
  });

  test('400 and a non-HTTP answer: failed', async () => {
    const p = provider();
    await expect(p.send(subscription('bad').target, notification, opts)).resolves.toEqual({ status: 'failed', reason: 'http 400: {"reason":"BadJwtToken"}' });
    const garbage = await p.send(subscription('garbage').target, notification, opts);
    expect(garbage).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^not an HTTP answer: HPE_/) });
  });

  test('a push service that never answers: retry at the timeout, and the connection is dropped', async () => {
    const p = provider({ timeoutMs: 300 });
    const started = Date.now();
    await expect(p.send(subscription('hang').target, notification, opts)).resolves.toEqual({ status: 'retry', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(hung.at(-1)?.closed).toBe(true);
  });

  test('close ends a send in flight with retry, and later sends retry without a request', async () => {
    const p = provider();
    const pending = p.send(subscription('hang').target, notification, opts);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await p.close();
    await expect(pending).resolves.toEqual({ status: 'retry', reason: 'closed' });
    const count = received.length;
    await expect(p.send(subscription('ok').target, notification, opts)).resolves.toEqual({ status: 'retry', reason: 'closed' });
    expect(received).toHaveLength(count);
  });

  test('a certificate the provider does not trust: retry (network), nothing delivered', async () => {
    const p = provider({ ca: undefined });
    const result = await p.send(subscription('ok').target, notification, opts);
    expect(result).toMatchObject({ status: 'retry', reason: expect.stringMatching(/^network: /) });
    expect(received).toHaveLength(0);
  });

  test('a payload over one record: failed before any request', async () => {
    const p = provider();
    const big = { ...notification, body: 'x'.repeat(MAX_WEBPUSH_PAYLOAD_BYTES) };
    await expect(p.send(subscription('ok').target, big, opts)).resolves.toMatchObject({ status: 'failed' });
    expect(connections).toBe(0);
  });

  test('pushes to one host share keep-alive connections and one VAPID token; each is still encrypted for its own subscriber', async () => {
    const p = provider();
    const subs = Array.from({ length: 40 }, () => subscription('ok'));
    const results = await Promise.all(subs.map((s) => p.send(s.target, notification, opts)));
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    // At most the per-host socket cap, not one connection per push.
    expect(connections).toBeGreaterThan(0);
    expect(connections).toBeLessThanOrEqual(16);
    const opened = connections;
    for (const s of subs.slice(0, 5)) await p.send(s.target, notification, opts);
    expect(connections).toBe(opened);
    expect(new Set(received.map((r) => r.headers.authorization)).size).toBe(1);
    checkVapid(received[0]?.headers.authorization, `https://127.0.0.1:${port}`);
    // aes128gcm: the sender's one-time public key is bytes 21..86 of the body; never reused.
    expect(new Set(received.map((r) => r.body.subarray(21, 86).toString('hex'))).size).toBe(received.length);
    for (const [i, s] of subs.entries()) {
      const req = received.find((r) => r.path === new URL(s.target.endpoint).pathname);
      const plain = ece.decrypt(req?.body ?? Buffer.alloc(0), { version: 'aes128gcm', privateKey: s.ecdh, authSecret: s.auth });
      expect(JSON.parse(plain.toString('utf8'))).toEqual(notification);
      if (i > 5) break;
    }
    await p.close();
  });

  test('after a timeout the connection is not reused: the next push to the host opens one and goes through', async () => {
    const p = provider({ timeoutMs: 2000 });
    await expect(p.send(subscription('ok').target, notification, opts)).resolves.toEqual({ status: 'sent' });
    const opened = connections;
    // The hang takes the idle connection (the agent reuses the latest freed one) and it is dropped at the deadline.
    await expect(p.send(subscription('hang').target, notification, opts)).resolves.toEqual({ status: 'retry', reason: 'timeout' });
    await expect(p.send(subscription('ok').target, notification, opts)).resolves.toEqual({ status: 'sent' });
    expect(connections).toBe(opened + 1);
    await p.close();
  });

  test('a host is vetted again after a minute: a name that now resolves to a private address is refused', async () => {
    const p = provider({ allow: ['127.0.0.1/32', '::1/128'] });
    const lookup = jest.spyOn(dns, 'lookup');
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
    try {
      await expect(p.send(subscription('ok', 'localhost').target, notification, opts)).resolves.toEqual({ status: 'sent' });
      await expect(p.send(subscription('ok', 'localhost').target, notification, opts)).resolves.toEqual({ status: 'sent' });
      const asked = lookup.mock.calls.filter(([host]) => host === 'localhost').length;
      expect(asked).toBe(1);
      // The name moves to an internal address; within the minute the vetted one is still used.
      lookup.mockImplementation(((host: string, _o: unknown, cb: (e: null, a: dns.LookupAddress[]) => void) => cb(null, [{ address: '10.1.2.3', family: 4 }])) as unknown as typeof dns.lookup);
      clock.mockReturnValue(now + 61_000);
      const count = received.length;
      const moved = await p.send(subscription('ok', 'localhost').target, notification, opts);
      expect(moved).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^blocked address/) });
      expect(received).toHaveLength(count);
    } finally {
      lookup.mockRestore();
      clock.mockRestore();
      await p.close();
    }
  });

  test('publicKey is the VAPID public key', () => {
    expect(provider().publicKey).toBe(vapid.publicKey);
  });
});

describe('on a worker thread (WebPushThread, as the server sends)', () => {
  function thread(timeoutMs = 5000): WebPushThread {
    return new WebPushThread({ keys: vapid, subject: SUBJECT, allow: ['127.0.0.1/32'], timeoutMs, ca: Buffer.from(tls.cert) });
  }

  test('a push sent from the thread decrypts for its subscriber; the statuses come back as the provider gives them', async () => {
    const t = thread();
    const { target, ecdh, auth } = subscription('ok');
    await expect(t.send(target, notification, opts)).resolves.toEqual({ status: 'sent' });
    const plain = ece.decrypt(received[0]?.body ?? Buffer.alloc(0), { version: 'aes128gcm', privateKey: ecdh, authSecret: auth });
    expect(JSON.parse(plain.toString('utf8'))).toEqual(notification);
    checkVapid(received[0]?.headers.authorization, `https://127.0.0.1:${port}`);
    await expect(t.send(subscription('gone').target, notification, opts)).resolves.toEqual({ status: 'gone' });
    await expect(t.send(subscription('busy').target, notification, opts)).resolves.toEqual({ status: 'retry', afterMs: 7000, reason: 'http 429' });
    await expect(t.send({ ...target, endpoint: 'http://127.0.0.1/x' }, notification, opts)).resolves.toMatchObject({ status: 'failed' });
    await t.close();
  });

  test('a worker that dies fails its sends in flight as retry; the next send starts a new one', async () => {
    const t = thread();
    await t.send(subscription('ok').target, notification, opts);
    const pending = t.send(subscription('hang').target, notification, opts);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The thread's worker, reached as a test must: it is private.
    await (t as unknown as { worker: Worker }).worker.terminate();
    await expect(pending).resolves.toMatchObject({ status: 'retry', reason: expect.stringMatching(/^push worker exited/) });
    await expect(t.send(subscription('ok').target, notification, opts)).resolves.toEqual({ status: 'sent' });
    await t.close();
  });

  test('close ends a send in flight with retry; later sends retry without a request', async () => {
    const t = thread();
    const pending = t.send(subscription('hang').target, notification, opts);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await t.close();
    await expect(pending).resolves.toEqual({ status: 'retry', reason: 'closed' });
    const count = received.length;
    await expect(t.send(subscription('ok').target, notification, opts)).resolves.toEqual({ status: 'retry', reason: 'closed' });
    expect(received).toHaveLength(count);
  });
});

describe('SSRF: where an endpoint may point', () => {
  test('http:, credentials and malformed keys are refused without a connection', async () => {
    const p = provider();
    const { target } = subscription('ok');
    const http = { ...target, endpoint: target.endpoint.replace('https:', 'http:') };
    await expect(p.send(http, notification, opts)).resolves.toEqual({ status: 'failed', reason: 'bad target: bad_endpoint' });
    const creds = { ...target, endpoint: target.endpoint.replace('https://', 'https://u:p@') };
    await expect(p.send(creds, notification, opts)).resolves.toEqual({ status: 'failed', reason: 'bad target: bad_endpoint' });
    const badKey = { ...target, keys: { ...target.keys, p256dh: target.keys.auth } };
    await expect(p.send(badKey, notification, opts)).resolves.toEqual({ status: 'failed', reason: 'bad target: bad_p256dh' });
    expect(connections).toBe(0);
  });

  test.each([
    ['a private address', '10.1.2.3'],
    ['the metadata service', '169.254.169.254'],
    ['loopback', '127.0.0.1'],
    ['loopback in IPv4-mapped IPv6 clothing', '[::ffff:127.0.0.1]'],
    ['IPv6 loopback', '[::1]'],
  ])('%s is refused when not allowed', async (_name, host) => {
    const p = provider({ allow: [] });
    const result = await p.send(subscription('ok', host).target, notification, opts);
    expect(result).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^blocked address: /) });
    expect(connections).toBe(0);
  });

  test('a name that resolves to loopback is refused; allowing the addresses lets it through', async () => {
    const { target } = subscription('ok', 'localhost');
    await expect(provider({ allow: [] }).send(target, notification, opts)).resolves.toMatchObject({ status: 'failed', reason: expect.stringMatching(/^blocked address: localhost -> /) });
    expect(connections).toBe(0);
    await expect(provider({ allow: ['127.0.0.1/32', '::1/128'] }).send(target, notification, opts)).resolves.toEqual({ status: 'sent' });
    expect(received).toHaveLength(1);
    // The token's audience is the endpoint's origin, by name.
    checkVapid(received[0]?.headers.authorization, `https://localhost:${port}`);
  });

  test('an allow entry that is not a CIDR is refused at construction, naming PUSH_ALLOW', () => {
    expect(() => provider({ allow: ['localhost'] })).toThrow(/^PUSH_ALLOW: "localhost"/);
  });
});

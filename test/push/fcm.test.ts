/**
 * FcmProvider through the real firebase-admin 13 code, up to the socket: the app's
 * httpAgent connects every host to a local TLS server that plays the FCM v1 endpoint
 * (its certificate names fcm.googleapis.com and is trusted through the agent's `ca`), and
 * the credential hands out a fixed access token, so no request leaves the machine.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tlsModule from 'node:tls';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { FcmProvider, loadFcmServiceAccount, type FcmTarget, type PushNotification, type SendOptions } from '../../src/push/providers';
import { makeTestTls, type TestTls } from './tls';

const PROJECT = 'relay-test';
const TOKEN = 'fcm-device-1:APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8OvPVGJ-hQMRKRrZuJAEcl7B338qju59zJMjw2DELjzEvxwYv7hH5Ynpc1ODQ0aT4U4OFEeco8ohsN5PjL1iC2dNtk2BAokeMCg2ZXKqpc8FXKmhX94kIxQ';
const target: FcmTarget = { provider: 'fcm', token: TOKEN };
const message: PushNotification = { conv_id: 'c1', seq: 42, title: 'Ann', body: 'hello ☕', badge: 3, tag: 'c1', kind: 'message' };
const opts: SendOptions = { ttlSeconds: 3600, collapseKey: 'c1', urgency: 'high' };

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: { message: Record<string, unknown> };
}

type Reply = (res: ServerResponse) => void;
const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => (res) =>
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers }).end(JSON.stringify(body));
const fcmError = (status: number, rpcStatus: string, text: string, errorCode?: string, headers?: Record<string, string>): Reply =>
  json(status, {
    error: {
      code: status,
      message: text,
      status: rpcStatus,
      details: errorCode === undefined ? [] : [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }],
    },
  }, headers);

let tls: TestTls;
let server: https.Server;
let port: number;
let reply: Reply = json(200, { name: `projects/${PROJECT}/messages/1` });
const received: Received[] = [];
const hung: ServerResponse[] = [];

/** Connects every request, whatever its host, to the local server; TLS still checks the name against the test CA. */
class LocalAgent extends https.Agent {
  // Returning the socket is enough: the agent then uses it as is (its callback is for asynchronous creation).
  override createConnection(options: https.RequestOptions): Duplex {
    return tlsModule.connect({ ...(options as tlsModule.ConnectionOptions), host: '127.0.0.1', port });
  }
}

function provider(timeoutMs = 5000): FcmProvider {
  return new FcmProvider({
    credential: { getAccessToken: async () => ({ access_token: 'test-access-token', expires_in: 3600 }) },
    projectId: PROJECT,
    timeoutMs,
    httpAgent: new LocalAgent({ ca: tls.cert, keepAlive: true }),
  });
}

beforeAll(async () => {
  tls = makeTestTls();
  server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'] });
      reply(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  reply = json(200, { name: `projects/${PROJECT}/messages/1` });
});

test('200: sent; the v1 request carries the bearer token, the data message, the Android collapse key and APNs headers', async () => {
  const p = provider();
  await expect(p.send(target, message, opts)).resolves.toEqual({ status: 'sent' });
  expect(received).toHaveLength(1);
  const [req] = received;
  expect(req?.method).toBe('POST');
  expect(req?.path).toBe(`/v1/projects/${PROJECT}/messages:send`);
  expect(req?.headers.host).toBe('fcm.googleapis.com');
  expect(req?.headers.authorization).toBe('Bearer test-access-token');
  const m = req?.body.message ?? {};
  expect(m.token).toBe(TOKEN);
  // Every data value a string.
  expect(m.data).toEqual({ conv_id: 'c1', seq: '42', title: 'Ann', body: 'hello ☕', badge: '3', tag: 'c1', kind: 'message' });
  expect(m.android).toEqual({ collapse_key: 'c1', priority: 'high', ttl: '3600s' });
  const apns = m.apns as { headers: Record<string, string>; payload: { aps: Record<string, unknown> } };
  expect(apns.headers).toMatchObject({ 'apns-collapse-id': 'c1', 'apns-priority': '10', 'apns-push-type': 'alert' });
  expect(Number(apns.headers['apns-expiration'])).toBeGreaterThan(Date.now() / 1000 + 3500);
  expect(apns.payload.aps).toMatchObject({ alert: { title: 'Ann', body: 'hello ☕' }, badge: 3, 'thread-id': 'c1' });
  expect(m).not.toHaveProperty('webpush');
  expect(m).not.toHaveProperty('notification');
  await p.close();
});

test('a retract is silent: data only on Android at normal priority, a background push with content-available on APNs', async () => {
  const p = provider();
  await expect(p.send(target, { ...message, kind: 'retract', title: '', body: '' }, { ttlSeconds: 0, collapseKey: 'c1', urgency: 'high' })).resolves.toEqual({ status: 'sent' });
  const m = received[0]?.body.message ?? {};
  expect(m.android).toEqual({ collapse_key: 'c1', priority: 'normal', ttl: '0s' });
  const apns = m.apns as { headers: Record<string, string>; payload: { aps: Record<string, unknown> } };
  expect(apns.headers).toMatchObject({ 'apns-priority': '5', 'apns-push-type': 'background', 'apns-expiration': '0' });
  expect(apns.payload.aps).toEqual({ 'content-available': 1 });
  await p.close();
});

test('404 UNREGISTERED: gone', async () => {
  reply = fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'gone' });
});

test('400 INVALID_ARGUMENT about the token: gone; about anything else: failed', async () => {
  reply = fcmError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'gone' });
  reply = fcmError(400, 'INVALID_ARGUMENT', "Invalid value at 'message.android.ttl'", 'INVALID_ARGUMENT');
  await expect(provider().send(target, message, opts)).resolves.toMatchObject({ status: 'failed', reason: expect.stringMatching(/^messaging\/invalid-argument: /) });
});

test('503 UNAVAILABLE: retry (firebase-admin retries a 503 itself unless told to wait over a minute)', async () => {
  // The library's own retries of a 503 wait 0, 1, 2 and 4 s (or a Retry-After up to 60 s):
  // a Retry-After beyond that makes it give up at once, which keeps this test fast.
  reply = fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE', { 'retry-after': '120' });
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'messaging/server-unavailable' });
  expect(received).toHaveLength(1);
});

test('500 INTERNAL and 429 QUOTA_EXCEEDED: retry', async () => {
  reply = fcmError(500, 'INTERNAL', 'Internal error.', 'INTERNAL');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'messaging/internal-error' });
  reply = fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.', 'QUOTA_EXCEEDED');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'messaging/message-rate-exceeded' });
});

test('a garbage answer: failed; a proxy error page with a 502: retry', async () => {
  reply = (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
  await expect(provider().send(target, message, opts)).resolves.toMatchObject({ status: 'failed', reason: expect.stringMatching(/^messaging\/unknown-error: /) });
  reply = (res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'messaging/unknown-error' });
});

test('401 (APNs or sender credentials refused): failed', async () => {
  reply = fcmError(401, 'UNAUTHENTICATED', 'Auth error from APNS or Web Push Service', 'THIRD_PARTY_AUTH_ERROR');
  await expect(provider().send(target, message, opts)).resolves.toMatchObject({ status: 'failed', reason: expect.stringMatching(/^messaging\/third-party-auth-error/) });
});

test('FCM that never answers: retry at our timeout, not the library 15 s', async () => {
  reply = (res) => hung.push(res);
  const p = provider(300);
  const started = Date.now();
  await expect(p.send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'timeout' });
  expect(Date.now() - started).toBeLessThan(2000);
  // Let the abandoned request finish inside the library.
  for (const res of hung.splice(0)) json(200, { name: 'late' })(res);
  await p.close();
});

test('a malformed token is failed without a request; after close, sends retry without a request', async () => {
  const p = provider();
  await expect(p.send({ provider: 'fcm', token: 'has spaces' }, message, opts)).resolves.toEqual({ status: 'failed', reason: 'bad target: bad_token' });
  await p.close();
  await expect(p.send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'closed' });
  expect(received).toHaveLength(0);
});

test('loadFcmServiceAccount reads a key file; a file that is no key is refused naming the key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fcm-'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = join(dir, 'sa.json');
  writeFileSync(file, JSON.stringify({ type: 'service_account', project_id: PROJECT, client_email: 'push@relay-test.iam.gserviceaccount.com', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }) }));
  const loaded = loadFcmServiceAccount(file);
  expect(loaded.projectId).toBe(PROJECT);
  expect(typeof loaded.credential.getAccessToken).toBe('function');
  writeFileSync(file, JSON.stringify({ project_id: PROJECT }));
  expect(() => loadFcmServiceAccount(file)).toThrow(/^PUSH_FCM_SERVICE_ACCOUNT: .* is not a service account key/);
  expect(() => loadFcmServiceAccount(join(dir, 'missing.json'))).toThrow(/^PUSH_FCM_SERVICE_ACCOUNT: cannot read/);
});

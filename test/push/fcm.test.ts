/**
 * FcmProvider through the real firebase-admin 13 code, up to the socket: the app's
 * httpAgent connects every host to a local TLS server that plays the FCM v1 endpoint and
 * Google's OAuth token endpoint (local-fcm.ts), and the credential hands out a fixed
 * access token (but for one test of a real service account's token exchange), so no
 * request leaves the machine.
 */
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FcmProvider, loadFcmServiceAccount, type FcmTarget, type PushNotification, type SendOptions } from '../../src/push/providers';
import { LocalFcm, fcmError, installAgentFetch, json } from './local-fcm';

const PROJECT = 'relay-test';
const TOKEN = 'fcm-device-1:APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8OvPVGJ-hQMRKRrZuJAEcl7B338qju59zJMjw2DELjzEvxwYv7hH5Ynpc1ODQ0aT4U4OFEeco8ohsN5PjL1iC2dNtk2BAokeMCg2ZXKqpc8FXKmhX94kIxQ';
const target: FcmTarget = { provider: 'fcm', token: TOKEN };
const message: PushNotification = { conv_id: 'c1', seq: 42, title: 'Ann', body: 'hello ☕', badge: 3, tag: 'c1', kind: 'message' };
const opts: SendOptions = { ttlSeconds: 3600, collapseKey: 'c1', urgency: 'high' };

let fcm: LocalFcm;
let uninstallFetch: () => void;
const hung: ServerResponse[] = [];

function provider(timeoutMs = 5000): FcmProvider {
  return new FcmProvider({
    credential: { getAccessToken: async () => ({ access_token: 'test-access-token', expires_in: 3600 }) },
    projectId: PROJECT,
    timeoutMs,
    httpAgent: fcm.agent(),
  });
}

/** A service account key file as Firebase's console hands it out, with a fresh RSA key. */
function serviceAccountFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fcm-'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = join(dir, 'sa.json');
  writeFileSync(file, JSON.stringify({ type: 'service_account', project_id: PROJECT, client_email: 'push@relay-test.iam.gserviceaccount.com', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }) }));
  return file;
}

beforeAll(async () => {
  fcm = await LocalFcm.start();
  uninstallFetch = installAgentFetch();
});

afterAll(async () => {
  uninstallFetch();
  await fcm.close();
});

beforeEach(() => fcm.reset());

test('200: sent; the v1 request carries the bearer token, the data message, the Android collapse key and APNs headers', async () => {
  const p = provider();
  await expect(p.send(target, message, opts)).resolves.toEqual({ status: 'sent' });
  expect(fcm.received).toHaveLength(1);
  const [req] = fcm.received;
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
  const m = fcm.received[0]?.body.message ?? {};
  expect(m.android).toEqual({ collapse_key: 'c1', priority: 'normal', ttl: '0s' });
  const apns = m.apns as { headers: Record<string, string>; payload: { aps: Record<string, unknown> } };
  expect(apns.headers).toMatchObject({ 'apns-priority': '5', 'apns-push-type': 'background', 'apns-expiration': '0' });
  expect(apns.payload.aps).toEqual({ 'content-available': 1 });
  await p.close();
});

test('404 UNREGISTERED: gone', async () => {
  fcm.reply = fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'gone' });
});

test('400 INVALID_ARGUMENT about the token: gone; about anything else: failed', async () => {
  fcm.reply = fcmError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'gone' });
  fcm.reply = fcmError(400, 'INVALID_ARGUMENT', "Invalid value at 'message.android.ttl'", 'INVALID_ARGUMENT');
  await expect(provider().send(target, message, opts)).resolves.toMatchObject({ status: 'failed', reason: expect.stringMatching(/^messaging\/invalid-argument: /) });
});

test('503 UNAVAILABLE: retry (firebase-admin retries a 503 itself unless told to wait over a minute)', async () => {
  // The library's own retries of a 503 wait 0, 1, 2 and 4 s (or a Retry-After up to 60 s):
  // a Retry-After beyond that makes it give up at once, which keeps this test fast.
  fcm.reply = fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE', { 'retry-after': '120' });
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'messaging/server-unavailable' });
  expect(fcm.received).toHaveLength(1);
});

test('500 INTERNAL and 429 QUOTA_EXCEEDED: retry', async () => {
  fcm.reply = fcmError(500, 'INTERNAL', 'Internal error.', 'INTERNAL');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'messaging/internal-error' });
  fcm.reply = fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.', 'QUOTA_EXCEEDED');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'messaging/message-rate-exceeded' });
});

test('a garbage answer: failed; a proxy error page with a 502: retry', async () => {
  fcm.reply = (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>');
  await expect(provider().send(target, message, opts)).resolves.toMatchObject({ status: 'failed', reason: expect.stringMatching(/^messaging\/unknown-error: /) });
  fcm.reply = (res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
  await expect(provider().send(target, message, opts)).resolves.toEqual({ status: 'retry', reason: 'messaging/unknown-error' });
});

test('401 (APNs or sender credentials refused): failed', async () => {
  fcm.reply = fcmError(401, 'UNAUTHENTICATED', 'Auth error from APNS or Web Push Service', 'THIRD_PARTY_AUTH_ERROR');
  await expect(provider().send(target, message, opts)).resolves.toMatchObject({ status: 'failed', reason: expect.stringMatching(/^messaging\/third-party-auth-error/) });
});

test('FCM that never answers: retry at our timeout, not the library 15 s', async () => {
  fcm.reply = (res) => hung.push(res);
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
  expect(fcm.received).toHaveLength(0);
});

test('loadFcmServiceAccount reads a key file; a file that is no key is refused naming the key', () => {
  const file = serviceAccountFile();
  const loaded = loadFcmServiceAccount(file);
  expect(loaded.projectId).toBe(PROJECT);
  expect(typeof loaded.credential.getAccessToken).toBe('function');
  writeFileSync(file, JSON.stringify({ project_id: PROJECT }));
  expect(() => loadFcmServiceAccount(file)).toThrow(/^PUSH_FCM_SERVICE_ACCOUNT: .* is not a service account key/);
  expect(() => loadFcmServiceAccount(join(file, '..', 'missing.json'))).toThrow(/^PUSH_FCM_SERVICE_ACCOUNT: cannot read/);
});

test("a service account's token exchange goes through the given agent, and its token signs the send", async () => {
  const file = serviceAccountFile();
  const agent = fcm.agent();
  const p = new FcmProvider({ ...loadFcmServiceAccount(file, agent), timeoutMs: 5000, httpAgent: agent });
  await expect(p.send(target, message, opts)).resolves.toEqual({ status: 'sent' });
  expect(fcm.tokenRequests).toHaveLength(1);
  expect(fcm.tokenRequests[0]?.headers.host).toBe('oauth2.googleapis.com');
  const issued = fcm.tokenRequests[0]?.accessToken;
  expect(issued).toEqual(expect.any(String));
  expect(fcm.received[0]?.headers.authorization).toBe(`Bearer ${issued}`);
  expect(fcm.unexpected).toEqual([]);
  await p.close();
});

/**
 * FCM push end to end on the embedded engines: the server is configured with a real
 * service account key file (PUSH_FCM_SERVICE_ACCOUNT, a fresh RSA key), and firebase-admin's
 * requests go through startServer's pushHttpAgent to a local endpoint playing Google's OAuth
 * token endpoint and FCM HTTP v1 (test/push/local-fcm.ts). So the path under test is the
 * production one from the SEND frame to the bytes FCM would get: the window's one
 * notification, the JWT-bearer token exchange and its bearer token, the v1 message, and
 * what the server does with FCM's answers (gone, failed, retried).
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConversation, http, pollUntil, registerUserPatiently, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import { acked, closeAll, connectDevice, send, type Device } from './rich-helpers';
import { FCM_HOST, LocalFcm, OAUTH_TOKEN_URL, fcmError, installAgentFetch, type FcmRequest } from '../push/local-fcm';

jest.setTimeout(60_000);

const PROJECT = 'relay-e2e';
const CLIENT_EMAIL = `push-sender@${PROJECT}.iam.gserviceaccount.com`;
/** Longer than the window (200 ms), its job, and the first retry backoff (1 s) of the device job. */
const SETTLE_MS = 1500;

let fcm: LocalFcm;
let server: TestServer;
let publicKey: KeyObject;
let keyDir: string;
let uninstallFetch: () => void;
const sockets: Device[] = [];

beforeAll(async () => {
  fcm = await LocalFcm.start();
  uninstallFetch = installAgentFetch();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  publicKey = createPublicKey(privateKey);
  keyDir = mkdtempSync(join(tmpdir(), 'fcm-sa-'));
  const file = join(keyDir, 'service-account.json');
  // The fields of a key file from Firebase's console; the server reads only some of them.
  writeFileSync(
    file,
    JSON.stringify({
      type: 'service_account',
      project_id: PROJECT,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: CLIENT_EMAIL,
      client_id: '104886790523151244511',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: OAUTH_TOKEN_URL,
      auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(CLIENT_EMAIL)}`,
      universe_domain: 'googleapis.com',
    }),
  );
  server = await startTestServer({ PUSH_FCM_SERVICE_ACCOUNT: file }, { pushHttpAgent: fcm.agent() });
});

afterAll(async () => {
  closeAll(sockets);
  await stopTestServer(server);
  await fcm.close();
  uninstallFetch();
  rmSync(keyDir, { recursive: true, force: true });
});

afterEach(() => {
  // Nothing but the token exchange and the sends may reach Google.
  expect(fcm.unexpected).toEqual([]);
});

let tokens = 0;
/** A registration token shaped like FCM's ("<instance id>:APA91b<base64url>"), unique per call. */
const fcmToken = (): string => `inst${++tokens}x${randomBytes(8).toString('hex')}:APA91b${randomBytes(100).toString('base64url')}`;

const register = (user: TestUser, device: string, body: unknown) => http(server.url, 'PUT', `/api/v1/push/devices/${device}`, body, user.token);
const devices = async (user: TestUser) => (await http<{ devices: { device_id: string; platform: string; app_id: string; provider: string }[] }>(server.url, 'GET', '/api/v1/push/devices', undefined, user.token)).body.devices;
const deadLetters = async (user: TestUser) =>
  (await http<{ dead_letters: { device_id: string; provider: string; reason: string; attempts: number; payload: string }[] }>(server.url, 'GET', '/api/v1/push/dead-letters', undefined, user.token)).body.dead_letters;

/** Waits for the `n`th send to `token`; then the sends so far. */
async function sendsTo(token: string, n: number): Promise<FcmRequest[]> {
  await pollUntil(async () => fcm.to(token).length, (count) => count >= n, 5000);
  return fcm.to(token);
}

/** chat_push_total for provider fcm and `result`, as /metrics shows it (0 before the first). */
async function fcmPushes(result: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  for (const line of text.split('\n')) {
    const m = /^chat_push_total\{([^}]*)\} (\d+)$/.exec(line);
    if (m && m[1].includes('provider="fcm"') && m[1].includes(`result="${result}"`)) return Number(m[2]);
  }
  return 0;
}

/**
 * Fresh users (so bob's badge counts only this conversation): alice online on a web
 * device, bob with no live session, a direct conversation, and bob's phone registered.
 */
async function directChat(platform: 'android' | 'ios' = 'android'): Promise<{ alice: TestUser; bob: TestUser; conv: string; sender: Device; token: string; phone: string }> {
  const [alice, bob] = await Promise.all([registerUserPatiently(server.url), registerUserPatiently(server.url)]);
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const sender = await connectDevice(server, alice, 'alice-web');
  sockets.push(sender);
  const token = fcmToken();
  const phone = `bob-${platform}`;
  const res = await register(bob, phone, { platform, app_id: `com.relay.${platform}`, fcm_token: token });
  expect(res).toEqual({ status: 201, body: { device_id: phone, provider: 'fcm' } });
  return { alice, bob, conv, sender, token, phone };
}

interface Jwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

/** The JWT's parts, after checking its RS256 signature with `key`. */
function verifiedJwt(jwt: string, key: KeyObject): Jwt {
  const [header, payload, signature] = jwt.split('.');
  expect(verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature ?? '', 'base64url'))).toBe(true);
  const part = (s: string | undefined) => JSON.parse(Buffer.from(s ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: part(header), payload: part(payload) };
}

test("an offline android device gets one v1 send for a burst, with the bearer token bought by the service account's signed JWT", async () => {
  const { alice, conv, sender, token } = await directChat();
  const seqs: number[] = [];
  for (const body of ['hi', 'are you there?', 'lunch?']) seqs.push(acked(await send(sender.sock, conv, body)));
  await sendsTo(token, 1);
  await sleep(SETTLE_MS); // a second send for the window would be here by now
  const sends = fcm.to(token);
  expect(sends).toHaveLength(1);
  const [req] = sends;
  expect([req?.method, req?.headers.host, req?.path, req?.status]).toEqual(['POST', FCM_HOST, `/v1/projects/${PROJECT}/messages:send`, 200]);
  const m = req?.body.message ?? {};
  expect(m.token).toBe(token);
  expect(m.data).toEqual({ conv_id: conv, seq: String(seqs[2]), title: alice.username, body: '3 messages', badge: '1', tag: conv, kind: 'message' });
  expect(m.android).toEqual({ collapse_key: conv, priority: 'high', ttl: '86400s' });

  // One token exchange so far (the credential caches the token), and the send carries what it issued.
  expect(fcm.tokenRequests).toHaveLength(1);
  const [exchange] = fcm.tokenRequests;
  expect(exchange?.grantType).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
  expect(exchange?.accessToken).toEqual(expect.any(String));
  expect(req?.headers.authorization).toBe(`Bearer ${exchange?.accessToken}`);
  // The assertion is the service account's: signed with its key, from its email, for Google's token URL.
  const jwt = verifiedJwt(exchange?.assertion ?? '', publicKey);
  expect(jwt.header.alg).toBe('RS256');
  expect(jwt.payload).toMatchObject({ iss: CLIENT_EMAIL, aud: OAUTH_TOKEN_URL });
  expect(String(jwt.payload.scope).split(' ')).toContain('https://www.googleapis.com/auth/firebase.messaging');
  expect(Number(jwt.payload.exp) - Number(jwt.payload.iat)).toBe(3600);
  expect(Math.abs(Number(jwt.payload.iat) - Date.now() / 1000)).toBeLessThan(60);
  // Another key does not verify it: the check above is a real one.
  const other = createPublicKey(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
  const [h, p, s] = (exchange?.assertion ?? '').split('.');
  expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), other, Buffer.from(s ?? '', 'base64url'))).toBe(false);
});

test('a read on another device retracts: one more send, silent (background APNs push, normal Android priority), badge 0', async () => {
  const { bob, conv, sender, token } = await directChat();
  const seq = acked(await send(sender.sock, conv, 'ping'));
  await sendsTo(token, 1);
  const laptop = await connectDevice(server, bob, 'bob-laptop');
  sockets.push(laptop);
  laptop.sock.send({ type: 'READ', conv_id: conv, seq });
  const sends = await sendsTo(token, 2);
  await sleep(SETTLE_MS);
  expect(fcm.to(token)).toHaveLength(2);
  const m = sends[1]?.body.message ?? {};
  expect(m.data).toEqual({ conv_id: conv, seq: String(seq), title: '', body: '', badge: '0', tag: conv, kind: 'retract' });
  expect(m.android).toMatchObject({ collapse_key: conv, priority: 'normal' });
  const apns = m.apns as { headers: Record<string, string>; payload: { aps: Record<string, unknown> } };
  expect(apns.payload.aps).toEqual({ 'content-available': 1 });
  expect(apns.headers).toMatchObject({ 'apns-push-type': 'background', 'apns-priority': '5', 'apns-collapse-id': conv });
});

test('an iOS registration gets the APNs alert (title, body, badge, thread) on a message', async () => {
  const { alice, bob, conv, sender, token, phone } = await directChat('ios');
  expect(await devices(bob)).toEqual([expect.objectContaining({ device_id: phone, platform: 'ios', app_id: 'com.relay.ios', provider: 'fcm' })]);
  await send(sender.sock, conv, 'hello from alice');
  const [req] = await sendsTo(token, 1);
  const apns = req?.body.message.apns as { headers: Record<string, string>; payload: { aps: Record<string, unknown> } };
  expect(apns.headers).toMatchObject({ 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-collapse-id': conv });
  expect(apns.payload.aps).toEqual({ alert: { title: alice.username, body: 'hello from alice' }, badge: 1, sound: 'default', 'thread-id': conv, 'mutable-content': 1 });
});

test('404 UNREGISTERED: the registration is removed and counted as gone', async () => {
  const gone = await fcmPushes('gone');
  const { bob, conv, sender, token } = await directChat();
  fcm.queue(token, fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED'));
  await send(sender.sock, conv, 'anyone there?');
  await sendsTo(token, 1);
  expect(await pollUntil(() => devices(bob), (list) => list.length === 0, 5000)).toEqual([]);
  expect(await fcmPushes('gone')).toBe(gone + 1);
  await sleep(SETTLE_MS);
  expect(fcm.to(token)).toHaveLength(1);
  expect(await deadLetters(bob)).toEqual([]);
});

test('400 INVALID_ARGUMENT about the message: a dead letter saying why, no second send, the registration kept', async () => {
  const letters = await fcmPushes('dead_letter');
  const { bob, conv, sender, token, phone } = await directChat();
  fcm.queue(token, fcmError(400, 'INVALID_ARGUMENT', "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), \"-1s\"", 'INVALID_ARGUMENT'));
  const seq = acked(await send(sender.sock, conv, 'this one fails'));
  await sendsTo(token, 1);
  const dead = await pollUntil(() => deadLetters(bob), (list) => list.length > 0, 5000);
  expect(dead).toEqual([expect.objectContaining({ device_id: phone, provider: 'fcm', attempts: 1, reason: expect.stringMatching(/^messaging\/invalid-argument: Invalid value at 'message\.android\.ttl'/) })]);
  expect(JSON.parse(dead[0]?.payload ?? '{}')).toMatchObject({ kind: 'message', conv_id: conv, seq });
  await sleep(SETTLE_MS);
  expect(fcm.to(token)).toHaveLength(1);
  expect(await fcmPushes('dead_letter')).toBe(letters + 1);
  // A message we built wrong must not cost the user their registration.
  expect((await devices(bob)).map((d) => d.device_id)).toEqual([phone]);
});

test("503 then 200 (firebase-admin's own retry): exactly one delivered send, no dead letter", async () => {
  const [sent, retried] = [await fcmPushes('sent'), await fcmPushes('retry')];
  const { bob, conv, sender, token } = await directChat();
  fcm.queue(token, fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE'));
  await send(sender.sock, conv, 'through the outage');
  await pollUntil(async () => fcm.to(token).filter((r) => r.status === 200).length, (n) => n >= 1, 5000);
  await sleep(SETTLE_MS);
  expect(fcm.to(token).map((r) => r.status)).toEqual([503, 200]);
  expect(await deadLetters(bob)).toEqual([]);
  // The library retried inside one send: the server saw one 'sent' and no 'retry'.
  expect([await fcmPushes('sent'), await fcmPushes('retry')]).toEqual([sent + 1, retried]);
});

test("503 with a long Retry-After (the library gives up at once): the server's job retries, exactly one delivered send, no dead letter", async () => {
  const [sent, retried] = [await fcmPushes('sent'), await fcmPushes('retry')];
  const { bob, conv, sender, token } = await directChat();
  fcm.queue(token, fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE', { 'retry-after': '120' }));
  await send(sender.sock, conv, 'after the job backoff');
  await pollUntil(async () => fcm.to(token).filter((r) => r.status === 200).length, (n) => n >= 1, 8000);
  await sleep(SETTLE_MS);
  expect(fcm.to(token).map((r) => r.status)).toEqual([503, 200]);
  expect(await deadLetters(bob)).toEqual([]);
  expect([await fcmPushes('sent'), await fcmPushes('retry')]).toEqual([sent + 1, retried + 1]);
  // Both attempts carried the same notification.
  const [first, second] = fcm.to(token);
  expect(second?.body.message.data).toEqual(first?.body.message.data);
});

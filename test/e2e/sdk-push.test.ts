/**
 * The SDK's push calls against the real server: the VAPID key, registering a device's
 * Web Push subscription (the ChatClient's own device by default), replacing it, removing
 * it, and the ApiErrors of bad input (a malformed subscription, FCM on a server without
 * it, no token).
 */
import { createECDH, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { ApiError, ChatClient, RestClient, type WebPushSubscriptionJSON } from '../../src/client';
import { registerUser, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

let server: TestServer;
let alice: TestUser;

beforeAll(async () => {
  // Endpoints on 127.0.0.1 are allowed here; nothing is ever pushed to them in this file.
  server = await startTestServer({ PUSH_ALLOW: '127.0.0.1/32' });
  alice = await registerUser(server.url);
});
afterAll(() => stopTestServer(server));

/** A browser-like subscription (`PushSubscription.toJSON()`) with real P-256 keys. */
function subscription(path: string): WebPushSubscriptionJSON {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint: `https://127.0.0.1:9/push/${path}`,
    expirationTime: null,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

function chat(user: TestUser, deviceId: string): ChatClient {
  return new ChatClient({ baseUrl: server.url, token: user.token, deviceId, WebSocketImpl: WebSocket as never });
}

test('vapidKey is the 65-byte public key browsers subscribe with, from ChatClient and RestClient alike', async () => {
  const c = chat(alice, 'sdk-push-key');
  const key = await c.vapidKey();
  expect(Buffer.from(key, 'base64url')).toHaveLength(65);
  expect(await new RestClient({ baseUrl: server.url, token: alice.token }).vapidKey()).toBe(key);
});

test('registerPush registers the client’s own device, replaces it, and unregisterPush removes it', async () => {
  const c = chat(alice, 'sdk-push-laptop');
  expect(c.deviceId).toBe('sdk-push-laptop');
  expect(await c.registerPush({ platform: 'web', webpush: subscription('one') })).toEqual({ device_id: 'sdk-push-laptop', provider: 'webpush' });
  const first = (await c.rest.listPushDevices()).find((d) => d.device_id === 'sdk-push-laptop');
  expect(first).toMatchObject({ provider: 'webpush' });

  // Registering again replaces the target: still one row for the device, updated later.
  await new Promise((r) => setTimeout(r, 5));
  expect(await c.registerPush({ platform: 'web', app_id: 'relay-web', webpush: subscription('two') })).toEqual({ device_id: 'sdk-push-laptop', provider: 'webpush' });
  const rows = (await c.rest.listPushDevices()).filter((d) => d.device_id === 'sdk-push-laptop');
  expect(rows).toHaveLength(1);
  expect(rows[0].updated_at).toBeGreaterThan(first!.updated_at);

  // Another device id, through the explicit argument.
  await c.registerPush({ platform: 'web', webpush: subscription('three') }, 'sdk-push-tablet');
  expect((await c.rest.listPushDevices()).map((d) => d.device_id).sort()).toEqual(['sdk-push-laptop', 'sdk-push-tablet']);

  await c.unregisterPush();
  await c.rest.unregisterPush('sdk-push-tablet');
  expect(await c.rest.listPushDevices()).toEqual([]);
  await expect(c.unregisterPush()).rejects.toMatchObject({ name: 'ApiError', status: 404, code: 'not_found' });
});

test('a bad subscription, a token this server cannot use, and no token are ApiErrors', async () => {
  const c = chat(alice, 'sdk-push-bad');
  const bad = c.registerPush({ platform: 'web', webpush: { endpoint: 'http://127.0.0.1/push/x', keys: { p256dh: 'short', auth: 'x' } } });
  await expect(bad).rejects.toBeInstanceOf(ApiError);
  await expect(bad).rejects.toMatchObject({ status: 400, code: 'bad_request', message: expect.stringMatching(/webpush/) });
  // FCM is not configured on this server: refused, not stored.
  await expect(c.registerPush({ platform: 'android', fcm_token: 'abc:def' })).rejects.toMatchObject({ status: 400, code: 'bad_request', message: expect.stringMatching(/FCM/) });
  expect(await c.rest.listPushDevices()).toEqual([]);
  const anonymous = new RestClient({ baseUrl: server.url });
  await expect(anonymous.registerPush({ platform: 'web', webpush: subscription('x') }, 'd')).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
});

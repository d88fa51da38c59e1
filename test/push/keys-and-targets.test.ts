/** VAPID keys kept across restarts, the REST layer's target validators, Retry-After, and FCM error codes no local server produces. */
import { createECDH, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFcmToken, checkWebPushSubscription, fcmOutcome, loadOrCreateVapidKeys, takesSilentPush } from '../../src/push/providers';
import { retryAfterMs } from '../../src/push/providers/retry-after';

describe('VAPID keys', () => {
  test('generated once in DATA_DIR (0600) and the same on every later start', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'vapid-')), 'data');
    const first = loadOrCreateVapidKeys(null, dir);
    expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
    expect(Buffer.from(first.privateKey, 'base64url')).toHaveLength(32);
    expect(statSync(join(dir, 'vapid.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['vapid.json']);
    // A restart: a new call, same directory.
    expect(loadOrCreateVapidKeys(null, dir)).toEqual(first);
    expect(JSON.parse(readFileSync(join(dir, 'vapid.json'), 'utf8'))).toEqual(first);
  });

  test('configured keys win and nothing is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vapid-'));
    const keys = { publicKey: 'p', privateKey: 'q' };
    expect(loadOrCreateVapidKeys(keys, dir)).toBe(keys);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('a damaged file is an error, never silently replaced (that would orphan every subscription)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vapid-'));
    writeFileSync(join(dir, 'vapid.json'), '{"publicKey":"abc"}');
    expect(() => loadOrCreateVapidKeys(null, dir)).toThrow(/vapid\.json: needs publicKey/);
    writeFileSync(join(dir, 'vapid.json'), 'nope');
    expect(() => loadOrCreateVapidKeys(null, dir)).toThrow(/vapid\.json: not JSON/);
  });
});

describe('checkWebPushSubscription', () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const good = { endpoint: 'https://fcm.googleapis.com/fcm/send/abc:APA91b', keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') }, expirationTime: null };

  test('a browser subscription becomes a webpush target (extra fields dropped)', () => {
    expect(checkWebPushSubscription(good)).toEqual({ ok: true, target: { provider: 'webpush', endpoint: good.endpoint, keys: good.keys } });
  });

  test.each([
    ['not an object', 'x', 'not_an_object'],
    ['http', { ...good, endpoint: 'http://push.example/x' }, 'bad_endpoint'],
    ['not a URL', { ...good, endpoint: 'push.example/x' }, 'bad_endpoint'],
    ['credentials in the URL', { ...good, endpoint: 'https://a:b@push.example/x' }, 'bad_endpoint'],
    ['over 2 KB', { ...good, endpoint: `https://push.example/${'x'.repeat(2048)}` }, 'bad_endpoint'],
    ['no keys', { endpoint: good.endpoint }, 'bad_keys'],
    ['p256dh compressed (33 bytes)', { ...good, keys: { ...good.keys, p256dh: ecdh.getPublicKey(undefined, 'compressed').toString('base64url') } }, 'bad_p256dh'],
    ['p256dh not on the curve', { ...good, keys: { ...good.keys, p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url') } }, 'bad_p256dh'],
    ['p256dh not base64url', { ...good, keys: { ...good.keys, p256dh: `${good.keys.p256dh.slice(0, -2)}+/` } }, 'bad_p256dh'],
    ['auth of 15 bytes', { ...good, keys: { ...good.keys, auth: randomBytes(15).toString('base64url') } }, 'bad_auth'],
    ['auth missing', { ...good, keys: { p256dh: good.keys.p256dh } }, 'bad_auth'],
  ])('refuses %s', (_name, sub, reason) => {
    expect(checkWebPushSubscription(sub)).toEqual({ ok: false, reason });
  });

  test('padded base64url keys are accepted as browsers sometimes send them', () => {
    const padded = { ...good, keys: { ...good.keys, auth: `${good.keys.auth}==` } };
    expect(checkWebPushSubscription(padded).ok).toBe(true);
  });
});

describe('checkFcmToken', () => {
  test('a token of token characters up to 4 KB', () => {
    expect(checkFcmToken('dXk1:APA91bH-_x')).toEqual({ ok: true, target: { provider: 'fcm', token: 'dXk1:APA91bH-_x' } });
    expect(checkFcmToken('a'.repeat(4096)).ok).toBe(true);
  });
  test.each([[''], ['a'.repeat(4097)], ['has space'], ['semi;colon'], ['ünïcode'], [42], [null]])('refuses %p', (token) => {
    expect(checkFcmToken(token)).toEqual({ ok: false, reason: 'bad_token' });
  });
});

test('Retry-After: seconds or an HTTP date, clamped to [0, 1 day]; garbage is no hint', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  expect(retryAfterMs('7', now)).toBe(7000);
  expect(retryAfterMs('Fri, 04 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
  expect(retryAfterMs('Fri, 04 Dec 2026 11:00:00 GMT', now)).toBe(0);
  expect(retryAfterMs('9999999', now)).toBe(24 * 3600_000);
  expect(retryAfterMs('soon', now)).toBeUndefined();
  expect(retryAfterMs(undefined, now)).toBeUndefined();
});

test('FCM errors without a server answer: network and token fetching retry, anything unknown fails', () => {
  const err = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });
  expect(fcmOutcome(err('app/network-error'))).toEqual({ status: 'retry', reason: 'app/network-error' });
  expect(fcmOutcome(err('app/network-timeout'))).toEqual({ status: 'retry', reason: 'app/network-timeout' });
  expect(fcmOutcome(err('app/invalid-credential'))).toEqual({ status: 'retry', reason: 'app/invalid-credential' });
  expect(fcmOutcome(err('messaging/invalid-registration-token'))).toEqual({ status: 'gone' });
  expect(fcmOutcome(err('messaging/payload-size-limit-exceeded', 'too big'))).toEqual({ status: 'failed', reason: 'messaging/payload-size-limit-exceeded: too big' });
  expect(fcmOutcome(new Error('no code'))).toEqual({ status: 'failed', reason: 'no code' });
});

describe('takesSilentPush: who gets retractions', () => {
  test('FCM tokens and browser push services do; Safari\'s (push.apple.com) does not, and neither does an unparsable endpoint', () => {
    const keys = { p256dh: 'x', auth: 'y' };
    expect(takesSilentPush({ provider: 'fcm', token: 'tok' })).toBe(true);
    expect(takesSilentPush({ provider: 'webpush', endpoint: 'https://fcm.googleapis.com/fcm/send/abc', keys })).toBe(true);
    expect(takesSilentPush({ provider: 'webpush', endpoint: 'https://updates.push.services.mozilla.com/wpush/v2/abc', keys })).toBe(true);
    expect(takesSilentPush({ provider: 'webpush', endpoint: 'https://web.push.apple.com/QGx3', keys })).toBe(false);
    expect(takesSilentPush({ provider: 'webpush', endpoint: 'https://WEB.PUSH.APPLE.COM/QGx3', keys })).toBe(false);
    expect(takesSilentPush({ provider: 'webpush', endpoint: 'https://notpush.apple.com.example/x', keys })).toBe(true);
    expect(takesSilentPush({ provider: 'webpush', endpoint: 'not a url', keys })).toBe(false);
  });
});

/**
 * REST: push registrations of the caller's devices (a Web Push subscription or an FCM
 * token per device), the VAPID public key browsers subscribe with, and the dead letters of
 * pushes that failed for good. Devices are the caller's own: every path is scoped by the
 * token's user, so another user's device id names nothing here.
 */
import { Router as ExpressRouter } from 'express';
import { ProtocolError } from '../protocol';
import type { PushTarget } from '../store';
import { checkFcmToken, checkWebPushSubscription } from '../push';
import { intParam, requireAuth, userOf, validator } from './http';
import type { ApiOptions } from './index';

/** The validators' reason codes, as a client developer reads them. */
const reasons: Readonly<Record<string, string>> = {
  not_an_object: 'must be a PushSubscription object ({endpoint, keys: {p256dh, auth}})',
  bad_endpoint: 'endpoint must be an https URL with a host and no credentials, at most 2048 bytes',
  bad_keys: 'keys must be {p256dh, auth}',
  bad_p256dh: 'keys.p256dh must be the base64url of an uncompressed P-256 public key (65 bytes)',
  bad_auth: 'keys.auth must be the base64url of 16 bytes',
  bad_token: 'must be an FCM registration token (letters, digits, "-", "_", ":", at most 4096 bytes)',
};

interface RegisterBody {
  platform: 'web' | 'android' | 'ios';
  app_id?: string;
  webpush?: unknown;
  fcm_token?: unknown;
}

export function pushRoutes(opts: ApiOptions): ExpressRouter {
  const { limits, store } = opts;
  const parseRegister = validator<RegisterBody>({
    type: 'object',
    properties: {
      platform: { enum: ['web', 'android', 'ios'] },
      app_id: { type: 'string', minLength: 1, maxLength: 255 },
      webpush: { type: 'object' },
      fcm_token: { type: 'string' },
    },
    required: ['platform'],
    additionalProperties: false,
  });
  const deviceParam = (id: string): string => {
    if (id.length < 1 || id.length > limits.maxIdChars) throw new ProtocolError('bad_request', `device id must be 1 to ${limits.maxIdChars} characters`);
    return id;
  };

  const r = ExpressRouter();
  r.use('/push', requireAuth(opts.auth));

  r.get('/push/vapid-key', (_req, res) => {
    if (opts.push === null || opts.push.vapidPublicKey === null) throw new ProtocolError('unavailable', 'Web Push is off on this server');
    res.json({ public_key: opts.push.vapidPublicKey });
  });

  r.get('/push/devices', async (_req, res) => {
    const regs = await store.getPushRegistrations([userOf(res)]);
    res.json({ devices: regs.map(({ device_id, platform, app_id, target, created_at, updated_at }) => ({ device_id, platform, app_id, provider: target.provider, created_at, updated_at })) });
  });

  /** Registers or replaces the device's target: `{platform, webpush: PushSubscription}` or `{platform, fcm_token}`. */
  r.put('/push/devices/:device_id', async (req, res) => {
    const userId = userOf(res);
    const deviceId = deviceParam(req.params.device_id);
    const body = parseRegister(req.body);
    if ((body.webpush === undefined) === (body.fcm_token === undefined)) throw new ProtocolError('bad_request', 'give exactly one of webpush and fcm_token');
    let target: PushTarget;
    if (body.webpush !== undefined) {
      const check = checkWebPushSubscription(body.webpush);
      if (!check.ok) throw new ProtocolError('bad_request', `webpush: ${reasons[check.reason] ?? check.reason}`);
      target = check.target;
    } else {
      const check = checkFcmToken(body.fcm_token);
      if (!check.ok) throw new ProtocolError('bad_request', `fcm_token: ${reasons[check.reason] ?? check.reason}`);
      target = check.target;
    }
    if (opts.push === null || !opts.push.providers.includes(target.provider)) {
      throw new ProtocolError('bad_request', `${target.provider === 'fcm' ? 'FCM' : 'Web Push'} is not configured on this server`);
    }
    // A push endpoint is a URL this server will call: refused now if it could reach inside.
    await opts.push.checkTarget(target);
    const now = Date.now();
    const existed = (await store.getPushRegistrations([userId])).some((g) => g.device_id === deviceId);
    await store.putPushRegistration({ user_id: userId, device_id: deviceId, platform: body.platform, app_id: body.app_id ?? '', target, created_at: now, updated_at: now });
    opts.push.registered(userId);
    res.status(existed ? 200 : 201).json({ device_id: deviceId, provider: target.provider });
  });

  r.delete('/push/devices/:device_id', async (req, res) => {
    const removed = await store.deletePushRegistration(userOf(res), deviceParam(req.params.device_id));
    if (!removed) throw new ProtocolError('not_found', 'no push registration for this device');
    res.status(204).end();
  });

  r.get('/push/dead-letters', async (req, res) => {
    res.json({ dead_letters: await store.listPushDeadLetters(userOf(res), intParam(req.query.limit, 'limit', 50, 1, 200)) });
  });

  return r;
}

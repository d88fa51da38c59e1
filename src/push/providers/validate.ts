/**
 * Validation of push targets as clients send them (the REST layer's registration body),
 * before anything is stored or sent. Failures carry a stable reason code.
 */
import { createPublicKey } from 'node:crypto';
import type { FcmTarget, WebPushTarget } from './types';

/** Longest Web Push endpoint accepted, in bytes (browsers' are well under 1 KB). */
export const MAX_ENDPOINT_BYTES = 2048;
/** Longest FCM token accepted, in bytes (FCM's are about 160). */
export const MAX_FCM_TOKEN_BYTES = 4096;

export type TargetCheck<T> = { ok: true; target: T } | { ok: false; reason: string };

// base64url as browsers write it; some add "=" padding, which Buffer accepts too.
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
// FCM tokens are "<instance id>:<APA91b...>"; letters, digits, "-", "_", ":" (and "." kept for safety).
const FCM_TOKEN = /^[A-Za-z0-9_:.-]+$/;

function base64urlBytes(value: unknown): Buffer | null {
  if (typeof value !== 'string' || !BASE64URL.test(value)) return null;
  return Buffer.from(value, 'base64url');
}

/** True when `point` is an uncompressed point on P-256 (the curve check is node's, via a JWK). */
function isP256Point(point: Buffer): boolean {
  if (point.length !== 65 || point[0] !== 0x04) return false;
  try {
    createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
      format: 'jwk',
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * A browser PushSubscription (`{endpoint, keys: {p256dh, auth}}`, other fields ignored) as
 * a WebPushTarget: endpoint an https URL with a host, no credentials, at most 2 KB;
 * p256dh the base64url of a 65-byte uncompressed P-256 point on the curve; auth the
 * base64url of 16 bytes. Where the endpoint may connect is checked at send time (DNS
 * answers change), not here.
 */
export function checkWebPushSubscription(sub: unknown): TargetCheck<WebPushTarget> {
  if (typeof sub !== 'object' || sub === null) return { ok: false, reason: 'not_an_object' };
  const { endpoint, keys } = sub as { endpoint?: unknown; keys?: unknown };
  if (typeof endpoint !== 'string' || Buffer.byteLength(endpoint) > MAX_ENDPOINT_BYTES) return { ok: false, reason: 'bad_endpoint' };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, reason: 'bad_endpoint' };
  }
  if (url.protocol !== 'https:' || url.hostname === '' || url.username !== '' || url.password !== '') return { ok: false, reason: 'bad_endpoint' };
  if (typeof keys !== 'object' || keys === null) return { ok: false, reason: 'bad_keys' };
  const { p256dh, auth } = keys as { p256dh?: unknown; auth?: unknown };
  const point = base64urlBytes(p256dh);
  if (point === null || !isP256Point(point)) return { ok: false, reason: 'bad_p256dh' };
  const secret = base64urlBytes(auth);
  if (secret === null || secret.length !== 16) return { ok: false, reason: 'bad_auth' };
  return { ok: true, target: { provider: 'webpush', endpoint, keys: { p256dh: p256dh as string, auth: auth as string } } };
}

/** An FCM registration token as an FcmTarget: non-empty, at most 4 KB, token characters only. */
export function checkFcmToken(token: unknown): TargetCheck<FcmTarget> {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_FCM_TOKEN_BYTES || !FCM_TOKEN.test(token)) {
    return { ok: false, reason: 'bad_token' };
  }
  return { ok: true, target: { provider: 'fcm', token } };
}

/**
 * S10's subscription keys, derived from the device id: the seed writes each device's
 * public key into its registration and the push service (another process) derives the
 * same private key from the endpoint's path to decrypt, so no key travels between them.
 * A SHA-256 is a valid P-256 scalar except with negligible probability.
 */
import { createECDH, createHash, type ECDH } from 'node:crypto';

export interface DeviceKeys {
  ecdh: ECDH;
  auth: Buffer;
  p256dh: string;
}

export function deviceKeys(device: string): DeviceKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(createHash('sha256').update(`bench-push-key:${device}`).digest());
  const auth = createHash('sha256').update(`bench-push-auth:${device}`).digest().subarray(0, 16);
  return { ecdh, auth, p256dh: ecdh.getPublicKey().toString('base64url') };
}

/** The subscription a browser of `device` would hand over, at the push service on `port`. */
export function subscriptionOf(device: string, port: number): { endpoint: string; keys: { p256dh: string; auth: string } } {
  const k = deviceKeys(device);
  return { endpoint: `https://127.0.0.1:${port}/push/${device}`, keys: { p256dh: k.p256dh, auth: k.auth.toString('base64url') } };
}

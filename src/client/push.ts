/**
 * Push notification types of the SDK: what a device registers (a browser's Web Push
 * subscription or a mobile app's FCM token), what the server lists back, and the payload
 * a push carries to the device (Web Push encrypted, FCM as data). Types only.
 */

/** The platform a registration comes from; `web` takes a Web Push subscription, `android` and `ios` usually an FCM token. */
export type PushPlatform = 'web' | 'android' | 'ios';

/**
 * A Web Push subscription as `PushSubscription.toJSON()` gives it, so a browser's
 * subscription passes as is. The server needs `endpoint` (https) and `keys.p256dh` /
 * `keys.auth` (base64url); it refuses anything else with `bad_request`.
 */
export interface WebPushSubscriptionJSON {
  endpoint?: string;
  expirationTime?: number | null;
  keys?: Record<string, string>;
}

/** What `registerPush` sends: exactly one of `webpush` and `fcm_token`. */
export interface PushRegistration {
  platform: PushPlatform;
  /** The app's id (bundle id, package name), 1 to 255 characters; informational. */
  app_id?: string;
  webpush?: WebPushSubscriptionJSON;
  fcm_token?: string;
}

/** The server's answer to a registration: which device now has which kind of target. */
export interface PushRegistered {
  device_id: string;
  provider: 'webpush' | 'fcm';
}

/** One of the caller's registered devices (`listPushDevices`). */
export interface PushDevice extends PushRegistered {
  created_at: number;
  updated_at: number;
}

export type { PushPayload } from '../protocol/frames';

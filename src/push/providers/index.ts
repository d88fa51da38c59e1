/**
 * Push providers: one engine per target kind behind PushProvider (types.ts states the
 * contract): WebPushProvider for browser subscriptions, FcmProvider for FCM tokens; the
 * validators the REST layer runs on registrations; the VAPID key pair kept in DATA_DIR.
 */
export type { FcmTarget, PushNotification, PushProvider, PushTarget, PushUrgency, SendOptions, SendResult, WebPushTarget } from './types';
export { checkFcmToken, checkWebPushSubscription, MAX_ENDPOINT_BYTES, MAX_FCM_TOKEN_BYTES, type TargetCheck } from './validate';
export { loadOrCreateVapidKeys, type VapidKeys } from './vapid';
export { MAX_WEBPUSH_PAYLOAD_BYTES, WebPushProvider, type WebPushProviderOptions } from './webpush';
export { WebPushThread } from './webpush-thread';
export { takesSilentPush } from './silent';
export { FcmProvider, fcmMessage, fcmOutcome, loadFcmServiceAccount, type FcmProviderOptions } from './fcm';

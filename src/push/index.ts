/**
 * Push module: notifications for devices without a live session (service.ts decides who
 * and batches; notification.ts says what), sent through one provider per target kind
 * (providers/: Web Push with VAPID, FCM through firebase-admin) on the jobs engine.
 */
export { PushService, type PushCounters, type PushSender, type PushServiceOptions, type SendResult } from './service';
export { buildNotification, type Burst, type Notification } from './notification';
export { openPushProviders, type PushProviders, type PushProvidersOptions } from './wiring';
export { checkFcmToken, checkWebPushSubscription } from './providers';

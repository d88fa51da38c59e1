/**
 * The push provider contract: one engine per target kind (Web Push, FCM), side by side
 * behind `PushProvider`. The push module picks the provider by `target.provider`, builds the
 * notification, and acts on the SendResult (drop the registration on 'gone', schedule
 * another attempt on 'retry', dead-letter on 'failed').
 */
import type { PushPayload, PushTarget } from '../../protocol/frames';

export type { FcmTarget, PushTarget, WebPushTarget } from '../../protocol/frames';

/**
 * What a device is told (the protocol's PushPayload): 'message' shows a notification,
 * 'retract' is silent (the app removes the notification of `tag` and updates the badge).
 */
export type PushNotification = PushPayload;

/** RFC 8030 urgency; FCM maps 'high' to high priority and the rest to normal. */
export type PushUrgency = 'very-low' | 'low' | 'normal' | 'high';

export interface SendOptions {
  /** How long the push service keeps an undelivered push; 0: deliver now or drop. */
  ttlSeconds: number;
  /**
   * Pushes of one key replace each other while undelivered (Web Push Topic, FCM Android
   * collapse key, apns-collapse-id). Keys a service cannot carry as given are hashed.
   */
  collapseKey: string;
  /** Default 'normal'. */
  urgency?: PushUrgency;
}

/**
 * How one send ended:
 * - 'sent': the push service accepted it (not a promise of delivery);
 * - 'gone': the target will never work again (404/410, FCM unregistered or invalid
 *   token): remove the registration;
 * - 'retry': worth another attempt later (429, 5xx, timeout, network), after `afterMs`
 *   when the service said so;
 * - 'failed': will not work as sent (refused endpoint, other 4xx, a garbage answer).
 */
export type SendResult =
  | { status: 'sent' }
  | { status: 'gone' }
  | { status: 'retry'; afterMs?: number; reason?: string }
  | { status: 'failed'; reason: string };

/**
 * Sends pushes to targets of one kind. Contract, for every engine:
 * - `send` never rejects: every outcome, including a bad target, is a SendResult;
 * - `send` settles within the provider's timeout (plus timer slack) whatever the push
 *   service does, a hang being 'retry';
 * - 'gone' only on the service's word that the target is dead, never on our own errors;
 * - after `close` (which waits for nothing queued: there is no queue here) `send`
 *   resolves 'retry' without contacting anyone.
 */
export interface PushProvider<T extends PushTarget = PushTarget> {
  readonly provider: T['provider'];
  send(target: T, notification: PushNotification, opts: SendOptions): Promise<SendResult>;
  close(): Promise<void>;
}

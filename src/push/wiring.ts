/**
 * The push module as the server runs it: the providers the configuration enables as
 * PushService's senders, the VAPID key pair, and the registration-time check of a target's
 * address.
 */
import { readFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { ProtocolError } from '../protocol';
import type { PushTarget } from '../store';
import type { Config } from '../config';
import { AddressPolicy, PreviewRefusal, vettedAddresses } from '../linkpreview';
import { FcmProvider, WebPushThread, loadFcmServiceAccount, loadOrCreateVapidKeys, type FcmTarget, type PushProvider, type WebPushTarget } from './providers';
import type { PushSender } from './service';
import type { Notification } from './notification';

export interface PushProviders {
  senders: Partial<Record<PushTarget['provider'], PushSender>>;
  vapidPublicKey: string | null;
  /** Rejects with bad_request when this server must not call the target (SSRF rules). */
  checkTarget(target: PushTarget): Promise<void>;
  close(): Promise<void>;
}

/** How long a push service keeps an undelivered notification: a day-old "new message" is noise. */
const ttlSeconds = 24 * 3600;

export interface PushProvidersOptions {
  /**
   * The agent of every firebase-admin request: the service account's OAuth token exchange
   * and the FCM sends. Default: FcmProvider's own agent and the library's default for the token.
   */
  fcmHttpAgent?: Agent;
  /** Told why the Web Push worker thread went (crashed, stopped answering); a new one starts. */
  onWorkerLost?: (why: string) => void;
}

export function openPushProviders(config: Pick<Config, 'push' | 'dataDir'>, opts: PushProvidersOptions = {}): PushProviders {
  const p = config.push;
  const keys = loadOrCreateVapidKeys(p.vapidKeys, config.dataDir);
  const ca = p.caFile === null ? undefined : readFileSync(p.caFile);
  const agent = opts.fcmHttpAgent;
  const fcm = p.fcmServiceAccount === null ? null : new FcmProvider({ ...loadFcmServiceAccount(p.fcmServiceAccount, agent), timeoutMs: p.timeoutMs, httpAgent: agent });
  const policy = new AddressPolicy(p.allow, 'PUSH_ALLOW');
  // On a worker thread: a push's encryption must not be paid on the event loop. Started
  // last, so that a configuration error above leaves no thread behind.
  const webpush = new WebPushThread({ keys, subject: p.vapidSubject, allow: p.allow, timeoutMs: p.timeoutMs, ca }, opts.onWorkerLost);
  const senders: PushProviders['senders'] = { webpush: sender(webpush, (t): t is WebPushTarget => t.provider === 'webpush') };
  if (fcm) senders.fcm = sender(fcm, (t): t is FcmTarget => t.provider === 'fcm');
  return {
    senders,
    vapidPublicKey: keys.publicKey,
    async checkTarget(target) {
      if (target.provider !== 'webpush') return;
      try {
        await vettedAddresses(new URL(target.endpoint), policy, AbortSignal.timeout(p.timeoutMs));
      } catch (err) {
        if (err instanceof PreviewRefusal) throw new ProtocolError('bad_request', `webpush: endpoint refused (${err.message})`);
        throw new ProtocolError('bad_request', `webpush: endpoint cannot be resolved (${(err as Error).message})`);
      }
    },
    async close() {
      await Promise.all([webpush.close(), fcm?.close()]);
    },
  };
}

/** A provider as a sender: a message shows at once and replaces its conversation's; a retraction may wait. */
function sender<T extends PushTarget>(provider: PushProvider<T>, isMine: (t: PushTarget) => t is T): PushSender {
  return {
    async send(target: PushTarget, n: Notification) {
      if (!isMine(target)) return { status: 'failed', reason: `not a ${provider.provider} target` };
      return provider.send(target, n, { ttlSeconds, collapseKey: n.tag, urgency: n.kind === 'message' ? 'high' : 'normal' });
    },
  };
}

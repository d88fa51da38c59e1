/**
 * The push module as the server runs it: the providers the configuration enables, adapted
 * to PushService's senders (store targets name their provider; provider targets their
 * kind), the VAPID key pair, and the registration-time check of a target's address.
 */
import { readFileSync } from 'node:fs';
import { ProtocolError } from '../protocol';
import type { PushTarget } from '../store';
import type { Config } from '../config';
import { AddressPolicy, PreviewRefusal, vettedAddresses } from '../linkpreview';
import { FcmProvider, WebPushProvider, loadFcmServiceAccount, loadOrCreateVapidKeys, type PushProvider } from './providers';
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

export function openPushProviders(config: Pick<Config, 'push' | 'dataDir'>): PushProviders {
  const p = config.push;
  const keys = loadOrCreateVapidKeys(p.vapidKeys, config.dataDir);
  const ca = p.caFile === null ? undefined : readFileSync(p.caFile);
  const webpush = new WebPushProvider({ keys, subject: p.vapidSubject, allow: p.allow, timeoutMs: p.timeoutMs, ca });
  const fcm = p.fcmServiceAccount === null ? null : new FcmProvider({ ...loadFcmServiceAccount(p.fcmServiceAccount), timeoutMs: p.timeoutMs });
  const policy = new AddressPolicy(p.allow, 'PUSH_ALLOW');
  const senders: PushProviders['senders'] = { webpush: adapt(webpush, (t) => (t.provider === 'webpush' ? { kind: 'webpush', endpoint: t.endpoint, keys: t.keys } : null)) };
  if (fcm) senders.fcm = adapt(fcm, (t) => (t.provider === 'fcm' ? { kind: 'fcm', token: t.token } : null));
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
function adapt<T extends Parameters<PushProvider['send']>[0]>(provider: PushProvider<T>, toTarget: (t: PushTarget) => T | null): PushSender {
  return {
    async send(target: PushTarget, n: Notification) {
      const t = toTarget(target);
      if (t === null) return { status: 'failed', reason: `no ${provider.kind} target` };
      return provider.send(t, n, { ttlSeconds, collapseKey: n.tag, urgency: n.kind === 'message' ? 'high' : 'normal' });
    },
  };
}

/**
 * FcmProvider: PushProvider for FCM registration tokens (Android apps, iOS apps through
 * FCM's APNs bridge), sending with firebase-admin 13 over the FCM HTTP v1 API.
 *
 * firebase-admin's HTTP client retries by itself before we see an error: 503 and
 * ECONNRESET/ETIMEDOUT up to 4 times with backoff (0, 1, 2, 4 s, or the Retry-After it
 * got), each try allowed 15 s. Our own deadline (`timeoutMs`) bounds what the caller
 * waits; a send abandoned at the deadline runs on inside the library until its own limits
 * end it, on our agent, whose socket cap bounds how many such sends can pile up.
 */
import { randomUUID, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import https from 'node:https';
import { cert, deleteApp, initializeApp, type App, type Credential } from 'firebase-admin/app';
import { getMessaging, type Message, type Messaging } from 'firebase-admin/messaging';
import { abortable } from '../../linkpreview';
import type { FcmTarget, PushNotification, PushProvider, SendOptions, SendResult } from './types';
import { sendDeadline } from './deadline';
import { checkFcmToken } from './validate';

export interface FcmProviderOptions {
  credential: Credential;
  projectId: string;
  /** Budget of one send as the caller sees it (the library may go on in the background, see above). */
  timeoutMs: number;
  /** Agent for the app's FCM requests; tests route it to a local server. Default: a keep-alive agent of 64 sockets. */
  httpAgent?: Agent;
}

/** Sockets of the default agent: enough for about a thousand sends a second at FCM's usual latency. */
const MAX_SOCKETS = 64;
// apns-collapse-id is at most 64 bytes.
const MAX_APNS_COLLAPSE_ID = 64;

/**
 * The credential and project of a service account key file (the JSON Firebase's console
 * hands out). Throws naming PUSH_FCM_SERVICE_ACCOUNT when the file cannot be read or is
 * not a service account key.
 */
export function loadFcmServiceAccount(path: string, httpAgent?: Agent): { credential: Credential; projectId: string } {
  let parsed: { project_id?: unknown; client_email?: unknown; private_key?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as typeof parsed;
  } catch (err) {
    throw new Error(`PUSH_FCM_SERVICE_ACCOUNT: cannot read ${path}: ${(err as Error).message}`);
  }
  const { project_id: projectId, client_email: clientEmail, private_key: privateKey } = parsed ?? {};
  if (typeof projectId !== 'string' || typeof clientEmail !== 'string' || typeof privateKey !== 'string') {
    throw new Error(`PUSH_FCM_SERVICE_ACCOUNT: ${path} is not a service account key (project_id, client_email, private_key)`);
  }
  // The path, not the parsed key: firebase-admin 13 hands `httpAgent` to the OAuth client
  // only when it loads the key file itself (given an object, its token requests ignore the
  // agent). It reads the file again at the first token request, so the file must stay.
  return { credential: cert(path, httpAgent), projectId };
}

/**
 * The FCM v1 message of a notification: a data message (every value a string) that the
 * app renders itself, plus what each platform needs to collapse and wake it:
 * - Android: collapse key, TTL, priority high only for an urgent 'message';
 * - APNs: apns-collapse-id and expiration; a 'message' carries an alert (iOS shows
 *   nothing of a killed app's data-only push), a 'retract' is a background push
 *   (content-available, priority 5 as Apple requires) that the app acts on silently.
 * No `webpush` block: browsers are WebPushProvider's.
 */
export function fcmMessage(token: string, n: PushNotification, opts: SendOptions, now: number): Message {
  const silent = n.kind === 'retract';
  const urgent = !silent && opts.urgency === 'high';
  const collapseId = Buffer.byteLength(opts.collapseKey) <= MAX_APNS_COLLAPSE_ID ? opts.collapseKey : createHash('sha256').update(opts.collapseKey).digest('base64url');
  return {
    token,
    data: { conv_id: n.conv_id, seq: String(n.seq), title: n.title, body: n.body, badge: String(n.badge), tag: n.tag, kind: n.kind },
    android: { collapseKey: opts.collapseKey, priority: urgent ? 'high' : 'normal', ttl: opts.ttlSeconds * 1000 },
    apns: {
      headers: {
        'apns-collapse-id': collapseId,
        // 0 tells APNs to try once and keep nothing, as TTL 0 does elsewhere.
        'apns-expiration': String(opts.ttlSeconds === 0 ? 0 : Math.floor(now / 1000) + opts.ttlSeconds),
        'apns-priority': urgent ? '10' : '5',
        'apns-push-type': silent ? 'background' : 'alert',
      },
      payload: {
        aps: silent
          ? { contentAvailable: true }
          : { alert: { title: n.title, body: n.body }, badge: n.badge, sound: 'default', threadId: n.conv_id, mutableContent: true },
      },
    },
  };
}

/** firebase-admin error codes: the service's word that the token is dead. */
const GONE = new Set(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token']);
/** Worth another attempt: FCM overloaded or down, quotas, the network, fetching the OAuth token. */
const RETRY = new Set([
  'messaging/server-unavailable', // UNAVAILABLE, 503 (after the library's own retries)
  'messaging/internal-error', // INTERNAL, 500
  'messaging/message-rate-exceeded', // QUOTA_EXCEEDED, RESOURCE_EXHAUSTED, 429
  'messaging/device-message-rate-exceeded',
  'messaging/topics-message-rate-exceeded',
  'app/network-error',
  'app/network-timeout',
  'app/invalid-credential', // the credential could not fetch an access token: usually Google's token endpoint unreachable
]);

/**
 * The SendResult of a firebase-admin error. INVALID_ARGUMENT is 'gone' only when FCM's
 * message says the registration token is what is invalid ("The registration token is not
 * a valid FCM registration token"); any other INVALID_ARGUMENT is a message we built
 * wrong, 'failed', so a bug of ours never deletes registrations. Should FCM reword that
 * message, such tokens become 'failed' (dead-lettered), not wrongly deleted.
 */
export function fcmOutcome(err: unknown): SendResult {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code !== 'string') return { status: 'failed', reason: message };
  if (GONE.has(code)) return { status: 'gone' };
  if (code === 'messaging/invalid-argument' && /registration token/i.test(message)) return { status: 'gone' };
  if (RETRY.has(code)) return { status: 'retry', reason: code };
  // A non-JSON answer leaves only its status in the message; a proxy's 5xx page is worth a retry.
  if (code === 'messaging/unknown-error' && /Status code: 5\d\d\./.test(message)) return { status: 'retry', reason: code };
  return { status: 'failed', reason: `${code}: ${message.slice(0, 200)}` };
}

/**
 * Sends FCM data messages to registration tokens. See PushProvider for the contract and
 * fcmOutcome for how FCM's errors map to SendResults.
 */
export class FcmProvider implements PushProvider<FcmTarget> {
  readonly provider = 'fcm' as const;
  private readonly app: App;
  private readonly messaging: Messaging;
  private readonly ownAgent: https.Agent | null;
  private readonly shutdown = new AbortController();

  constructor(private readonly options: FcmProviderOptions) {
    this.ownAgent = options.httpAgent === undefined ? new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }) : null;
    // A named app per provider: no global default app, and tests can run several.
    this.app = initializeApp(
      { credential: options.credential, projectId: options.projectId, httpAgent: options.httpAgent ?? this.ownAgent ?? undefined },
      `relay-push-${randomUUID()}`,
    );
    this.messaging = getMessaging(this.app);
  }

  async send(target: FcmTarget, notification: PushNotification, opts: SendOptions): Promise<SendResult> {
    if (this.shutdown.signal.aborted) return { status: 'retry', reason: 'closed' };
    const checked = checkFcmToken(target.token);
    if (!checked.ok) return { status: 'failed', reason: `bad target: ${checked.reason}` };
    const deadline = sendDeadline(this.options.timeoutMs, this.shutdown.signal);
    const signal = deadline.signal;
    try {
      // Through a promise so that the library's synchronous validation errors land below too.
      const sending = Promise.resolve().then(() => this.messaging.send(fcmMessage(target.token, notification, opts, Date.now())));
      await abortable(sending, signal);
      return { status: 'sent' };
    } catch (err) {
      if (signal.aborted) return { status: 'retry', reason: deadline.reason() };
      return fcmOutcome(err);
    } finally {
      deadline.end();
    }
  }

  /** Ends sends in flight (they resolve 'retry'), deletes the app and drops the default agent's sockets. */
  async close(): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    this.shutdown.abort();
    await deleteApp(this.app);
    this.ownAgent?.destroy();
  }
}

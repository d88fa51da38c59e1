/**
 * WebPushProvider: PushProvider for browser subscriptions (RFC 8030 push, RFC 8291
 * aes128gcm payload encryption, RFC 8292 VAPID) through the `web-push` library.
 *
 * The endpoint is a URL chosen by whoever registered it, and the server POSTs to it: the
 * same SSRF exposure as link previews, answered by the same code (linkpreview's address
 * policy, vetted DNS and a connection pinned to the vetted addresses).
 */
import { createHash } from 'node:crypto';
import https from 'node:https';
import { sendNotification, WebPushError } from 'web-push';
import { abortable, AddressPolicy, pinnedLookup, PreviewRefusal, vettedAddresses } from '../../linkpreview';
import { retryAfterMs } from './retry-after';
import type { PushNotification, PushProvider, SendOptions, SendResult, WebPushTarget } from './types';
import { checkWebPushSubscription } from './validate';
import type { VapidKeys } from './vapid';

/**
 * Largest JSON payload: RFC 8291 allows one 4096-byte record, less the aes128gcm header
 * (86 bytes with the 65-byte key id), the GCM tag (16) and the padding delimiter (1).
 */
export const MAX_WEBPUSH_PAYLOAD_BYTES = 4096 - 86 - 16 - 1;

export interface WebPushProviderOptions {
  keys: VapidKeys;
  /** mailto: or https: contact put in the VAPID token. */
  subject: string;
  /** CIDRs an endpoint may resolve to although private (config PUSH_ALLOW). */
  allow: readonly string[];
  /** Budget of one send: DNS, connect, TLS, request and answer. */
  timeoutMs: number;
  /** Extra CA certificates (PEM) to trust; for tests' local push services only. */
  ca?: string | Buffer;
}

/** Why an in-flight send was cut short (the abort reason, compared by identity). */
const TIMEOUT = new Error('timeout');
const CLOSED = new Error('closed');

// The Topic header allows at most 32 base64url characters (RFC 8030 section 5.4).
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/** `key` as a Web Push topic: itself when it fits, else 32 characters of its SHA-256. */
function topicFor(key: string): string {
  return TOPIC.test(key) ? key : createHash('sha256').update(key).digest('base64url').slice(0, 32);
}

/** SendResult of an HTTP answer other than 2xx. */
function fromStatus(err: WebPushError): SendResult {
  const status = err.statusCode;
  if (status === 404 || status === 410) return { status: 'gone' };
  if (status === 429 || status >= 500) {
    const header = err.headers['retry-after'];
    const afterMs = retryAfterMs(Array.isArray(header) ? header[0] : header, Date.now());
    return afterMs === undefined ? { status: 'retry', reason: `http ${status}` } : { status: 'retry', afterMs, reason: `http ${status}` };
  }
  // 400 (bad VAPID token or payload), 401/403 (VAPID refused), 413, 3xx (never followed).
  const body = typeof err.body === 'string' ? err.body.slice(0, 200) : '';
  return { status: 'failed', reason: `http ${status}${body === '' ? '' : `: ${body}`}` };
}

/**
 * Sends encrypted, VAPID-signed pushes to browser subscriptions. Before each send the
 * endpoint must be https and every address its host resolves to must pass the address
 * policy (private, loopback, link-local, metadata and other special ranges refused unless
 * allowed); the connection then goes to those addresses only. See PushProvider for the
 * contract. Status mapping: 2xx sent; 404/410 gone; 429/5xx retry (Retry-After honoured);
 * timeout, DNS and network errors retry; other statuses, refused addresses, malformed
 * targets, oversize payloads and non-HTTP answers failed.
 */
export class WebPushProvider implements PushProvider<WebPushTarget> {
  readonly provider = 'webpush' as const;
  private readonly policy: AddressPolicy;
  private readonly shutdown = new AbortController();
  private readonly vapidDetails: { subject: string; publicKey: string; privateKey: string };

  /** Throws on an allow entry that is not a CIDR. */
  constructor(private readonly options: WebPushProviderOptions) {
    this.policy = new AddressPolicy(options.allow, 'PUSH_ALLOW');
    this.vapidDetails = { subject: options.subject, publicKey: options.keys.publicKey, privateKey: options.keys.privateKey };
  }

  /** The VAPID public key browsers subscribe with (applicationServerKey), base64url. */
  get publicKey(): string {
    return this.options.keys.publicKey;
  }

  async send(target: WebPushTarget, notification: PushNotification, opts: SendOptions): Promise<SendResult> {
    if (this.shutdown.signal.aborted) return { status: 'retry', reason: 'closed' };
    const checked = checkWebPushSubscription(target);
    if (!checked.ok) return { status: 'failed', reason: `bad target: ${checked.reason}` };
    const payload = Buffer.from(JSON.stringify(notification));
    if (payload.length > MAX_WEBPUSH_PAYLOAD_BYTES) return { status: 'failed', reason: `payload of ${payload.length} bytes` };

    const controller = new AbortController();
    const signal = controller.signal;
    const timer = setTimeout(() => controller.abort(TIMEOUT), this.options.timeoutMs);
    const onShutdown = (): void => controller.abort(CLOSED);
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    let agent: https.Agent | undefined;
    try {
      const addresses = await vettedAddresses(new URL(target.endpoint), this.policy, signal);
      // One agent per send: its sockets connect only to the addresses vetted for this send,
      // and destroying it on timeout ends the request wherever it hangs.
      agent = new https.Agent({ lookup: pinnedLookup(addresses), maxSockets: 1, ...(this.options.ca === undefined ? {} : { ca: this.options.ca }) });
      await abortable(
        sendNotification(target, payload, {
          vapidDetails: this.vapidDetails,
          TTL: opts.ttlSeconds,
          urgency: opts.urgency ?? 'normal',
          topic: topicFor(opts.collapseKey),
          contentEncoding: 'aes128gcm',
          agent,
        }),
        signal,
      );
      return { status: 'sent' };
    } catch (err) {
      return outcome(err, signal);
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
      agent?.destroy();
    }
  }

  /** Ends sends in flight (they resolve 'retry'); later sends resolve 'retry' at once. */
  async close(): Promise<void> {
    this.shutdown.abort();
  }
}

/** The SendResult of a send that threw. */
function outcome(err: unknown, signal: AbortSignal): SendResult {
  if (signal.aborted) return { status: 'retry', reason: signal.reason === CLOSED ? 'closed' : 'timeout' };
  if (err instanceof PreviewRefusal) {
    // A refused address is the target's fault and will not change by waiting; a failed lookup may.
    return err.code === 'blocked_address' ? { status: 'failed', reason: `blocked address: ${err.message}` } : { status: 'retry', reason: `dns: ${err.message}` };
  }
  if (err instanceof WebPushError) return fromStatus(err);
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  // Node's HTTP parser: the other end answered something that is not HTTP.
  if (typeof code === 'string' && code.startsWith('HPE_')) return { status: 'failed', reason: `not an HTTP answer: ${code}` };
  // Socket, TLS and connect errors carry a code; an error without one came from web-push
  // refusing its input, which a later attempt would not change.
  if (typeof code === 'string') return { status: 'retry', reason: `network: ${code}` };
  return { status: 'failed', reason: message };
}

/**
 * WebPushProvider: PushProvider for browser subscriptions (RFC 8030 push, RFC 8291
 * aes128gcm payload encryption, RFC 8292 VAPID). The `web-push` library encrypts and
 * builds the request; this module sends it.
 *
 * The endpoint is a URL chosen by whoever registered it, and the server POSTs to it: the
 * same SSRF exposure as link previews, answered by the same code (linkpreview's address
 * policy, vetted DNS and connections pinned to the vetted addresses).
 *
 * Why not web-push's own sendNotification: a group message to 250 offline members is 250
 * pushes to a handful of push services, and sendNotification opened a TLS connection and
 * signed a VAPID token (through a pure-JS PEM encoder) for each, 4 ms of CPU per push.
 * Here each push service host gets one keep-alive agent pinned to its vetted addresses
 * (vetted again after ROUTE_TTL_MS), and the VAPID header is signed once per audience and
 * reused for hours, as RFC 8292 allows; what is left per push is the encryption itself.
 */
import { createHash } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { generateRequestDetails, getVapidHeaders } from 'web-push';
import { abortable, AddressPolicy, pinnedLookup, PreviewRefusal, vettedAddresses } from '../../linkpreview';
import { sendDeadline, type SendDeadline } from './deadline';
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

// The Topic header allows at most 32 base64url characters (RFC 8030 section 5.4).
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/** How long a host's vetted addresses (and the connections pinned to them) are used before DNS is asked again. */
const ROUTE_TTL_MS = 60_000;
/** Connections per push service host: FCM's web endpoint answers in ~50 ms, so 16 carry ~300 pushes a second. */
const SOCKETS_PER_HOST = 16;
/** An idle connection is closed after this long (push services close theirs after a minute or two). */
const IDLE_SOCKET_MS = 30_000;
/** VAPID tokens are valid this long (RFC 8292 allows up to 24 h) and replaced an hour before they end. */
const VAPID_LIFETIME_S = 12 * 3600;
const VAPID_RENEW_S = 3600;
/** Hosts and audiences remembered; past this the oldest is forgotten (its connections close when idle). */
const MAX_HOSTS = 1024;
/** What is read of an answer's body, for the dead letter's reason. */
const MAX_ANSWER_BYTES = 4096;

/** `key` as a Web Push topic: itself when it fits, else 32 characters of its SHA-256. */
function topicFor(key: string): string {
  return TOPIC.test(key) ? key : createHash('sha256').update(key).digest('base64url').slice(0, 32);
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** SendResult of an HTTP answer. */
function fromAnswer({ status, headers, body }: Answer): SendResult {
  if (status >= 200 && status <= 299) return { status: 'sent' };
  if (status === 404 || status === 410) return { status: 'gone' };
  if (status === 429 || status >= 500) {
    const header = headers['retry-after'];
    const afterMs = retryAfterMs(Array.isArray(header) ? header[0] : header, Date.now());
    return afterMs === undefined ? { status: 'retry', reason: `http ${status}` } : { status: 'retry', afterMs, reason: `http ${status}` };
  }
  // 400 (bad VAPID token or payload), 401/403 (VAPID refused), 413, 3xx (never followed).
  const text = body.slice(0, 200);
  return { status: 'failed', reason: `http ${status}${text === '' ? '' : `: ${text}`}` };
}

/** A push service host as this provider reaches it: its vetted addresses and the agent pinned to them. */
interface Route {
  /** The vetted addresses, sorted and joined ('' while the first vetting runs). */
  addresses: string;
  agent: Promise<https.Agent>;
  until: number;
}

/** A map that forgets its oldest entry past `max` entries. */
/** Sets `key`; returns the entry forgotten to stay within `max`, if any. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): V | undefined {
  map.delete(key);
  map.set(key, value);
  if (map.size <= max) return undefined;
  const oldest = map.keys().next().value as string;
  const forgotten = map.get(oldest);
  map.delete(oldest);
  return forgotten;
}

/**
 * Sends encrypted, VAPID-signed pushes to browser subscriptions. Before a host is first
 * used (and again each ROUTE_TTL_MS) the endpoint must be https and every address its
 * host resolves to must pass the address policy (private, loopback, link-local, metadata
 * and other special ranges refused unless allowed); connections then go to those addresses
 * only. See PushProvider for the contract. Status mapping: 2xx sent; 404/410 gone;
 * 429/5xx retry (Retry-After honoured); timeout, DNS and network errors retry; other
 * statuses, refused addresses, malformed targets, oversize payloads and non-HTTP answers
 * failed.
 */
export class WebPushProvider implements PushProvider<WebPushTarget> {
  readonly provider = 'webpush' as const;
  private readonly policy: AddressPolicy;
  private readonly shutdown = new AbortController();
  private readonly routes = new Map<string, Route>();
  /** Every agent not yet destroyed: the routes' and the retired ones finishing their requests. */
  private readonly agents = new Set<https.Agent>();
  private readonly vapid = new Map<string, { header: string; renewAt: number }>();

  /** Throws on an allow entry that is not a CIDR. */
  constructor(private readonly options: WebPushProviderOptions) {
    this.policy = new AddressPolicy(options.allow, 'PUSH_ALLOW');
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

    const deadline = sendDeadline(this.options.timeoutMs, this.shutdown.signal);
    const signal = deadline.signal;
    try {
      const url = new URL(target.endpoint);
      const agent = await abortable(this.route(url), signal);
      // No vapidDetails: the library would sign a token per push; ours is cached (and a
      // library-wide setVapidDetails, which nothing here calls, would only re-sign it).
      const details = generateRequestDetails(target, payload, {
        headers: { Authorization: this.vapidHeader(url.origin) },
        TTL: opts.ttlSeconds,
        urgency: opts.urgency ?? 'normal',
        topic: topicFor(opts.collapseKey),
        contentEncoding: 'aes128gcm',
      });
      return fromAnswer(await post(url, details.headers, details.body, agent, signal));
    } catch (err) {
      return outcome(err, deadline);
    } finally {
      deadline.end();
    }
  }

  /** Ends sends in flight (they resolve 'retry') and closes every connection; later sends resolve 'retry' at once. */
  async close(): Promise<void> {
    this.shutdown.abort();
    for (const agent of this.agents) agent.destroy();
    this.agents.clear();
    this.routes.clear();
  }

  /**
   * The agent for `url`'s host, pinned to addresses vetted within ROUTE_TTL_MS. Concurrent
   * sends to a host share one vetting (the promise is what is remembered), so a burst to a
   * new host opens the host's connections on one agent, not one agent per push.
   */
  private route(url: URL): Promise<https.Agent> {
    const now = Date.now();
    const known = this.routes.get(url.host);
    if (known !== undefined && known.until > now) return known.agent;
    // The vetting has its own deadline, not the first sender's: every send to the host
    // waits for it (each up to its own deadline), and one sender's timeout must not become
    // the others' error.
    const vetting = this.vet(url, known, AbortSignal.timeout(this.options.timeoutMs));
    const forgotten = remember(this.routes, url.host, { addresses: known?.addresses ?? '', agent: vetting, until: now + ROUTE_TTL_MS }, MAX_HOSTS);
    if (forgotten !== undefined) this.retire(forgotten.agent);
    vetting.then(
      (agent) => {
        if (known !== undefined && agent !== undefined) void known.agent.then((old) => old !== agent && this.retire(known.agent), () => undefined);
      },
      () => {
        // A failed vetting is not remembered (the next send asks again), and the host's
        // old connections, pinned to addresses no longer vouched for, go.
        if (this.routes.get(url.host)?.agent === vetting) this.routes.delete(url.host);
        if (known !== undefined) this.retire(known.agent);
      },
    );
    return vetting;
  }

  /** Destroys an agent no send will be given again, once the requests it carries are over. */
  private retire(agent: Promise<https.Agent>): void {
    void agent.then(
      (a) => {
        const timer = setTimeout(() => {
          a.destroy();
          this.agents.delete(a);
        }, this.options.timeoutMs);
        timer.unref();
      },
      () => undefined,
    );
  }

  private async vet(url: URL, known: Route | undefined, signal: AbortSignal): Promise<https.Agent> {
    const vetted: LookupAddress[] = await vettedAddresses(url, this.policy, signal);
    const addresses = vetted.map((a) => a.address).sort().join(',');
    const current = this.routes.get(url.host);
    if (current !== undefined) current.addresses = addresses;
    if (known !== undefined && known.addresses === addresses) return known.agent;
    // The old agent is retired, not destroyed at once: its requests in flight finish first.
    const agent = new https.Agent({
      keepAlive: true,
      maxSockets: SOCKETS_PER_HOST,
      timeout: IDLE_SOCKET_MS,
      scheduling: 'lifo',
      lookup: pinnedLookup(vetted),
      ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
    });
    this.agents.add(agent);
    return agent;
  }

  /** The Authorization header for a push service origin, signed once and reused until an hour before it ends. */
  private vapidHeader(audience: string): string {
    const now = Math.floor(Date.now() / 1000);
    const known = this.vapid.get(audience);
    if (known !== undefined && known.renewAt > now) return known.header;
    const { keys, subject } = this.options;
    const { Authorization: header } = getVapidHeaders(audience, subject, keys.publicKey, keys.privateKey, 'aes128gcm', now + VAPID_LIFETIME_S);
    remember(this.vapid, audience, { header, renewAt: now + VAPID_LIFETIME_S - VAPID_RENEW_S }, MAX_HOSTS);
    return header;
  }
}

/** POSTs the encrypted push; the signal's abort destroys the request (and its socket) wherever it is. */
function post(url: URL, headers: Record<string, string | number>, body: Buffer | null, agent: https.Agent, signal: AbortSignal): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const req = https.request(url, { method: 'POST', headers, agent, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8', 0, MAX_ANSWER_BYTES) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** The SendResult of a send that threw. */
function outcome(err: unknown, deadline: SendDeadline): SendResult {
  if (deadline.signal.aborted) return { status: 'retry', reason: deadline.reason() };
  // The host's vetting ran out of its own time (DNS slower than the send budget): worth another try.
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return { status: 'retry', reason: `dns: ${err.message}` };
  if (err instanceof PreviewRefusal) {
    // A refused address is the target's fault and will not change by waiting; a failed lookup may.
    return err.code === 'blocked_address' ? { status: 'failed', reason: `blocked address: ${err.message}` } : { status: 'retry', reason: `dns: ${err.message}` };
  }
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  // Node's HTTP parser: the other end answered something that is not HTTP.
  if (typeof code === 'string' && code.startsWith('HPE_')) return { status: 'failed', reason: `not an HTTP answer: ${code}` };
  // Socket, TLS and connect errors carry a code; an error without one came from web-push
  // refusing its input, which a later attempt would not change.
  if (typeof code === 'string') return { status: 'retry', reason: `network: ${code}` };
  return { status: 'failed', reason: message };
}

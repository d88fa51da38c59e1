/**
 * One preview fetch: DNS, address check, a request pinned to the checked address, the
 * redirects, the byte cap and the deadline. Every failure is a PreviewRefusal with a code.
 *
 * Pinning is the point: the request's `lookup` hands back the addresses this file already
 * vetted, so a DNS answer that changes between the check and the connect (rebinding)
 * cannot steer the connection to a private address.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './address';
import { PreviewRefusal } from './errors';
import type { LinkPreviewConfig } from './types';
import { parseHttpUrl } from './url';

/** An HTML page as fetched: the URL it finally came from (after redirects), its text, and that URL's vetted addresses. */
export interface FetchedPage {
  url: URL;
  html: string;
  addresses: dns.LookupAddress[];
}

export type FetchLimits = Pick<LinkPreviewConfig, 'timeoutMs' | 'maxBytes' | 'maxRedirects'>;

const USER_AGENT = 'relay-link-preview/1.0';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);

/** Settles like `promise`, or rejects with the signal's reason as soon as it aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** URL hosts wrap IPv6 literals in brackets; sockets and address checks want them bare. */
function bareHost(url: URL): string {
  const h = url.hostname;
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function lookupAll(host: string): Promise<dns.LookupAddress[]> {
  return new Promise((resolve, reject) => {
    // verbatim: keep the resolver's order, so the first address is the one it prefers.
    dns.lookup(host, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });
}

/**
 * Every address `url`'s host resolves to, all of them allowed by `policy`. One blocked
 * address refuses the lot: a name that answers with a private address is not trusted
 * with the rest of its answers either. Rejects with PreviewRefusal 'dns_failed' or
 * 'blocked_address', or with the signal's reason once it aborts. Connect through
 * `pinnedLookup` of the result, never by name again.
 */
export async function vettedAddresses(url: URL, policy: AddressPolicy, signal: AbortSignal): Promise<dns.LookupAddress[]> {
  const host = bareHost(url);
  const literal = isIP(host);
  let addresses: dns.LookupAddress[];
  if (literal !== 0) {
    addresses = [{ address: host, family: literal }];
  } else {
    try {
      addresses = await abortable(lookupAll(host), signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new PreviewRefusal('dns_failed', err instanceof Error ? err.message : 'lookup failed');
    }
  }
  if (addresses.length === 0) throw new PreviewRefusal('dns_failed', 'no addresses');
  const blocked = addresses.find((a) => policy.isBlocked(a.address));
  if (blocked !== undefined) throw new PreviewRefusal('blocked_address', `${host} -> ${blocked.address}`);
  return addresses;
}

/**
 * A `lookup` for http(s) request or agent options that answers every name with
 * `addresses` (from vettedAddresses), so the connection goes where the check looked.
 */
export function pinnedLookup(addresses: readonly dns.LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    // Node asks for `all` when it races IPv4 and IPv6 (autoSelectFamily); both answers are vetted.
    if (options.all === true) callback(null, [...addresses]);
    else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
  };
}

/** Sends the GET to the vetted addresses and resolves with the response head. */
function request(url: URL, addresses: dns.LookupAddress[], signal: AbortSignal): Promise<http.IncomingMessage> {
  const host = bareHost(url);
  const isHttps = url.protocol === 'https:';
  const options: https.RequestOptions = {
    host,
    port: url.port === '' ? (isHttps ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: {
      host: url.host,
      accept: 'text/html,application/xhtml+xml',
      'user-agent': USER_AGENT,
      // No compression to undo, and the byte cap counts exactly what crossed the wire.
      'accept-encoding': 'identity',
    },
    lookup: pinnedLookup(addresses),
    // A fresh connection per request: a pooled socket would outlive the check that vetted it.
    agent: false,
    signal,
  };
  // SNI takes host names only; for an IP literal the certificate is checked against the IP.
  if (isHttps && isIP(host) === 0) options.servername = host;
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(options, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** The body up to `maxBytes`; at the cap the response is dropped and what arrived is kept. */
function readCapped(res: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (): void => {
      done = true;
      resolve(Buffer.concat(chunks, size));
    };
    res.on('data', (chunk: Buffer) => {
      if (done) return;
      const room = maxBytes - size;
      if (chunk.length < room) {
        chunks.push(chunk);
        size += chunk.length;
        return;
      }
      chunks.push(chunk.subarray(0, room));
      size += room;
      finish();
      res.destroy();
    });
    res.on('end', finish);
    res.on('error', reject);
    res.on('close', () => {
      if (!done) reject(new PreviewRefusal('network', 'connection closed mid-body'));
    });
  });
}

/** latin1 when the content-type says so, UTF-8 otherwise (including when it says nothing). */
function decode(body: Buffer, contentType: string): string {
  const charset = /charset\s*=\s*["']?([^"';\s]+)/i.exec(contentType)?.[1]?.toLowerCase();
  if (charset === 'latin1' || charset === 'iso-8859-1' || charset === 'iso8859-1' || charset === 'l1') return body.toString('latin1');
  return new TextDecoder('utf-8').decode(body);
}

/**
 * Fetches the HTML page at `start`, following at most `limits.maxRedirects` redirects,
 * each target checked against `policy` before any connection. Rejects with a
 * PreviewRefusal: 'timeout' after `limits.timeoutMs` in all, 'closed' when `shutdown`
 * aborts, others as their codes say.
 */
export async function fetchHtml(start: URL, policy: AddressPolicy, limits: FetchLimits, shutdown: AbortSignal): Promise<FetchedPage> {
  if (shutdown.aborted) throw new PreviewRefusal('closed');
  // One controller for the whole fetch; its reason tells a timeout from a shutdown.
  const controller = new AbortController();
  const signal = controller.signal;
  const timer = setTimeout(() => controller.abort(new PreviewRefusal('timeout')), limits.timeoutMs);
  const onShutdown = (): void => controller.abort(new PreviewRefusal('closed'));
  shutdown.addEventListener('abort', onShutdown, { once: true });
  try {
    let url = start;
    for (let redirects = 0; ; redirects++) {
      const addresses = await vettedAddresses(url, policy, signal);
      const res = await request(url, addresses, signal);
      const status = res.statusCode ?? 0;
      if (REDIRECT_STATUSES.has(status)) {
        res.destroy();
        if (redirects >= limits.maxRedirects) throw new PreviewRefusal('too_many_redirects');
        const location = res.headers.location;
        let next: URL | null = null;
        try {
          next = location === undefined ? null : parseHttpUrl(new URL(location, url).href);
        } catch {
          next = null;
        }
        if (next === null) throw new PreviewRefusal('bad_redirect', `status ${status}`);
        url = next;
        continue;
      }
      if (status < 200 || status > 299) {
        res.destroy();
        throw new PreviewRefusal('http_status', `status ${status}`);
      }
      const contentType = res.headers['content-type'] ?? '';
      const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
      if (!HTML_TYPES.has(mediaType)) {
        // Not read at all: a large download would be paid for nothing.
        res.destroy();
        throw new PreviewRefusal('not_html', mediaType === '' ? 'no content-type' : mediaType);
      }
      const body = await readCapped(res, limits.maxBytes);
      return { url, html: decode(body, contentType), addresses };
    }
  } catch (err) {
    // Aborting surfaces as AbortError or a reset from deep inside http; report why we aborted.
    if (signal.aborted) throw signal.reason;
    if (err instanceof PreviewRefusal) throw err;
    throw new PreviewRefusal('network', err instanceof Error ? err.message : 'request failed');
  } finally {
    clearTimeout(timer);
    shutdown.removeEventListener('abort', onShutdown);
  }
}

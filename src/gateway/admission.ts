/**
 * Who may open a session (docs/protocol.md, "Opening sessions"). Opening one costs no
 * credential (CONNECT authenticates afterwards), so the only thing to key limits on is the
 * client's address: a token bucket of opens per address, and caps on the sessions still
 * waiting for their CONNECT, per address and in all. Both transports share them: /ws
 * refuses the upgrade, POST /lp answers, each with a 429 before any session exists.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { RateLimiter } from '../ratelimit';

export interface AdmissionLimits {
  /** Sessions an address may open per second, sustained, and at once. */
  openPerSecond: number;
  openBurst: number;
  /** Sessions that have not sent CONNECT yet, in all and per address. */
  maxPending: number;
  maxPendingPerAddress: number;
  /** CIDRs of proxies whose X-Forwarded-For is believed (empty: the peer is the client). */
  trustProxy: readonly string[];
}

/** Why a session may not open: the HTTP answer, before any session exists. */
export interface Refusal {
  status: 429 | 503;
  code: 'rate_limited' | 'unavailable';
  message: string;
  /** Seconds after which trying again may succeed (the Retry-After header). */
  retryAfterS: number;
}

export type Admitted = { ok: true; address: string } | { ok: false; refusal: Refusal };

export class Admission {
  private readonly opens: RateLimiter;
  private readonly addresses: ClientAddresses;
  /** address -> sessions opened from it that have not sent CONNECT (absent when none). */
  private readonly pendingBy = new Map<string, number>();
  private pending = 0;

  constructor(private readonly limits: AdmissionLimits) {
    this.opens = new RateLimiter(limits.openPerSecond, limits.openBurst);
    this.addresses = new ClientAddresses(limits.trustProxy);
  }

  /**
   * Whether `req` may open a session now; on success its address, which the session is
   * then counted under (pended) until it sends CONNECT or closes (unpended).
   */
  check(req: IncomingMessage, now: number = Date.now()): Admitted {
    return this.checkAddress(this.addresses.of(req), now);
  }

  /** check() for a client whose address is known already (an MQTT connection's peer). */
  checkAddress(address: string, now: number = Date.now()): Admitted {
    // The caps first: an address waiting for room does not spend its opening budget too.
    if (this.pending >= this.limits.maxPending) return refused('too many sessions opening on this server; retry shortly', 1);
    if ((this.pendingBy.get(address) ?? 0) >= this.limits.maxPendingPerAddress) {
      return refused('too many sessions from this address waiting for CONNECT', 1);
    }
    if (!this.opens.take(address, now)) return refused('opening sessions too fast', Math.ceil(1 / this.limits.openPerSecond));
    return { ok: true, address };
  }

  pended(address: string): void {
    this.pending++;
    this.pendingBy.set(address, (this.pendingBy.get(address) ?? 0) + 1);
  }

  unpended(address: string): void {
    this.pending--;
    const n = (this.pendingBy.get(address) ?? 1) - 1;
    if (n > 0) this.pendingBy.set(address, n);
    else this.pendingBy.delete(address);
  }

  /** Forgets the buckets of addresses that have not opened anything for a while. */
  sweep(now: number): void {
    this.opens.sweep(now);
  }
}

function refused(message: string, retryAfterS: number): Admitted {
  return { ok: false, refusal: { status: 429, code: 'rate_limited', message, retryAfterS } };
}

/**
 * The address a client's limits are keyed by. Behind trusted proxies it is the first
 * X-Forwarded-For hop, from the right, that is not itself a trusted proxy: entries further
 * left were written by the client and prove nothing. An IPv6 client is keyed by its /64,
 * the block one subscriber gets; an IPv4-mapped address is its IPv4 address.
 */
export class ClientAddresses {
  private readonly trusted = new BlockList();
  private readonly anyTrusted: boolean;

  /** `trustProxy`: CIDRs as the config validated them ("10.0.0.0/8", "::1/128"). */
  constructor(trustProxy: readonly string[]) {
    for (const cidr of trustProxy) {
      const [net = '', prefix = ''] = cidr.split('/');
      this.trusted.addSubnet(net, Number(prefix), isIP(net) === 4 ? 'ipv4' : 'ipv6');
    }
    this.anyTrusted = trustProxy.length > 0;
  }

  /** The key of a TCP peer that no proxy stands in front of (MQTT has no X-Forwarded-For). */
  static peer(remoteAddress: string): string {
    return keyOf(plain(remoteAddress));
  }

  of(req: IncomingMessage): string {
    let address = plain(req.socket.remoteAddress ?? '');
    if (this.anyTrusted) {
      const header = req.headers['x-forwarded-for'];
      const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
      while (hops.length > 0 && this.isTrusted(address)) {
        const hop = plain((hops.pop() as string).trim());
        // A trusted proxy that wrote no address: the proxy is the best answer there is.
        if (isIP(hop) === 0) break;
        address = hop;
      }
    }
    return keyOf(address);
  }

  /** Whether `address` (a peer, or an X-Forwarded-For hop) is one of the trusted proxies. */
  isTrusted(address: string): boolean {
    const a = plain(address);
    const family = isIP(a);
    return family !== 0 && this.trusted.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** Without an IPv6 zone, and an IPv4-mapped IPv6 address as the IPv4 address it is. */
function plain(address: string): string {
  const zone = address.indexOf('%');
  const a = zone < 0 ? address : address.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  return mapped ? mapped[1] : a;
}

/** IPv4 as is; IPv6 as its /64 ("2001:db8:1:2::/64"). */
function keyOf(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // A dotted IPv4 tail is two groups; it lies past the /64 either way.
  const rightGroups = right.length + (right.at(-1)?.includes('.') ? 1 : 0);
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - rightGroups).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

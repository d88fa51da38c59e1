/**
 * Which IP addresses a preview fetch may connect to. The check runs on addresses (after
 * DNS), never on host names, so "localhost", "127.1", "0x7f.1" and DNS names pointing at
 * private ranges all land on the same rules.
 */
import { BlockList, isIP } from 'node:net';

/** Special-purpose IPv4 ranges a server-side fetch must not reach (RFC 6890 and friends). */
const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network": Linux connects 0.0.0.0 to the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT; some clouds put internal services here
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, holds the 169.254.169.254 metadata service
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved; also covers the broadcast address 255.255.255.255
];

/**
 * IPv6 ranges blocked outright. Ranges that embed an IPv4 address (mapped, NAT64, 6to4,
 * IPv4-compatible) are judged by that IPv4 address instead, in `embeddedV4`.
 */
const BLOCKED_V6: ReadonlyArray<readonly [string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local; holds AWS's fd00:ec2::254 metadata address
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local: old networks still route it internally
  ['ff00::', 8], // multicast
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215): translates into the operator's own IPv4 space
];

function buildList(ranges: ReadonlyArray<readonly [string, number]>, type: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const [net, prefix] of ranges) list.addSubnet(net, prefix, type);
  return list;
}

// Separate lists per family: net.BlockList matches IPv4 rules against IPv4-mapped IPv6
// input on its own, and keeping families apart makes every cross-family case explicit here.
const blockedV4 = buildList(BLOCKED_V4, 'ipv4');
const blockedV6 = buildList(BLOCKED_V6, 'ipv6');

/** An IPv6 address as its eight 16-bit groups; the input must already pass net.isIPv6. */
function ipv6Groups(address: string): number[] {
  let head = address;
  const tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  const last = address.slice(lastColon + 1);
  if (last.includes('.')) {
    // Dotted-quad tail ("::ffff:1.2.3.4"): two groups from four bytes.
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    head = address.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const hex = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const halves = head.split('::');
  if (halves.length === 1) return [...hex(head), ...tail];
  const left = hex(halves[0] ?? '');
  const right = [...hex(halves[1] ?? ''), ...tail];
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function v4FromGroups(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The IPv4 address a connection to ::ffff:a.b.c.d (or ::ffff:0:a.b.c.d, SIIT) really goes to. */
function mappedV4(g: readonly number[]): string | null {
  const zeros = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return v4FromGroups(g[6] ?? 0, g[7] ?? 0);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4FromGroups(g[6] ?? 0, g[7] ?? 0);
  return null;
}

/**
 * The IPv4 address a translation mechanism would deliver this IPv6 address to: NAT64
 * well-known prefix 64:ff9b::/96, deprecated IPv4-compatible ::/96, 6to4 2002::/16.
 */
function embeddedV4(g: readonly number[]): string | null {
  const zeros = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4FromGroups(g[6] ?? 0, g[7] ?? 0);
  if (zeros(0, 6)) return v4FromGroups(g[6] ?? 0, g[7] ?? 0);
  if (g[0] === 0x2002) return v4FromGroups(g[1] ?? 0, g[2] ?? 0);
  return null;
}

/** "[fe80::1%eth0]" → "fe80::1": URL hosts carry brackets, link-local addresses a zone. */
function bareAddress(address: string): string {
  let a = address.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  return zone === -1 ? a : a.slice(0, zone);
}

/**
 * The blocked ranges above minus an operator allowlist. Built once per previewer (or push
 * provider); throws on an allowlist entry that is not a CIDR (or a bare address), naming
 * it and `listName` (the owner's config key).
 */
export class AddressPolicy {
  private readonly allowV4 = new BlockList();
  private readonly allowV6 = new BlockList();

  constructor(allow: readonly string[], listName = 'link preview allow list') {
    for (const entry of allow) {
      const [net = '', prefixText, extra] = entry.trim().split('/');
      const family = isIP(net);
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (family === 0 || extra !== undefined || !/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
        throw new Error(`${listName}: "${entry}" is not an IPv4 or IPv6 CIDR`);
      }
      if (family === 4) this.allowV4.addSubnet(net, prefix, 'ipv4');
      else this.allowV6.addSubnet(net, prefix, 'ipv6');
    }
  }

  /** True when a fetch must not connect to `address`; anything that is not an IP is blocked. */
  isBlocked(address: string): boolean {
    const ip = bareAddress(address);
    const family = isIP(ip);
    if (family === 4) return blockedV4.check(ip, 'ipv4') && !this.allowV4.check(ip, 'ipv4');
    if (family !== 6) return true;
    const groups = ipv6Groups(ip);
    // A mapped address is an IPv4 connection in IPv6 clothing: judge it, allowlist included, as IPv4.
    const mapped = mappedV4(groups);
    if (mapped !== null) return this.isBlocked(mapped);
    if (this.allowV6.check(ip, 'ipv6')) return false;
    if (blockedV6.check(ip, 'ipv6')) return true;
    const embedded = embeddedV4(groups);
    return embedded !== null && blockedV4.check(embedded, 'ipv4');
  }
}

/**
 * True when a preview fetch must not connect to `address` (an IPv4 or IPv6 literal) under
 * the default blocked ranges minus the `allow` CIDRs. Non-IP input is blocked. Throws if an
 * `allow` entry is not a CIDR.
 */
export function isBlockedAddress(address: string, allow: readonly string[]): boolean {
  return new AddressPolicy(allow).isBlocked(address);
}

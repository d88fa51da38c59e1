/** isBlockedAddress: the default blocked ranges, IPv4 hidden inside IPv6, and the allowlist. */
import { isBlockedAddress } from '../../src/linkpreview';

const blocked: string[] = [
  // IPv4 special-purpose ranges, edges included
  '0.0.0.0', '0.255.255.255', '10.0.0.1', '10.255.255.255', '100.64.0.1', '100.127.255.255',
  '127.0.0.1', '127.0.0.2', '127.255.255.254', '169.254.0.1', '169.254.169.254', '172.16.0.1',
  '172.31.255.255', '192.0.0.8', '192.0.2.1', '192.168.1.1', '198.18.0.1', '198.19.255.255',
  '198.51.100.7', '203.0.113.9', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255',
  // IPv6
  '::', '::1', 'fc00::1', 'fd00:ec2::254', 'fdff:ffff::1', 'fe80::1', 'fe80::1%eth0', 'febf::1',
  'ff02::1', 'fec0::1',
  // IPv4 in IPv6: mapped (both spellings), NAT64 of a private address, IPv4-compatible, 6to4
  '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '::ffff:10.0.0.1', '::ffff:0:127.0.0.1',
  '64:ff9b::10.0.0.1', '64:ff9b::a9fe:a9fe', '::127.0.0.1', '2002:c0a8:0101::1', '64:ff9b:1::8.8.8.8',
  '[::1]',
  // not an IP at all: fail closed
  'localhost', '', 'example.com', '999.1.1.1',
];

const allowed: string[] = [
  '8.8.8.8', '1.1.1.1', '93.184.216.34', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0',
  '192.0.1.1', '192.169.0.1', '198.17.255.255', '198.20.0.0', '223.255.255.255', '169.253.255.255',
  '2606:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:0808:0808::1',
  'fbff:ffff::1', 'fe7f::1', '[2606:4700::1111]',
];

test.each(blocked)('%s is blocked by default', (address) => {
  expect(isBlockedAddress(address, [])).toBe(true);
});

test.each(allowed)('%s is allowed', (address) => {
  expect(isBlockedAddress(address, [])).toBe(false);
});

test('an allowlist CIDR opens exactly its range', () => {
  expect(isBlockedAddress('127.0.0.2', [])).toBe(true);
  expect(isBlockedAddress('127.0.0.2', ['127.0.0.2/32'])).toBe(false);
  expect(isBlockedAddress('127.0.0.3', ['127.0.0.2/32'])).toBe(true);
  // The mapped spelling of an allowlisted IPv4 address is the same connection.
  expect(isBlockedAddress('::ffff:127.0.0.2', ['127.0.0.2/32'])).toBe(false);
  expect(isBlockedAddress('10.1.200.3', ['10.1.0.0/16'])).toBe(false);
  expect(isBlockedAddress('10.2.0.1', ['10.1.0.0/16'])).toBe(true);
  expect(isBlockedAddress('::1', ['::1/128'])).toBe(false);
  expect(isBlockedAddress('fd00::5', ['fd00::/64'])).toBe(false);
  expect(isBlockedAddress('fd00:1::5', ['fd00::/64'])).toBe(true);
  expect(isBlockedAddress('192.168.0.7', ['192.168.0.7'])).toBe(false); // a bare address is a /32
  // An IPv4 rule does not open IPv6 ranges and the other way round.
  expect(isBlockedAddress('::1', ['127.0.0.0/8'])).toBe(true);
  expect(isBlockedAddress('127.0.0.1', ['::/0'])).toBe(true);
});

test('an allowlist entry that is not a CIDR throws, naming it', () => {
  for (const bad of ['127.0.0.1/33', 'fd00::/129', 'localhost/8', '10.0.0.0/8/1', '10.0.0.0/x', '']) {
    expect(() => isBlockedAddress('8.8.8.8', [bad])).toThrow(`"${bad}"`);
  }
});

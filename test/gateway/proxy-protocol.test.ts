import { parseHeader } from '../../src/gateway/proxy-protocol';

test.each([
  ['PROXY TCP4 203.0.113.7 10.0.0.2 51234 1883', '203.0.113.7'],
  ['PROXY TCP6 2001:db8::1 2001:db8::2 51234 1883', '2001:db8::1'],
  ['PROXY UNKNOWN', null],
  ['PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2', null],
])('%s names %s', (line, address) => {
  expect(parseHeader(line)).toBe(address);
});

test.each([
  'PROXY TCP4 203.0.113.7 10.0.0.2 51234', // a field missing
  'PROXY TCP4 2001:db8::1 10.0.0.2 1 2', // IPv6 under TCP4
  'PROXY TCP6 203.0.113.7 2001:db8::2 1 2',
  'PROXY TCP4 203.0.113.7 10.0.0.2 65536 1883', // port out of range
  'PROXY TCP4 203.0.113.7 10.0.0.2 01 1883', // leading zero
  'PROXY UDP4 203.0.113.7 10.0.0.2 1 2',
  'PROXY  TCP4 203.0.113.7 10.0.0.2 1 2',
  'HELLO',
])('%s is refused', (line) => {
  expect(parseHeader(line)).toBeUndefined();
});

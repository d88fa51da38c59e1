/** Opening sessions: the client address limits key on, the opening bucket and the pending caps. */
import type { IncomingMessage } from 'node:http';
import { Admission, ClientAddresses, type AdmissionLimits } from '../../src/gateway/admission';

/** A request from `peer`, with an X-Forwarded-For header when given. */
function req(peer: string, xff?: string | string[]): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } } as unknown as IncomingMessage;
}

describe('ClientAddresses', () => {
  test('without trusted proxies the peer is the client: X-Forwarded-For is ignored (anyone can write it)', () => {
    const a = new ClientAddresses([]);
    expect(a.of(req('203.0.113.7', '198.51.100.1'))).toBe('203.0.113.7');
  });

  test('behind trusted proxies: the first hop from the right that is not a trusted proxy', () => {
    const a = new ClientAddresses(['10.0.0.0/8', '127.0.0.1/32']);
    // The client forged "1.1.1.1"; the edge proxy appended its real address, 198.51.100.9.
    expect(a.of(req('10.1.2.3', '1.1.1.1, 198.51.100.9, 10.0.0.5'))).toBe('198.51.100.9');
    expect(a.of(req('10.1.2.3', ['1.1.1.1', '198.51.100.9']))).toBe('198.51.100.9');
    // A peer that is not a trusted proxy is the client, whatever it claims.
    expect(a.of(req('198.51.100.20', '1.1.1.1'))).toBe('198.51.100.20');
    // A trusted proxy without a header, or with garbage: the proxy itself.
    expect(a.of(req('127.0.0.1'))).toBe('127.0.0.1');
    expect(a.of(req('10.1.2.3', 'unknown'))).toBe('10.1.2.3');
    // Every hop trusted: the leftmost.
    expect(a.of(req('10.1.2.3', '10.9.9.9'))).toBe('10.9.9.9');
  });

  test('IPv4-mapped IPv6 is IPv4; IPv6 is keyed by its /64', () => {
    const a = new ClientAddresses(['127.0.0.1/32']);
    expect(a.of(req('::ffff:203.0.113.7'))).toBe('203.0.113.7');
    expect(a.of(req('::ffff:127.0.0.1', '2001:db8:aa:bb:1:2:3:4'))).toBe('2001:db8:aa:bb::/64');
    expect(a.of(req('2001:db8:aa:bb::9'))).toBe('2001:db8:aa:bb::/64');
    expect(a.of(req('2001:0db8::1'))).toBe('2001:db8:0:0::/64');
    expect(a.of(req('::1'))).toBe('0:0:0:0::/64');
    expect(a.of(req('fe80::1%eth0'))).toBe('fe80:0:0:0::/64');
  });
});

describe('Admission', () => {
  const limits: AdmissionLimits = { openPerSecond: 2, openBurst: 4, maxPending: 5, maxPendingPerAddress: 3, trustProxy: [] };

  test('an address opens its burst, then at the sustained rate; each address has its own bucket', () => {
    const adm = new Admission({ ...limits, maxPendingPerAddress: 100, maxPending: 100 });
    const results = Array.from({ length: 5 }, () => adm.check(req('198.51.100.1'), 0).ok);
    expect(results).toEqual([true, true, true, true, false]);
    const refused = adm.check(req('198.51.100.1'), 0);
    expect(refused).toEqual({ ok: false, refusal: { status: 429, code: 'rate_limited', message: 'opening sessions too fast', retryAfterS: 1 } });
    expect(adm.check(req('198.51.100.1'), 500).ok).toBe(true); // 2/s: one more after 500 ms
    expect(adm.check(req('198.51.100.2'), 0).ok).toBe(true);
  });

  test('sessions waiting for CONNECT are capped per address and in all, until they CONNECT or close', () => {
    const adm = new Admission({ ...limits, openBurst: 100 });
    const open = (peer: string) => {
      const a = adm.check(req(peer), 0);
      if (a.ok) adm.pended(a.address);
      return a;
    };
    expect([open('198.51.100.1'), open('198.51.100.1'), open('198.51.100.1')].every((a) => a.ok)).toBe(true);
    expect(open('198.51.100.1')).toMatchObject({ ok: false, refusal: { status: 429, message: 'too many sessions from this address waiting for CONNECT' } });
    expect([open('198.51.100.2'), open('198.51.100.3')].every((a) => a.ok)).toBe(true);
    // Five waiting in all: even a new address waits.
    expect(open('198.51.100.4')).toMatchObject({ ok: false, refusal: { status: 429, message: 'too many sessions opening on this server; retry shortly' } });
    adm.unpended('198.51.100.1'); // one of them sent CONNECT
    expect(open('198.51.100.4').ok).toBe(true);
    expect(open('198.51.100.1').ok).toBe(false); // the server is full again
  });
});

/** The session's abuse counting: which refusals count toward which close, and the window. */
import { CloseCode, type ErrorCode } from '../../src/protocol';
import { Session, type Carrier } from '../../src/gateway/session';
import { WriteBatch } from '../../src/gateway/batch';

const carrier: Carrier = { bufferedAmount: 0, send: () => undefined, close: () => undefined, terminate: () => undefined, ping: () => undefined };
const session = () => new Session('s1', carrier, 0, null, 1 << 20, new WriteBatch());

/** The close code the n-th refusal with `code` returns, or null after `n` of them. */
function closeAfter(code: ErrorCode, n: number, s = session(), now = 1000): number | null {
  let close: number | null = null;
  for (let i = 0; i < n && close === null; i++) close = s.countRefusal(code, now);
  return close;
}

test('the 21st refusal the client is to blame for within 10 s closes with 4002', () => {
  for (const code of ['bad_request', 'too_large', 'forbidden', 'not_found', 'conflict', 'unauthorized'] as const) {
    expect([code, closeAfter(code, 20)]).toEqual([code, null]);
    expect([code, closeAfter(code, 21)]).toEqual([code, CloseCode.protocolError]);
  }
});

test('the 51st rate_limited within 10 s closes with 4008', () => {
  expect(closeAfter('rate_limited', 50)).toBeNull();
  expect(closeAfter('rate_limited', 51)).toBe(CloseCode.rateLimited);
});

test("refusals that are the server's fault (unavailable, internal) never count", () => {
  const s = session();
  expect(closeAfter('unavailable', 1000, s)).toBeNull();
  expect(closeAfter('internal', 1000, s)).toBeNull();
  // Nor do they use up the client's allowance: 20 bad frames still pass.
  expect(closeAfter('bad_request', 20, s)).toBeNull();
  expect(closeAfter('rate_limited', 50, s)).toBeNull();
});

test('the counts start again after 10 s', () => {
  const s = session();
  expect(closeAfter('bad_request', 20, s, 1000)).toBeNull();
  expect(closeAfter('bad_request', 20, s, 12_000)).toBeNull();
});

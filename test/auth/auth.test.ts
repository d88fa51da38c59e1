import { createHmac } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { TokenService, hashPassword, loadOrCreateSecret, verifyPassword } from '../../src/auth';

test('scrypt hashes verify the right password only and are salted', async () => {
  const h1 = await hashPassword('hunter2hunter2');
  const h2 = await hashPassword('hunter2hunter2');
  expect(h1).toMatch(/^scrypt\$16384\$8\$1\$/);
  expect(h1).not.toBe(h2);
  expect(await verifyPassword('hunter2hunter2', h1)).toBe(true);
  expect(await verifyPassword('hunter2hunter3', h1)).toBe(false);
  expect(await verifyPassword('x', 'garbage')).toBe(false);
});

test('tokens verify; forged, expired, alg=none and subject-less tokens are refused', () => {
  const svc = new TokenService('s'.repeat(40), 3600);
  expect(svc.verify(svc.issue('u_1'))).toEqual({ user_id: 'u_1', device_id: null, gen: 0, token_id: expect.any(String), issued_at: expect.any(Number) });
  const forged = jwt.sign({}, 'other'.repeat(10), { subject: 'u_1' });
  const expired = jwt.sign({ exp: Math.floor(Date.now() / 1000) - 10 }, 's'.repeat(40), { subject: 'u_1' });
  const none = jwt.sign({ sub: 'u_1' }, '', { algorithm: 'none' });
  const noSub = jwt.sign({}, 's'.repeat(40));
  for (const t of [forged, expired, none, noSub, 'abc', '']) {
    expect(() => svc.verify(t)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
  }
  expect(() => svc.verify(expired)).toThrow('token expired');
});

test('the hand-written verifier accepts exactly what jsonwebtoken would, for this format', () => {
  const secret = 's'.repeat(40);
  const svc = new TokenService(secret, 3600);
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  // Signs any header and payload correctly, for shapes jsonwebtoken refuses to produce.
  const hs256 = (header: unknown, payload: unknown): string => {
    const body = `${b64(header)}.${b64(payload)}`;
    return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
  };
  expect(svc.verify(hs256({ alg: 'HS256' }, { sub: 'u_4', exp: sec + 60 }))).toEqual({ user_id: 'u_4', device_id: null, gen: 0, token_id: null, issued_at: null });
  // Tokens jsonwebtoken signs with the same secret verify, extra claims and typ included.
  expect(svc.verify(jwt.sign({ scope: 'x' }, secret, { subject: 'u_2', expiresIn: 60 }))).toMatchObject({ user_id: 'u_2' });
  expect(svc.verify(jwt.sign({}, secret, { subject: 'u_3', expiresIn: 60, notBefore: 0 }))).toMatchObject({ user_id: 'u_3' });
  const good = svc.issue('u_1');
  const [h, p, sig] = good.split('.');
  const b64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const refused = [
    // Another algorithm's header over the same payload (HS512, RS256 confusion, none).
    jwt.sign({ sub: 'u_1', exp: sec + 60 }, secret, { algorithm: 'HS512' }),
    `${b64({ alg: 'RS256', typ: 'JWT' })}.${p}.${sig}`,
    `${b64({ alg: 'none' })}.${p}.`,
    // Payload swapped under a valid signature, signature flipped, truncated, padded.
    `${h}.${b64({ sub: 'u_admin', exp: sec + 60 })}.${sig}`,
    // The last character's significant bits flipped, and then only its two unused bits
    // (the same bytes once decoded: a second spelling of a valid signature).
    `${h}.${p}.${sig.slice(0, -1)}${b64url[b64url.indexOf(sig.slice(-1)) ^ 4]}`,
    `${h}.${p}.${sig.slice(0, -1)}${b64url[b64url.indexOf(sig.slice(-1)) | 1]}`,
    `${h}.${p}.${sig.slice(0, -2)}`,
    `${h}.${p}.${sig}=`,
    `${h}.${p}`,
    `${good}.extra`,
    // Not yet valid, no exp, non-numeric exp, non-object payloads, typ other than JWT.
    jwt.sign({ nbf: sec + 600 }, secret, { subject: 'u_1', expiresIn: 3600 }),
    jwt.sign({ sub: 'u_1' }, secret),
    hs256({ alg: 'HS256', typ: 'JWT' }, { sub: 'u_1', exp: String(sec + 60) }),
    hs256({ alg: 'HS256', typ: 'JWT' }, ['u_1']),
    hs256({ alg: 'HS256', typ: 'JWT' }, { sub: '', exp: sec + 60 }),
    hs256(['HS256'], { sub: 'u_1', exp: sec + 60 }),
    // A correct HMAC-SHA256 under a header naming another algorithm.
    hs256({ alg: 'HS512', typ: 'JWT' }, { sub: 'u_1', exp: sec + 60 }),
    jwt.sign('a string payload', secret),
    jwt.sign({ sub: 'u_1', exp: sec + 60 }, secret, { header: { alg: 'HS256', typ: 'JOSE+JSON' } }),
    'x'.repeat(5000),
    // Revocation claims of the wrong shape: a generation that is not a count, an empty device.
    hs256({ alg: 'HS256' }, { sub: 'u_1', exp: sec + 60, gen: -1 }),
    hs256({ alg: 'HS256' }, { sub: 'u_1', exp: sec + 60, gen: 1.5 }),
    hs256({ alg: 'HS256' }, { sub: 'u_1', exp: sec + 60, gen: '2' }),
    hs256({ alg: 'HS256' }, { sub: 'u_1', exp: sec + 60, did: '' }),
    hs256({ alg: 'HS256' }, { sub: 'u_1', exp: sec + 60, did: 7 }),
  ];
  for (const t of refused) {
    expect(() => svc.verify(t)).toThrow(expect.objectContaining({ code: 'unauthorized', message: 'invalid token' }));
  }
  // Expiry is checked against the clock given: valid just before exp, expired at exp.
  const exp = Number(JSON.parse(Buffer.from(p, 'base64url').toString()).exp);
  expect(svc.verify(good, exp * 1000 - 1)).toMatchObject({ user_id: 'u_1' });
  expect(() => svc.verify(good, exp * 1000)).toThrow('token expired');
});

test('a token names its device, generation, id and issue time', () => {
  const svc = new TokenService('s'.repeat(40), 3600);
  const before = Math.floor(Date.now() / 1000);
  const a = svc.verify(svc.issue('u_1', { deviceId: 'phone', gen: 7 }));
  expect(a).toEqual({ user_id: 'u_1', device_id: 'phone', gen: 7, token_id: expect.any(String), issued_at: expect.any(Number) });
  expect(a.issued_at).toBeGreaterThanOrEqual(before);
  // Each token has its own id, even for the same user and device in the same second.
  expect(svc.verify(svc.issue('u_1', { deviceId: 'phone', gen: 7 })).token_id).not.toBe(a.token_id);
  expect(svc.ttl).toBe(3600);
});

test('the generated secret is persisted with mode 0600 and reused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sec-'));
  const a = loadOrCreateSecret(null, dir);
  expect(a.length).toBeGreaterThanOrEqual(48);
  expect(loadOrCreateSecret(null, dir)).toBe(a);
  expect(statSync(join(dir, 'jwt-secret')).mode & 0o777).toBe(0o600);
  expect(loadOrCreateSecret('configured-secret', dir)).toBe('configured-secret');
});

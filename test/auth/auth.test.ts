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
  expect(svc.verify(svc.issue('u_1'))).toEqual({ user_id: 'u_1' });
  const forged = jwt.sign({}, 'other'.repeat(10), { subject: 'u_1' });
  const expired = jwt.sign({ exp: Math.floor(Date.now() / 1000) - 10 }, 's'.repeat(40), { subject: 'u_1' });
  const none = jwt.sign({ sub: 'u_1' }, '', { algorithm: 'none' });
  const noSub = jwt.sign({}, 's'.repeat(40));
  for (const t of [forged, expired, none, noSub, 'abc', '']) {
    expect(() => svc.verify(t)).toThrow(expect.objectContaining({ code: 'unauthorized' }));
  }
  expect(() => svc.verify(expired)).toThrow('token expired');
});

test('the generated secret is persisted with mode 0600 and reused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sec-'));
  const a = loadOrCreateSecret(null, dir);
  expect(a.length).toBeGreaterThanOrEqual(48);
  expect(loadOrCreateSecret(null, dir)).toBe(a);
  expect(statSync(join(dir, 'jwt-secret')).mode & 0o777).toBe(0o600);
  expect(loadOrCreateSecret('configured-secret', dir)).toBe('configured-secret');
});

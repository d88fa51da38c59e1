/**
 * A throwaway TLS identity for the local push services of these tests.
 *
 * Node can sign but not issue X.509 certificates, and no certificate library is installed
 * (selfsigned, node-forge), so the certificate comes from the `openssl` command (present
 * on Debian and in the CI image), made once per test file in a temporary directory. It is
 * self-signed, valid one day, for localhost, 127.0.0.1, ::1, fcm.googleapis.com and
 * oauth2.googleapis.com (the FCM tests route those names to 127.0.0.1: the sends, and the
 * service account's token exchange); clients trust it through the `ca` option.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestTls {
  key: string;
  cert: string;
}

export function makeTestTls(): TestTls {
  const dir = mkdtempSync(join(tmpdir(), 'push-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,DNS:fcm.googleapis.com,DNS:oauth2.googleapis.com,IP:127.0.0.1,IP:::1',
      ],
      { stdio: 'pipe' },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

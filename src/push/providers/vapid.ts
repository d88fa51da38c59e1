/**
 * The server's VAPID key pair (RFC 8292): given by configuration, or generated on first
 * start and kept in DATA_DIR/vapid.json (0600), as the JWT secret is. Browsers subscribe
 * with the public key, so a new pair would orphan every subscription: the file is never
 * rewritten once it exists.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateVAPIDKeys } from 'web-push';

/** base64url: the public key a 65-byte uncompressed P-256 point, the private key 32 bytes. */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

const FILE = 'vapid.json';

function parseKeys(text: string, file: string): VapidKeys {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not JSON`);
  }
  const { publicKey, privateKey } = (parsed ?? {}) as Partial<Record<keyof VapidKeys, unknown>>;
  const valid =
    typeof publicKey === 'string' &&
    typeof privateKey === 'string' &&
    Buffer.from(publicKey, 'base64url').length === 65 &&
    Buffer.from(privateKey, 'base64url').length === 32;
  if (!valid) throw new Error(`${file}: needs publicKey (65 bytes) and privateKey (32 bytes), base64url`);
  return { publicKey, privateKey };
}

/**
 * `configured` when given; otherwise the pair kept in `dataDir`, created on first call.
 * Two processes starting at once on one dataDir agree: the file appears whole or not at
 * all, and the loser reads the winner's. Throws on an unreadable or malformed file rather than
 * replacing it.
 */
export function loadOrCreateVapidKeys(configured: VapidKeys | null, dataDir: string): VapidKeys {
  if (configured !== null) return configured;
  const file = join(dataDir, FILE);
  try {
    return parseKeys(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const generated = generateVAPIDKeys();
  const keys = { publicKey: generated.publicKey, privateKey: generated.privateKey };
  // Written whole under a private name, then linked into place: link fails if the file
  // exists, so a reader never sees half a file and a second starter keeps the first pair.
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, JSON.stringify(keys) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, file);
    return keys;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return parseKeys(readFileSync(file, 'utf8'), file);
  } finally {
    unlinkSync(temp);
  }
}

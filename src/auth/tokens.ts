/**
 * Bearer tokens: HS256 JWTs signed with the shard's secret. Every shard of a cluster
 * shares the secret (JWT_SECRET), so a token issued by one is accepted by all.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ProtocolError } from '../protocol';

/** Claims the server puts in a token. */
export interface TokenClaims {
  user_id: string;
}

export class TokenService {
  /**
   * A KeyObject, built once: given a string, jsonwebtoken first tries to parse it as a
   * public key on every call (and throws inside), which cost ~500 µs per verify and was
   * the top item of the reconnect-storm profile. With a KeyObject verify takes ~12 µs.
   */
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  issue(userId: string): string {
    return jwt.sign({}, this.key, { algorithm: 'HS256', subject: userId, expiresIn: this.ttlSeconds });
  }

  /**
   * Verifies signature, algorithm and expiry; throws ProtocolError('unauthorized') otherwise.
   * Done here rather than with jwt.verify: for the one format this server issues, an HMAC
   * and two JSON.parse calls are all it takes, and jsonwebtoken's general path (options,
   * key-type checks, a jws stream) cost ~100 µs per CONNECT under the reconnect storm.
   * Tests check it against tokens jsonwebtoken signs and against every kind of tampering.
   */
  verify(token: string, nowMs: number = Date.now()): TokenClaims {
    const parts = typeof token === 'string' && token.length <= maxTokenChars ? token.split('.') : [];
    if (parts.length !== 3 || !signaturePattern.test(parts[2])) throw invalid();
    const header = parseSegment(parts[0]);
    if (header === null || header.alg !== 'HS256' || (header.typ !== undefined && header.typ !== 'JWT')) throw invalid();
    const expected = createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest();
    if (!timingSafeEqual(Buffer.from(parts[2], 'base64url'), expected)) throw invalid();
    const claims = parseSegment(parts[1]);
    if (claims === null || typeof claims.sub !== 'string' || claims.sub === '' || typeof claims.exp !== 'number') throw invalid();
    const now = Math.floor(nowMs / 1000);
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now)) throw invalid();
    if (now >= claims.exp) throw new ProtocolError('unauthorized', 'token expired');
    return { user_id: claims.sub };
  }
}

/** Far above any token this server issues; stops a huge header from costing a decode. */
const maxTokenChars = 4096;
/** An HS256 signature is 32 bytes: 43 base64url characters, unpadded. */
const signaturePattern = /^[A-Za-z0-9_-]{43}$/;

function invalid(): ProtocolError {
  return new ProtocolError('unauthorized', 'invalid token');
}

/** A base64url JSON object segment, or null when it is anything else. */
function parseSegment(segment: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(segment)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The configured secret, or the one kept in dataDir (created with 0600 on first run) so
 * tokens survive restarts of an embedded deployment.
 */
export function loadOrCreateSecret(configured: string | null, dataDir: string): string {
  if (configured) return configured;
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

/**
 * Bearer tokens: HS256 JWTs signed with the shard's secret. Every shard of a cluster
 * shares the secret (JWT_SECRET), so a token issued by one is accepted by all.
 *
 * A signature only proves the server issued the token; whether it still counts (the
 * account exists, the user did not sign out) is the auth state's answer (./state.ts). For
 * that a token names what can be revoked: its device (`did`) and the user's token
 * generation when it was issued (`gen`), besides its own id (`jti`) and issue time (`iat`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ProtocolError } from '../protocol';

/** What a verified token says. */
export interface TokenClaims {
  user_id: string;
  /** The device the token was issued to (`did`); null for tokens from before devices were named. */
  device_id: string | null;
  /**
   * The user's token generation at issue time (`gen`); 0 for tokens from before it existed.
   * Signing out raises the generation a token needs (auth state), so a number in the token
   * decides without a clock: shards' clocks need not agree for a fresh login to count.
   */
  gen: number;
  /** The token's own id (`jti`), for logs; null for older tokens. */
  token_id: string | null;
  /** Issue time in seconds (`iat`); null when absent. */
  issued_at: number | null;
}

/** What a token is issued for besides its user. */
export interface IssueOptions {
  /** The device signing in. */
  deviceId: string;
  /** The user's current token generation (AuthState.token_gen). */
  gen: number;
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

  /** Lifetime of the tokens issued, in seconds (a device revocation is kept this long). */
  get ttl(): number {
    return this.ttlSeconds;
  }

  /**
   * A token for `userId`. Without options (tests, tools) it names no device and has
   * generation 0, like tokens issued before devices were named.
   */
  issue(userId: string, opts?: IssueOptions): string {
    const claims = opts === undefined ? {} : { did: opts.deviceId, gen: opts.gen };
    return jwt.sign(claims, this.key, { algorithm: 'HS256', subject: userId, expiresIn: this.ttlSeconds, jwtid: randomBytes(12).toString('base64url') });
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
    // Compared as text, not as decoded bytes: the last of 43 characters carries two unused
    // bits, so decoding would accept four spellings of one signature where jsonwebtoken
    // (and any cache keyed by the token text) sees one.
    const expected = createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest('base64url');
    if (!timingSafeEqual(Buffer.from(parts[2], 'latin1'), Buffer.from(expected, 'latin1'))) throw invalid();
    const claims = parseSegment(parts[1]);
    if (claims === null || typeof claims.sub !== 'string' || claims.sub === '' || typeof claims.exp !== 'number') throw invalid();
    const now = Math.floor(nowMs / 1000);
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now)) throw invalid();
    if (now >= claims.exp) throw new ProtocolError('unauthorized', 'token expired');
    const gen = claims.gen ?? 0;
    if (typeof gen !== 'number' || !Number.isSafeInteger(gen) || gen < 0) throw invalid();
    if (claims.did !== undefined && (typeof claims.did !== 'string' || claims.did === '')) throw invalid();
    return {
      user_id: claims.sub,
      device_id: typeof claims.did === 'string' ? claims.did : null,
      gen,
      token_id: typeof claims.jti === 'string' ? claims.jti : null,
      issued_at: typeof claims.iat === 'number' ? claims.iat : null,
    };
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

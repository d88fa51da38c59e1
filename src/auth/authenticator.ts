/**
 * The one check every authenticated path makes (REST requests, CONNECT, frames of open
 * sessions): the token is genuine and unexpired (TokenService), and it still counts for
 * its user's current auth state (AuthCache, tokenCounts).
 */
import { ProtocolError } from '../protocol';
import type { AuthCache } from './cache';
import { refusal, tokenCounts } from './state';
import type { TokenClaims, TokenService } from './tokens';

export class Authenticator {
  constructor(
    readonly tokens: TokenService,
    readonly cache: AuthCache,
  ) {}

  /**
   * The token's claims when it counts; throws ProtocolError('unauthorized') otherwise.
   * `deviceId` is the device the token is used as (CONNECT), null on REST.
   */
  async authenticate(token: string, deviceId: string | null = null): Promise<TokenClaims> {
    const claims = this.tokens.verify(token);
    const state = await this.cache.get(claims.user_id);
    if (!tokenCounts(state, claims.gen, claims.device_id, deviceId)) throw new ProtocolError('unauthorized', refusal(state));
    return claims;
  }
}

/**
 * Auth module: embedded identity (scrypt password hashes), JWT bearer tokens, and whether
 * a token still counts (the account exists, its user did not sign it out): a per-shard
 * cache of the store's auth state, kept current by the bus.
 */
export { hashPassword, verifyPassword } from './passwords';
export { TokenService, loadOrCreateSecret, type IssueOptions, type TokenClaims } from './tokens';
export { AuthCache, type AuthCacheOptions, type AuthStateSource, type CachedAuth } from './cache';
export { Authenticator } from './authenticator';
export { newerState, refusal, tokenCounts } from './state';

/** Auth module: embedded identity (scrypt password hashes) and JWT bearer tokens. */
export { hashPassword, verifyPassword } from './passwords';
export { TokenService, loadOrCreateSecret, type TokenClaims } from './tokens';

/**
 * Random identifiers. Uses Web Crypto, present in Node 20 and browsers, so the SDK can
 * share it. 16 url-safe characters carry 96 random bits: collisions are not a concern.
 */
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A new random id, e.g. newId('u') -> "u_Xk3...". */
export function newId(prefix: string): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let out = prefix + '_';
  for (let i = 0; i < 16; i++) out += alphabet[bytes[i] & 63];
  return out;
}

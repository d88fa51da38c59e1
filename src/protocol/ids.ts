/**
 * Random identifiers. Uses Web Crypto, present in Node 20 and browsers, so the SDK can
 * share it. 16 url-safe characters carry 96 random bits: collisions are not a concern.
 */
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** The same 64 characters in ASCII order, so that string order equals numeric order. */
const sortable = '-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz';

/**
 * Random bytes drawn ahead, as Node's randomUUID does: one getRandomValues call per 256
 * ids instead of one per id (each call enters OpenSSL; a session id per connection made
 * it ~2% of a reconnect storm's profile). The bytes are used once each.
 */
const pool = new Uint8Array(4096);
let drawn = pool.length;

function randomChars(n: number, chars: string): string {
  if (drawn + n > pool.length) {
    globalThis.crypto.getRandomValues(pool);
    drawn = 0;
  }
  let out = '';
  for (let i = drawn, end = drawn + n; i < end; i++) out += chars[pool[i] & 63];
  drawn += n;
  return out;
}

/** A new random id, e.g. newId('u') -> "u_Xk3...". */
export function newId(prefix: string): string {
  return prefix + '_' + randomChars(16, alphabet);
}

/**
 * A new id that sorts by creation time (like UUIDv7): 8 characters of milliseconds, then
 * 12 random ones. The store's idempotency index is ordered by these ids, so time-ordered
 * keys append to the end of each sender's range instead of dirtying a random page per
 * message (measured: 18-21k -> 29-35k appends/s on SQLite with 100 conversations).
 */
export function newSortableId(prefix: string, now: number = Date.now()): string {
  let time = '';
  for (let i = 7, t = now; i >= 0; i--, t = Math.floor(t / 64)) time = sortable[t % 64] + time;
  return prefix + '_' + time + randomChars(12, sortable);
}

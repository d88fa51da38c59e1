/** The rules every blob engine applies before any I/O, and the errors they share. */

/** A key outside the contract's alphabet (or with `..` or a `.` segment): refused before any I/O. */
export class BlobKeyError extends Error {
  override name = 'BlobKeyError';
}

/** read() of a key with no object. */
export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
}

const keyPattern = /^[a-z0-9][a-z0-9/_.-]{0,199}$/;

/** Throws BlobKeyError unless `key` keeps the contract (no traversal, no odd characters). */
export function checkKey(key: string): void {
  if (!keyPattern.test(key) || key.includes('..') || key.includes('//') || key.endsWith('/') || key.split('/').includes('.')) {
    throw new BlobKeyError(`invalid blob key ${JSON.stringify(key.slice(0, 64))}`);
  }
}

/** A presign expiry in whole seconds, 1 s to 7 days (S3's own bounds). */
export function checkExpiry(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 7 * 24 * 3600) throw new RangeError('presign expiry must be 1 s to 7 days');
  return seconds;
}

/**
 * Sealed page cursors. A user search's cursor is the last index row it looked at, which may
 * belong to a user who is not listed (not discoverable): handed out in the clear, it would
 * tell that user's id and name. Sealed with AES-256-GCM under a key derived from the
 * token secret (every shard of a cluster shares it, so any shard reads another's cursor),
 * a cursor says nothing and cannot be forged to start a scan at a chosen place.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const ivBytes = 12;
const tagBytes = 16;

export class CursorSeal {
  private readonly key: Buffer;

  /** `secret`: the token secret; `purpose` keeps cursors of different endpoints apart. */
  constructor(secret: string, purpose: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `cursor:${purpose}`, 32));
  }

  seal(value: unknown): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The sealed value, or null when `text` is not a cursor this key sealed (tampered, another server's, garbage). */
  open(text: string): unknown {
    const raw = Buffer.from(text, 'base64url');
    if (raw.length <= ivBytes + tagBytes) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, ivBytes));
      decipher.setAuthTag(raw.subarray(ivBytes, ivBytes + tagBytes));
      const plain = Buffer.concat([decipher.update(raw.subarray(ivBytes + tagBytes)), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as unknown;
    } catch {
      return null;
    }
  }
}

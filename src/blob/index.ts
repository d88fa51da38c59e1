/**
 * Blob module: where attachment bytes live. Engines side by side: `local.ts` (files under a
 * directory, signed URLs served by the shard itself) and `s3.ts` (any S3-compatible service
 * through the minio client, presigned URLs, so bytes never pass through the shard).
 *
 * Contract every engine keeps (test/blob/contract.ts runs it on both):
 * - Keys are the store's own: lowercase letters, digits and `/ _ . -`, no `..`, no `.` or
 *   empty segment, at most 200 characters; anything else is refused with BlobKeyError before
 *   any I/O. A "directory" (`p` of `p/q`) is never an object. Callers must not store both
 *   `p/q` and `p/q/r` (the local engine can, some S3 services refuse it).
 * - A presigned URL grants one method on one key until it expires, and nothing else: the
 *   same URL with another method, another key or a changed expiry is refused (403). No user
 *   token is in it, so it can be handed to a browser or an `<img>`.
 * - A presigned URL may be used any number of times until it expires: a PUT URL handed out
 *   once can overwrite its key again later. So an upload is trusted only after the caller has
 *   checked it and copied it to a key no PUT URL was ever issued for (the upload flow copies
 *   to a key named by the content's sha256, which also dedups).
 * - A PUT through a presigned URL stores the request's body and its Content-Type, whole
 *   or not at all; a later PUT of the same key replaces it. Concurrent PUTs of one key end
 *   with exactly one of them (its bytes and its type together).
 * - stat, read and delete see what was stored by a PUT or by write(), at once.
 * - The store checks nothing about the content (size, type, hash): the caller does, by
 *   reading what was stored (stat after the upload), never by trusting the client. S3
 *   presigned PUTs are not size-capped at all (a presigned PUT cannot carry a limit); the
 *   local engine refuses bodies over `maxPutBytes` (413) only as a safety cap for its disk.
 * - A GET URL with a file name answers as an attachment with that name (RFC 6266/5987). The
 *   local engine serves from the app's own origin, so it also sends
 *   `Content-Security-Policy: sandbox; default-src 'none'` and `nosniff`, and serves inline
 *   only a short list of passive media types; everything else is an attachment.
 */
import type { Readable } from 'node:stream';

/** What the store knows of a stored object. */
export interface BlobInfo {
  size: number;
  contentType: string;
}

export interface PresignedGetOptions {
  /** Offered to a browser as the download's file name (Content-Disposition). */
  filename?: string;
}

export interface BlobStore {
  /** A URL that accepts one PUT of `key` until `expiresInSeconds` from now. */
  presignPut(key: string, expiresInSeconds: number): Promise<string>;
  /** A URL that answers GET of `key` (with its stored Content-Type) until `expiresInSeconds` from now. */
  presignGet(key: string, expiresInSeconds: number, opts?: PresignedGetOptions): Promise<string>;
  /** Size and type of the stored object, or null when there is none. */
  stat(key: string): Promise<BlobInfo | null>;
  /** The stored bytes; rejects with BlobNotFoundError when there is no object. */
  read(key: string): Promise<Readable>;
  /** Stores bytes the server made itself (thumbnails); replaces any object of that key. `contentType` is 1 to 200 visible ASCII characters (else RangeError on the local engine). */
  write(key: string, data: Buffer, contentType: string): Promise<void>;
  /** Removes the object; removing one that does not exist is not an error. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export { BlobKeyError, BlobNotFoundError, checkExpiry, checkKey } from './keys';
export { blobOrigins, type BlobUrlSettings } from './origins';
export { LocalBlobStore, type LocalBlobStoreOptions } from './local';
export { S3BlobStore, isS3Outage, type S3BlobStoreOptions } from './s3';

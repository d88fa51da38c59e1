/**
 * Where the URLs a blob engine hands out point, when not at this server: the web client's
 * Content-Security-Policy must let the page PUT uploads there (`connect-src`).
 */

/** The blob settings this needs (the shape of `Config['blob']`). */
export type BlobUrlSettings =
  | { engine: 'local'; publicUrl: string | null }
  | { engine: 's3'; endpoint: string; bucket: string; pathStyle: boolean };

/**
 * The origins of upload and download URLs other than the page's own: BLOB=s3 its endpoint
 * (and, without path-style URLs, the bucket's virtual host on it); BLOB=local the
 * configured public URL (none when unset: the URLs then name the address served).
 */
export function blobOrigins(b: BlobUrlSettings): string[] {
  if (b.engine === 'local') return b.publicUrl ? [new URL(b.publicUrl).origin] : [];
  const url = new URL(b.endpoint);
  const origins = [url.origin];
  if (!b.pathStyle) origins.push(`${url.protocol}//${b.bucket}.${url.host}`);
  return origins;
}

/**
 * Content-Disposition for a download name, shared by both engines. RFC 6266 with an RFC 5987
 * `filename*` for the real (UTF-8) name and a plain ASCII `filename=` for old clients.
 */

/** `attachment; filename="<ascii>"; filename*=UTF-8''<pct-encoded>`; only `attachment` without a name. */
export function attachmentDisposition(name: string | undefined): string {
  if (name === undefined) return 'attachment';
  return `attachment; filename="${asciiFallback(name)}"; filename*=UTF-8''${rfc5987(name)}`;
}

/** RFC 5987 attr-char encoding: encodeURIComponent leaves `'()*`, which attr-char excludes. */
export function rfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The name in printable ASCII for a quoted-string: anything else (and `"`, `\`, `%`) becomes `_`. */
export function asciiFallback(value: string): string {
  return value.replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'download';
}

/**
 * Types a browser may show inline from the app's own origin: passive media only. Not SVG or
 * HTML (script), and not PDF (viewers run their own scripts and do not all honour the CSP
 * sandbox): those, and everything else, are served as attachments.
 */
const inlineTypes = new Set([
  'image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'audio/mpeg', 'audio/ogg', 'audio/mp4', 'audio/wav',
]);

/** True when `contentType` (parameters ignored) is on the inline list. */
export function isInlineSafe(contentType: string): boolean {
  return inlineTypes.has(contentType.split(';')[0]!.trim().toLowerCase());
}

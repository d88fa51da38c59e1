/**
 * The web client (src/web, bundled by `npm run build:web` into dist/web) served at `/`.
 * Mounted after every other route, GET and HEAD only, and it never answers under the
 * server's own paths, so it cannot shadow /api/v1, /healthz, /readyz, /metrics, /ws or /lp.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { Router as ExpressRouter } from 'express';

/** Where the build puts the bundle: `<repo>/dist/web`, from both `dist/api` and `src/api` (tests run the sources). */
export const defaultWebDir = resolve(__dirname, '../../dist/web');

/**
 * The bundle is one script and one stylesheet from this origin, talking only to this
 * origin (REST, /ws, /lp) and to `blobOrigins`, where uploads are PUT (the S3 endpoint):
 * nothing inline and nothing foreign runs. Images come from any web host (link previews,
 * attachment URLs wherever the blob engine serves them), data: (the favicon, ThumbHash
 * placeholders) and blob: (previews of files being uploaded). Avatars set `style` through
 * the CSSOM (Preact assigns `el.style.*`), which CSP does not govern, so no 'unsafe-inline'.
 * The service worker (/sw.js, notifications) is this origin's too: `worker-src 'self'`,
 * spelled out although default-src already says it, so tightening default-src later
 * cannot silently break push.
 */
export function contentSecurityPolicy(blobOrigins: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "img-src 'self' https: http: data: blob:",
    ["connect-src 'self'", ...blobOrigins].join(' '),
    "style-src 'self'",
    "worker-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** Paths owned by the server itself: the web client never answers under them. */
const reserved = /^\/(?:api|healthz|readyz|metrics|ws|lp)(?:\/|$)/;

/** `blobOrigins`: see `contentSecurityPolicy`. */
export function webRoutes(dir: string = defaultWebDir, blobOrigins: readonly string[] = []): ExpressRouter {
  const r = ExpressRouter();
  const policy = contentSecurityPolicy(blobOrigins);
  const built = existsSync(join(dir, 'index.html'));
  r.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || reserved.test(req.path)) {
      next();
      return;
    }
    if (!built && req.path === '/') {
      res.status(503).type('text/plain').send('The web client is not built: run `npm run build`.\n');
      return;
    }
    next();
  });
  if (!built) return r;
  // The bundle's file names are fixed (app.js, app.css), so nothing may be cached
  // without asking: `no-cache` revalidates with the ETag / Last-Modified on each load,
  // a cheap 304 when nothing changed and never a stale script after a deploy.
  r.use(
    express.static(dir, {
      index: 'index.html',
      etag: true,
      lastModified: true,
      redirect: false,
      setHeaders: (res) => {
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Content-Security-Policy', policy);
      },
    }),
  );
  return r;
}

/**
 * /metrics: the Prometheus scrape endpoint, on the same port as the API. Its figures name
 * internals (engines, ring, failures) an operator would not publish, so with METRICS_TOKEN
 * set it answers only a scraper that presents the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Registry } from 'prom-client';

/**
 * The handler of GET /metrics. With `token` null it is public; otherwise a request without
 * `Authorization: Bearer <token>` gets 401 `unauthorized` with a JSON body and a
 * `WWW-Authenticate` challenge, before any metric is collected.
 */
export function metricsRoute(metrics: { registry: Registry }, token: string | null): RequestHandler {
  const expected = token ? digest(token) : null;
  return async (req, res) => {
    if (expected !== null && !presents(req.headers.authorization, expected)) {
      res.setHeader('www-authenticate', 'Bearer realm="metrics"');
      res.status(401).json({ error: { code: 'unauthorized', message: 'metrics need Authorization: Bearer <METRICS_TOKEN>' } });
      return;
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}

// Both sides are hashed first so timingSafeEqual compares equal lengths: the time taken
// tells nothing about the token, not even its length.
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function presents(header: string | undefined, expected: Buffer): boolean {
  const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  return m !== null && timingSafeEqual(digest(m[1]), expected);
}

/**
 * The REST routes the express app registers, read from its router stack, so that the
 * fuzzer and the authorization matrix can fail when a route has no entry of theirs.
 */
import { createApi, type ApiOptions } from '../../src/api';
import { defaultLimits } from '../../src/protocol';

/** "METHOD /path" with the mount prefix, e.g. "POST /api/v1/conversations/:id/messages". */
export type RouteKey = string;

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
}

/**
 * Builds the app as the server does and walks its stack. Building touches only `limits`,
 * the logger and the cursor secret (every other option is read per request), so a
 * stand-in suffices here.
 */
export function registeredRoutes(): RouteKey[] {
  const stub = { limits: defaultLimits, obs: { logger: {} }, webDir: '/nonexistent', cursorSecret: 'routes-stand-in' } as unknown as ApiOptions;
  const app = createApi(stub) as unknown as { router: { stack: Layer[] } };
  const found: RouteKey[] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') found.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
        }
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk(app.router.stack, '');
  return [...new Set(found)].sort();
}

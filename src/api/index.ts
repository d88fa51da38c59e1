/**
 * API module: REST over express 5 under /api/v1 (README, "Protocol and API"), plus /healthz,
 * /readyz and /metrics.
 */
import express, { type Express } from 'express';
import type { Limits } from '../protocol';
import type { Store } from '../store';
import type { Router } from '../cluster';
import type { ConversationReads, ConversationService } from '../conversations';
import type { Intake } from '../intake';
import type { Presence } from '../presence';
import type { Bus } from '../bus';
import type { Authenticator, TokenService } from '../auth';
import type { LoginThrottle, RateLimiter } from '../ratelimit';
import type { EngineFailures, Observability, ReadinessState } from '../observability';
import { errorHandler, wellFormedBody } from './http';
import { userRoutes } from './users';
import { accountRoutes } from './account';
import { conversationRoutes } from './conversations';
import { webRoutes } from './web';
import { attachmentRoutes } from './attachments';
import type { AttachmentService } from '../attachments';
import type { PushTarget } from '../store';
import { pushRoutes } from './push';
import { metricsRoute } from './metrics';

/** What the REST layer needs of push. */
export interface PushApi {
  /** For browsers' PushManager.subscribe; null when Web Push is off. */
  vapidPublicKey: string | null;
  /** Target kinds this server sends to. */
  providers: PushTarget['provider'][];
  /** Rejects with a ProtocolError when the target is one this server must not call (SSRF rules). */
  checkTarget(target: PushTarget): Promise<void>;
  /** A device of the user was registered (stored): every shard may push to them again. */
  registered(userId: string): void;
}

export interface ApiOptions {
  store: Store;
  router: Router;
  /** Conversation commands, validated and answered as over WebSocket. */
  intake: Intake;
  reads: ConversationReads;
  conversations: ConversationService;
  presence: Presence;
  bus: Bus;
  tokens: TokenService;
  /** Checks that a request's token still counts (every authenticated route). */
  auth: Authenticator;
  /** How long a deleted account's username stays reserved (ms). */
  usernameReserveMs: number;
  /** Per-address limiter of registrations (its own: failed logins must not block signing up). */
  registerLimiter: RateLimiter;
  /** Per-address limiter of login attempts. */
  loginLimiter: RateLimiter;
  /** Per-account backoff of password attempts (login, deleting the account), from any address. */
  loginThrottle: LoginThrottle;
  /** Whether a peer is a reverse proxy whose X-Forwarded-For names the client (TRUST_PROXY): sets req.ip. */
  trustProxy?: (address: string) => boolean;
  /** Per-user limiter of people searches (GET /users/search). */
  searchLimiter: RateLimiter;
  /** Display-name changes per user (PATCH /me). */
  renameLimiter: RateLimiter;
  /** The token secret: page cursors are sealed under a key derived from it (shared by every shard). */
  cursorSecret: string;
  /** Per-user limiter for upload slots (each may take disk or bucket space until collected). */
  uploadLimiter: RateLimiter;
  limits: Limits;
  obs: Observability;
  /** Maps failures to answers (engine outages to 503 `unavailable`), logging and counting them. */
  failures: EngineFailures;
  /** /metrics asks for this bearer token; null: /metrics is public. */
  metricsToken: string | null;
  /** Not ready while starting or draining, or while an engine the shard needs is down; /readyz answers 503 then. */
  ready: () => ReadinessState;
  /** This shard's view of the ring (cluster mode), shown by /healthz; null on one shard. */
  clusterInfo: (() => { shard: string; version: string; shards: string[] }) | null;
  /** Push registration: what the server can send to; null when push is off. */
  push: PushApi | null;
  /** Uploads and downloads; null when off (a cluster on BLOB=local). */
  attachments: AttachmentService | null;
  /** The built web client to serve at `/`; defaults to `<repo>/dist/web`. */
  webDir?: string;
  /** Origins of the blob engine's URLs other than this server (`blobOrigins`): the web client may PUT uploads there. */
  blobOrigins?: string[];
}

export function createApi(opts: ApiOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // The same proxies the gateway believes: the auth limit keys on the client, not on the proxy.
  const trust = opts.trustProxy;
  if (trust) app.set('trust proxy', (address: string) => trust(address));
  app.set('etag', false);
  app.use(express.json({ limit: opts.limits.maxFrameBytes }));
  app.use(wellFormedBody);
  app.get('/healthz', (_req, res) => {
    const ring = opts.clusterInfo?.();
    res.json(ring ? { status: 'ok', shard: ring.shard, ring: { version: ring.version, shards: ring.shards } } : { status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    // Cached by the readiness probes: a probe per request would let pollers load the store.
    const { ready, down } = opts.ready();
    res.setHeader('cache-control', 'no-store');
    res.status(ready ? 200 : 503).json(ready ? { status: 'ready' } : { status: 'not ready', down });
  });
  app.get('/metrics', metricsRoute(opts.obs.metrics, opts.metricsToken));
  app.use('/api/v1', userRoutes(opts));
  app.use('/api/v1', accountRoutes(opts));
  app.use('/api/v1', conversationRoutes(opts));
  app.use('/api/v1', attachmentRoutes(opts));
  app.use('/api/v1', pushRoutes(opts));
  app.use('/api/v1', (_req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: 'no such endpoint' } });
  });
  // Last, so it shadows nothing: the web client at `/` (static files from dist/web).
  app.use(webRoutes(opts.webDir, opts.blobOrigins));
  app.use(errorHandler(opts.failures));
  return app;
}

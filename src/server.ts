/**
 * The composition root: builds the engines the config names and passes them into the
 * modules' constructors. The only place that knows every module; nothing imports it
 * but main.ts and the tests that start a real server in-process.
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { EngineFailures, Readiness, createObservability, type Observability, type OutageTest, type Probe, type ReadinessState } from './observability';
import { isEmbeddedOutage, openEmbeddedEngines } from './embedded';
import { connectCassandra, isCassandraOutage } from './cassandra';
import { CassandraStore, type Checkpointer, type Store } from './store';
import { CassandraSequencer, type Sequencer } from './sequencer';
import { RedisBus, usersTopic, type Bus } from './bus';
import { RedisPresence, type Presence, type PresenceRedis } from './presence';
import { LinkPreviewer, firstUrl } from './linkpreview';
import { MemoryBus } from './bus';
import { MemoryPresence } from './presence';
import { isNetworkError, isRedisOutage, openRedis, type RedisConnection } from './redis';
import { ConversationReads, ConversationService } from './conversations';
import { ClusterRouter, LinkPool, LinkServer, LocalRouter, Membership, RingMetrics, RedisTransport, linkPath, type MembershipRedis, type Router, type ShardTransport } from './cluster';
import { ClientAddresses, Gateway } from './gateway';
import { Intake } from './intake';
import { createApi } from './api';
import { AuthCache, Authenticator, TokenService, loadOrCreateSecret } from './auth';
import { CommandBudgets, MemoryLoginThrottle, RateLimiter, RedisLoginThrottle, defaultLoginBackoff, type LoginThrottle, type LoginThrottleRedis } from './ratelimit';
import { CloseCode, newId } from './protocol';
import { openJobs } from './jobs/engine';
import { blobOrigins, isS3Outage, LocalBlobStore, S3BlobStore, type BlobStore } from './blob';
import { MediaPool } from './media';
import { AttachmentService } from './attachments';
import { PushService, openPushProviders } from './push';
import { createHmac } from 'node:crypto';
import type { Agent as HttpsAgent } from 'node:https';

export interface RunningServer {
  /** http://host:port of the listening server. */
  url: string;
  port: number;
  /** mqtt://host:port of the MQTT listener; null when MQTT_PORT=off. */
  mqttUrl: string | null;
  shardId: string;
  obs: Observability;
  tokens: TokenService;
  /** Graceful stop: refuse new work, flush pending writes, close sockets with 1012. */
  stop(): Promise<void>;
}

export interface StartServerOptions {
  silentLogs?: boolean;
  /**
   * The agent firebase-admin's requests (the OAuth token exchange and FCM sends) go through;
   * tests route it to a local endpoint. Not configuration: production uses the defaults.
   */
  pushHttpAgent?: HttpsAgent;
  /**
   * Wraps the durable store every module gets; tests make it fail on demand (an outage the
   * clients must not be blamed for). Not configuration: production uses the store as opened.
   */
  wrapStore?: (store: Store) => Store;
  /** As wrapStore, for the sequencer (a send that needs a new seq range during an outage). */
  wrapSequencer?: (sequencer: Sequencer) => Sequencer;
}

export async function startServer(config: Config, opts: StartServerOptions = {}): Promise<RunningServer> {
  const shardId = config.shardId ?? newId('shard');
  const obs = createObservability({ level: config.logLevel, shardId, silent: opts.silentLogs });
  mkdirSync(config.dataDir, { recursive: true });

  const engines = await openEngines(config);
  const { checkpointer, writerThread, closeEngines } = engines;
  const shared = await openSharedState(config, shardId);
  const { bus } = shared;
  // Every engine call's failure is classified where the engine is known (docs/protocol.md,
  // "Errors"): an outage answers `unavailable` with a retry hint, anything else `internal`;
  // both are logged (throttled) and counted in chat_engine_failures_total.
  const storeOutage: OutageTest = config.store === 'cassandra' ? (err) => isCassandraOutage(err) || isNetworkError(err) : isEmbeddedOutage;
  // At the edges (engines not wrapped: the blob store, the bus), any engine's outage.
  const failures = new EngineFailures(obs.logger, obs.metrics.engineFailures, (err) => storeOutage(err) || isRedisOutage(err) || isS3Outage(err) || isNetworkError(err));
  const rawStore = opts.wrapStore ? opts.wrapStore(engines.store) : engines.store;
  const store = failures.guard(rawStore, 'store', storeOutage);
  const sequencer = failures.guard(opts.wrapSequencer ? opts.wrapSequencer(engines.sequencer) : engines.sequencer, 'sequencer', storeOutage);
  const presence = shared.redis === null ? shared.presence : failures.guard(shared.presence, 'presence', isRedisOutage);
  const secret = loadOrCreateSecret(config.jwtSecret, config.dataDir);
  const tokens = new TokenService(secret, config.tokenTtlSeconds);
  const budgets = new CommandBudgets(config.rateLimitPerSecond, config.rateLimitBurst);
  // One per shard, shared by REST and the gateway; the gateway keeps it current from the bus.
  const auth = new Authenticator(tokens, new AuthCache(store, { ttlMs: config.authCacheTtlMs, recheckMs: config.authRecheckMs, maxEntries: authCacheEntries }));
  // Per address, registration and login apart: failed logins must not block signing up.
  const { register, login } = config.addressLimits;
  const registerLimiter = new RateLimiter(register.perSecond, register.burst);
  const loginLimiter = new RateLimiter(login.perSecond, login.burst);
  // Per account, from every address; on Redis every shard counts together.
  const loginBackoff = { ...defaultLoginBackoff, freeAttempts: config.loginBackoff.freeAttempts, maxMs: config.loginBackoff.maxMs };
  const memoryThrottle = shared.redis === null ? new MemoryLoginThrottle(loginBackoff) : null;
  const loginThrottle: LoginThrottle = memoryThrottle ?? failures.guard(new RedisLoginThrottle(shared.redis as SharedRedis, loginBackoff, config.redis.prefix), 'login_throttle', isRedisOutage);
  // A photo album at once, then a couple per second: each slot may take space until collected.
  const uploadLimiter = new RateLimiter(2, 30);
  const searchLimiter = new RateLimiter(config.searchLimit.perSecond, config.searchLimit.burst);
  // Renames: a few at once, then one a minute. Each rewrites the user's search index rows,
  // and on Cassandra every removed row is a tombstone in a shared partition.
  const renameLimiter = new RateLimiter(1 / 60, 5);
  // Full buckets are dropped now and then, so one bucket per address or user seen does not stay forever.
  const limiterSweep = setInterval(() => {
    registerLimiter.sweep();
    loginLimiter.sweep();
    memoryThrottle?.sweep();
    uploadLimiter.sweep();
    searchLimiter.sweep();
    renameLimiter.sweep();
  }, 60_000);
  limiterSweep.unref();

  const lp = config.linkPreviews;
  const previewer = lp.enabled
    ? new LinkPreviewer({ allow: lp.allow, timeoutMs: lp.timeoutMs, maxBytes: lp.maxBytes, maxRedirects: lp.maxRedirects, concurrency: 4 }, obs.logger)
    : null;
  const conversations = new ConversationService({
    store,
    sequencer,
    bus,
    presence,
    limits: config.limits,
    logger: obs.logger,
    metrics: obs.metrics,
    markerFlushMs: config.markerFlushMs,
    actorIdleMs: config.actorIdleMs,
    editWindowMs: config.editWindowMs,
    // Well before the collector takes an unsent upload (an hour, or half the time if shorter).
    attachmentSendWindowMs: config.attachments.unsentTtlMs - Math.min(3600_000, config.attachments.unsentTtlMs / 2),
    linkPreviews: previewer && {
      forBody: (body) => {
        const url = firstUrl(body);
        return url === null ? null : previewer.preview(url);
      },
    },
  });
  const reads = new ConversationReads(store, () => conversations.flushMarkers());
  const jobs = openJobs(config, {
    connectionName: shardId,
    onFailed: (f) => obs.logger.error('job dropped after its last attempt', { queue: f.queue, id: f.id, attempts: f.attempts, err: f.error }),
    onError: (err) => obs.logger.error('jobs engine error', { err }),
  });
  // Known once listening (PORT=0 in tests): the local blob URLs name this address.
  let listeningUrl = '';
  const blobs = await openBlobs(config, secret, () => listeningUrl);
  // With Redis, this process is one shard of a ring: commands go to each conversation's owner.
  let router: Router = new LocalRouter(conversations);
  let clusterRouter: ClusterRouter | null = null;
  let membership: Membership | null = null;
  const links = shared.redis === null ? null : await openShardTransport(config, shardId, secret);
  if (shared.redis !== null && links !== null) {
    membership = new Membership({
      redis: shared.redis,
      prefix: config.redis.prefix,
      // The URL is known once listening; filled in before start().
      self: { id: shardId, url: '', since: Date.now() },
      heartbeatMs: config.cluster.heartbeatMs,
      ttlMs: config.cluster.shardTtlMs,
    });
    clusterRouter = new ClusterRouter({
      selfId: shardId,
      membership,
      links,
      conversations,
      logger: obs.logger,
      retryMs: config.cluster.retryMs,
      metrics: new RingMetrics(obs.metrics.registry, shardId),
      refusal: (err, where) => failures.refusal(err, where),
    });
    router = clusterRouter;
  }
  // Links are served on this HTTP server's upgrade path; Redis requests on the shard's channel.
  const linkServer = clusterRouter && links instanceof LinkPool ? new LinkServer(secret, clusterRouter) : null;
  if (clusterRouter && links instanceof RedisTransport) await links.serve(clusterRouter);
  const media = new MediaPool({ threads: config.mediaWorkers === 0 ? undefined : config.mediaWorkers, maxPixels: config.attachments.maxPixels });
  // Files on one shard's disk cannot serve the other shards' clients: a cluster needs S3.
  const attachmentsOn = !(config.bus === 'redis' && config.blob.engine === 'local');
  if (!attachmentsOn) obs.logger.warn('attachments are off: BUS=redis needs BLOB=s3');
  const attachments = attachmentsOn
    ? new AttachmentService({
        store,
        blobs,
        media,
        jobs,
        route: (cmd) => router.dispatch(cmd),
        logger: obs.logger,
        limits: config.attachments,
        maxPixels: config.attachments.maxPixels,
        uploadTtlSeconds: config.attachments.uploadTtlSeconds,
        urlTtlSeconds: config.attachments.urlTtlSeconds,
        unsentTtlMs: config.attachments.unsentTtlMs,
        gcIntervalMs: config.attachments.gcIntervalMs,
      })
    : null;
  if (attachments) conversations.useAttachments(attachments);
  const pushProviders = openPushProviders(config, { fcmHttpAgent: opts.pushHttpAgent, onWorkerLost: (why) => obs.logger.warn('push worker thread lost; the next push starts another', { why }) });
  const push = new PushService({
    store,
    presence,
    jobs,
    senders: pushProviders.senders,
    logger: obs.logger,
    counters: { sent: (provider, result) => obs.metrics.pushes.inc({ provider, result }), window: () => obs.metrics.pushWindows.inc() },
  });
  conversations.usePush(push);
  // Registrations made on any shard reach every shard's PushService, so a user who had no
  // device opens push windows again at once (src/push/reach.ts); after a bus outage some
  // may have been missed, so everything known of "no device" is forgotten.
  await bus.subscribe(usersTopic, (msg) => {
    if (msg.t === 'push_registered') push.registered(msg.user_id);
  });
  bus.onGap(() => push.forgetReach());
  let ready = false;
  // What the shard cannot serve without, probed every second (not per /readyz request).
  const probes: Probe[] = [{ name: 'store', check: () => rawStore.probe() }];
  if (shared.redis !== null) {
    const redis = shared.redis;
    probes.push({ name: 'bus', check: () => bus.connected() }, { name: 'redis', check: () => redis.status === 'ready' });
  }
  const readiness = new Readiness(probes, { gauge: obs.metrics.engineUp, logger: obs.logger });
  const readyState = (): ReadinessState => (ready ? readiness.state() : { ready: false, down: ['shard'] });
  // One intake for WebSocket, long-poll and REST: the same schema, limits and answers.
  const intake = new Intake({ router, budgets, limits: config.limits, ackLatency: obs.metrics.ackLatency });

  // REST's per-address auth limit believes the same proxies as the gateway's opening limits.
  const proxies = new ClientAddresses(config.trustProxy);
  const app = createApi({
    store,
    router,
    intake,
    reads,
    conversations,
    presence,
    bus,
    tokens,
    auth,
    usernameReserveMs: config.usernameReserveMs,
    registerLimiter,
    searchLimiter,
    renameLimiter,
    cursorSecret: secret,
    loginLimiter,
    loginThrottle,
    trustProxy: config.trustProxy.length > 0 ? (address) => proxies.isTrusted(address) : undefined,
    uploadLimiter,
    limits: config.limits,
    obs,
    failures,
    ready: readyState,
    metricsToken: config.metricsToken,
    attachments,
    push: {
      vapidPublicKey: pushProviders.vapidPublicKey,
      providers: Object.keys(pushProviders.senders) as ('webpush' | 'fcm')[],
      checkTarget: (t) => pushProviders.checkTarget(t),
      registered: (userId) => {
        push.registered(userId);
        bus.publish(usersTopic, { t: 'push_registered', user_id: userId });
      },
    },
    blobOrigins: blobOrigins(config.blob),
    clusterInfo: membership ? () => ({ shard: shardId, version: membership.ring.version, shards: [...membership.ring.shards] }) : null,
  });
  const gateway = new Gateway({
    gatewayId: shardId,
    upgrades: linkServer ? { [linkPath]: (req, socket, head) => linkServer.upgrade(req, socket, head) } : undefined,
    limits: config.limits,
    heartbeatMs: config.heartbeatMs,
    connectTimeoutMs: config.connectTimeoutMs,
    maxSocketBufferBytes: config.maxSocketBufferBytes,
    replayLimit: config.replayLimit,
    intake,
    reads,
    store,
    presence,
    bus,
    tokens,
    budgets,
    admission: { ...config.admission, trustProxy: config.trustProxy },
    auth,
    obs,
    failures,
    mqtt: config.mqtt === null ? null : { maxKeepAliveS: config.mqtt.maxKeepAliveS },
  });
  // Long-poll (/lp) is served in front of express: its answers are built from the frames'
  // bytes and must not pass through express's body parser or JSON serializer.
  const http: Server = createServer((req, res) => {
    if (gateway.longPoll.handle(req, res)) return;
    // Blob URLs of BLOB=local: bodies are streamed to disk, never parsed.
    if (blobs instanceof LocalBlobStore && blobs.handle(req, res)) return;
    // While draining, the listener stays open so long-poll clients can still fetch their
    // 1012, but nothing new may reach the stopping actors: REST answers 503 (health,
    // readiness and metrics stay readable).
    if (gateway.isDraining() && !isHealthPath(req.url)) {
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error: { code: 'unavailable', message: 'shard restarting' } }));
      return;
    }
    app(req, res);
  });
  // Requests node's parser refuses before any handler sees them (headers over its 16 KiB
  // limit, a malformed request line) get a JSON error like every other refusal of the API,
  // instead of node's bare status line.
  http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    if (err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, reason, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'too_large', 'request headers too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'bad_request', 'request not received in time']
          : [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
    const body = JSON.stringify({ error: { code, message } });
    // Destroyed once written: the client may keep its side open, and a socket per bad
    // request must not stay behind.
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });
  await gateway.attach(http);
  conversations.start();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const mqttUrl = config.mqtt === null ? null : `mqtt://${host}:${await gateway.listenMqtt(config.mqtt.port, config.host)}`;
  listeningUrl = `http://${host}:${port}`;
  attachments?.start();
  if (membership) {
    membership.self.url = config.cluster.advertiseUrl ?? `http://${host}:${port}`;
    await membership.start();
  }
  await readiness.start();
  ready = true;
  obs.logger.info('listening', {
    url: `http://${host}:${port}`,
    ws: `ws://${host}:${port}/ws`,
    longpoll: `http://${host}:${port}/lp`,
    mqtt_url: mqttUrl,
    mqtt_ws: mqttUrl === null ? null : `ws://${host}:${port}/mqtt`,
    data_dir: config.dataDir,
    background_checkpoints: checkpointer !== null,
    writer_thread: writerThread,
  });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false;
      readiness.stop();
      clearInterval(limiterSweep);
      obs.logger.info('stopping: draining writes, then closing sockets with 1012');
      gateway.drain();
      // Peers' commands are refused (they retry) while what was accepted commits and fans
      // out; only then does this shard leave the ring, so a new owner never sequences
      // ahead of events this one has yet to deliver.
      clusterRouter?.drain();
      await previewer?.close(); // fetches in flight would only append after the drain
      await attachments?.stop();
      await push.stop(); // open windows are queued as jobs before the conversations stop
      await conversations.stop(); // ACKs of everything in flight go out before the sockets close
      // The last DELIVERs are in Redis before the next owner can publish any (bounded: a
      // stalled Redis must not keep a stopping shard in the ring).
      await Promise.race([bus.flush(), new Promise((r) => setTimeout(r, 5000).unref())]);
      await membership?.stop();
      await gateway.closeAll();
      // Not before: in Node 20 close() also drops idle keep-alive connections, and a
      // long-poll client between two polls would miss its 1012.
      http.close();
      http.closeAllConnections();
      linkServer?.close();
      await links?.close();
      await jobs.close(); // running handlers may still write to the store
      await pushProviders.close();
      await Promise.all([bus.close(), presence.close(), sequencer.close(), checkpointer?.stop(), media.close(), blobs.close()]);
      await store.close();
      await closeEngines();
      await shared.close();
      obs.logger.info('stopped', { close_code: CloseCode.restarting });
      obs.close();
    })();
    return stopping;
  };

  return { url: `http://${host}:${port}`, port, mqttUrl, shardId, obs, tokens, stop };
}

/**
 * Users whose auth state a shard caches: a few hundred bytes each, so tens of MB at most,
 * and far more than the users active within a TTL on one shard or connected to it (33,000-
 * 47,000 per shard in docs/capacity.md): a connected user's entry pushed out is read again
 * at the next heartbeat instead of once per AUTH_RECHECK_MS.
 */
const authCacheEntries = 100_000;

/** The blob engine BLOB names; the local one signs its URLs with a key derived from the token secret. */
async function openBlobs(config: Config, secret: string, listeningUrl: () => string): Promise<BlobStore> {
  const b = config.blob;
  if (b.engine === 's3') {
    return S3BlobStore.open({ endpoint: b.endpoint, region: b.region, bucket: b.bucket, accessKey: b.accessKey, secretKey: b.secretKey, pathStyle: b.pathStyle });
  }
  // A separate key per use: a blob URL's signature must never double as anything else's.
  const key = createHmac('sha256', secret).update('relay blob URLs v1').digest();
  return new LocalBlobStore({
    dir: join(config.dataDir, 'blobs'),
    secret: key,
    publicUrl: b.publicUrl ?? listeningUrl,
    maxPutBytes: Math.max(config.attachments.maxImageBytes, config.attachments.maxFileBytes),
  });
}

interface Engines {
  store: Store;
  sequencer: Sequencer;
  checkpointer: Checkpointer | null;
  writerThread: boolean;
  /** Releases what the store and sequencer borrowed (the Cassandra connection). */
  closeEngines: () => Promise<void>;
}

/** The durable engines STORE names: SQLite in DATA_DIR, or Cassandra shared by the shards. */
async function openEngines(config: Config): Promise<Engines> {
  if (config.store === 'cassandra') {
    const db = await connectCassandra(config.cassandra);
    const store = await CassandraStore.open(db);
    const sequencer = await CassandraSequencer.open(db);
    return { store, sequencer, checkpointer: null, writerThread: false, closeEngines: () => db.close() };
  }
  const embedded = await openEmbeddedEngines({
    file: join(config.dataDir, 'chat.db'),
    synchronous: config.sqliteSync,
    writerThread: config.sqliteWriter === 'thread',
  });
  return { ...embedded, closeEngines: async () => undefined };
}

/** CLUSTER_TRANSPORT: direct links to peers (default), or request/reply over Redis. */
async function openShardTransport(config: Config, shardId: string, secret: string): Promise<ShardTransport> {
  // A peer that does not answer within the retry budget is treated as gone.
  if (config.clusterTransport === 'links') return new LinkPool(shardId, secret, config.cluster.retryMs);
  return RedisTransport.connect({ url: config.redis.url, prefix: config.redis.prefix, selfId: shardId, requestTimeoutMs: config.cluster.retryMs });
}

/** The one command connection presence, membership and the login throttle share, and closing it. */
type SharedRedis = PresenceRedis & MembershipRedis & LoginThrottleRedis & RedisConnection;

interface SharedState {
  bus: Bus;
  presence: Presence;
  /** The Redis connection of presence and membership; null on the in-process engines. */
  redis: SharedRedis | null;
  close: () => Promise<void>;
}

/** Bus, presence and the socket map: in this process, or in Redis for a cluster of shards. */
async function openSharedState(config: Config, shardId: string): Promise<SharedState> {
  if (config.bus !== 'redis') {
    return { bus: new MemoryBus(), presence: new MemoryPresence(), redis: null, close: async () => undefined };
  }
  const bus = await RedisBus.connect({ url: config.redis.url, prefix: config.redis.prefix, connectionName: `${shardId}:bus` });
  const redis = await openRedis<SharedRedis>(config.redis.url, `${shardId}:state`);
  const presence = new RedisPresence(redis, { prefix: config.redis.prefix });
  return { bus, presence, redis, close: async () => void (await redis.quit()) };
}

/** Paths a draining shard still answers normally (probes and scrapes). */
function isHealthPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?')[0];
  return path === '/healthz' || path === '/readyz' || path === '/metrics';
}

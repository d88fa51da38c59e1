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
import { createObservability, type Observability } from './observability';
import { openEmbeddedEngines } from './embedded';
import { LinkPreviewer, firstUrl } from './linkpreview';
import { MemoryBus } from './bus';
import { MemoryPresence } from './presence';
import { ConversationReads, ConversationService } from './conversations';
import { LocalRouter } from './cluster';
import { Gateway } from './gateway';
import { createApi } from './api';
import { TokenService, loadOrCreateSecret } from './auth';
import { RateLimiter } from './ratelimit';
import { CloseCode, newId } from './protocol';

export interface RunningServer {
  /** http://host:port of the listening server. */
  url: string;
  port: number;
  shardId: string;
  obs: Observability;
  tokens: TokenService;
  /** Graceful stop: refuse new work, flush pending writes, close sockets with 1012. */
  stop(): Promise<void>;
}

export async function startServer(config: Config, opts: { silentLogs?: boolean } = {}): Promise<RunningServer> {
  const shardId = config.shardId ?? newId('shard');
  const obs = createObservability({ level: config.logLevel, shardId, silent: opts.silentLogs });
  mkdirSync(config.dataDir, { recursive: true });

  const { store, sequencer, checkpointer, writerThread } = await openEmbeddedEngines({
    file: join(config.dataDir, 'chat.db'),
    synchronous: config.sqliteSync,
    writerThread: config.sqliteWriter === 'thread',
  });
  const bus = new MemoryBus();
  const presence = new MemoryPresence();
  const tokens = new TokenService(loadOrCreateSecret(config.jwtSecret, config.dataDir), config.tokenTtlSeconds);
  const limiter = new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst);
  const authLimiter = new RateLimiter(5, 20);

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
    linkPreviews: previewer && {
      forBody: (body) => {
        const url = firstUrl(body);
        return url === null ? null : previewer.preview(url);
      },
    },
  });
  const reads = new ConversationReads(store, () => conversations.flushMarkers());
  const router = new LocalRouter(conversations);
  let ready = false;

  const app = createApi({
    store,
    router,
    reads,
    conversations,
    presence,
    bus,
    tokens,
    limiter,
    authLimiter,
    limits: config.limits,
    obs,
    ready: () => ready,
  });
  const http: Server = createServer(app);
  const gateway = new Gateway({
    gatewayId: shardId,
    limits: config.limits,
    heartbeatMs: config.heartbeatMs,
    connectTimeoutMs: config.connectTimeoutMs,
    maxSocketBufferBytes: config.maxSocketBufferBytes,
    replayLimit: config.replayLimit,
    router,
    reads,
    store,
    presence,
    bus,
    tokens,
    limiter,
    obs,
  });
  gateway.attach(http);
  conversations.start();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  ready = true;
  obs.logger.info('listening', {
    url: `http://${host}:${port}`,
    ws: `ws://${host}:${port}/ws`,
    data_dir: config.dataDir,
    background_checkpoints: checkpointer !== null,
    writer_thread: writerThread,
  });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ready = false;
      obs.logger.info('stopping: draining writes, then closing sockets with 1012');
      gateway.drain();
      http.close();
      await previewer?.close(); // fetches in flight would only append after the drain
      await conversations.stop(); // ACKs of everything in flight go out before the sockets close
      await gateway.closeAll();
      http.closeAllConnections();
      await Promise.all([bus.close(), presence.close(), sequencer.close(), checkpointer?.stop()]);
      await store.close();
      obs.logger.info('stopped', { close_code: CloseCode.restarting });
    })();
    return stopping;
  };

  return { url: `http://${host}:${port}`, port, shardId, obs, tokens, stop };
}

/**
 * Observability: JSON logs (winston) and Prometheus metrics (prom-client). Each process
 * builds one Observability in the composition root and passes it down; there are no
 * module-level singletons, so tests can run several servers in one process.
 */
import winston from 'winston';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerEventLoopDelay } from './event-loop-delay';

/** The logger interface modules use. Never log message bodies or tokens at info level. */
export type Logger = winston.Logger;

/** Metrics every module may update. */
export interface Metrics {
  registry: Registry;
  connections: Gauge;
  longPollSessions: Gauge;
  mqttSessions: Gauge;
  events: Counter;
  ackLatency: Histogram;
  liveActors: Gauge;
  deliveries: Counter;
  frameErrors: Counter<'code'>;
  commitBatch: Histogram;
  /** Push provider answers (and dead letters), by provider and result. */
  pushes: Counter<'provider' | 'result'>;
  /** Push windows opened (one per conversation per burst with someone who may be pushed). */
  pushWindows: Counter;
  /** Failed engine calls, by engine, call and answer (`unavailable`: an outage; `internal`: a bug). */
  engineFailures: Counter<'engine' | 'op' | 'code'>;
  /** 1 while the engine's readiness probe passes. */
  engineUp: Gauge<'engine'>;
}

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  /** Stops the event-loop delay sampler (chat_event_loop_delay_seconds); logs still work. */
  close(): void;
}

export function createObservability(opts: { level: string; shardId: string; silent?: boolean }): Observability {
  const logger = winston.createLogger({
    level: opts.level,
    silent: opts.silent ?? false,
    defaultMeta: { shard: opts.shardId },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const stopLoopDelay = registerEventLoopDelay(registry, 10);
  const metrics: Metrics = {
    registry,
    connections: new Gauge({ name: 'chat_connections', help: 'open client sessions (after CONNECT)', registers: [registry] }),
    longPollSessions: new Gauge({ name: 'chat_longpoll_sessions', help: 'open long-poll sessions (also counted in chat_connections once connected)', registers: [registry] }),
    mqttSessions: new Gauge({ name: 'chat_mqtt_sessions', help: 'open MQTT connections, over TCP and over WebSocket (also counted in chat_connections once connected)', registers: [registry] }),
    events: new Counter({ name: 'chat_events_total', help: 'events committed to conversation logs', registers: [registry] }),
    ackLatency: new Histogram({
      name: 'chat_ack_latency_seconds',
      help: 'time from an ACKed command (SEND, REACT, EDIT, DELETE; socket or REST) reaching the intake to its ACK being ready',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    liveActors: new Gauge({ name: 'chat_live_actors', help: 'conversation actors in memory', registers: [registry] }),
    deliveries: new Counter({ name: 'chat_deliveries_total', help: 'DELIVER frames written to sockets', registers: [registry] }),
    frameErrors: new Counter({ name: 'chat_frame_errors_total', help: 'ERROR frames sent, by code', labelNames: ['code'], registers: [registry] }),
    commitBatch: new Histogram({
      name: 'chat_commit_batch_size',
      help: 'events per group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    pushWindows: new Counter({ name: 'chat_push_windows_total', help: 'push windows opened: a conversation burst with a recipient who may have a device', registers: [registry] }),
    pushes: new Counter({
      name: 'chat_push_total',
      help: 'push sends by provider and result (sent, gone, retry, failed, dead_letter)',
      labelNames: ['provider', 'result'],
      registers: [registry],
    }),
    engineFailures: new Counter({
      name: 'chat_engine_failures_total',
      help: 'failed engine calls by engine, operation and the code answered (unavailable: outage; internal: bug)',
      labelNames: ['engine', 'op', 'code'],
      registers: [registry],
    }),
    engineUp: new Gauge({ name: 'chat_engine_up', help: '1 while the engine passes its readiness probe', labelNames: ['engine'], registers: [registry] }),
  };
  return { logger, metrics, close: stopLoopDelay };
}

export { ContentionError, EngineFailures, outageRetryAfterMs, type OutageTest } from './failures';
export { Readiness, type Probe, type ReadinessState } from './readiness';

/**
 * The shape of a bench run's results: the rows of the printed table (with PASS/FAIL where
 * the issue sets a target) and the per-scenario data the HTML report plots. Written as
 * JSON to bench/results/<timestamp>.json and latest.json.
 */
import type { HistogramData, Percentiles } from './histogram';
import type { FloorResult } from './image-floor';
import type { Transport } from './ipc';
import type { ImageRunResult } from './lg-images';
import type { EncodedFrame, KeepaliveBytes, MessageBytes } from './lg-wire';
import type { FloorRun } from './push-floor';
import type { ProfileSummary } from './profile';

export interface Row {
  scenario: string;
  metric: string;
  unit: string;
  ours: number | null;
  baseline: number | null;
  /** ours / baseline, when both were measured. */
  ratio: number | null;
  /** The target in words (e.g. "≤ 10 KB"), or null for an informational row. */
  target: string | null;
  pass: boolean | null;
  note?: string;
  /** Printed as INFO in the result column: a comparison with no target (S8). */
  info?: boolean;
}

export interface Pair<T> {
  ours: T | null;
  baseline: T | null;
}

export interface DensityRun {
  connections: number;
  failed: number;
  measuredConnections: number;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  rssPerConn: number;
  heapPerConn: number;
  connectSeconds: number;
  /** Server CPU spent while the measured connections were opened, per connection. */
  cpuUsPerConnect: number;
}

/** S11: one kind of server as K processes, each holding its share of the idle connections. */
export interface DensityScaleRun {
  shards: number;
  connections: number;
  failed: number;
  failures: Record<string, number>;
  /** Per shard: connections measured (opened after the warm ones), VmRSS and heap growth per connection, VmRSS at full. */
  perShard: { connections: number; measured: number; rssPerConn: number; heapPerConn: number; rssAfter: number; sessions: number | null }[];
  /** Growth summed over the shards / measured connections summed. */
  rssPerConn: number;
  heapPerConn: number;
  rssTotal: number;
  /** Machine-wide growth of slab and TCP buffer memory per connection (client and server socket both here). */
  kernelPerConn: number;
  /** Growth of the machine's TCP sockets per connection (2 when nothing else changed). */
  tcpSocketsPerConn: number;
  connectSeconds: number;
  idle: {
    windowSec: number;
    /** Server CPU over the window, all shards, µs. */
    serverCpuUs: number;
    /** Server CPU per 10,000 connections per minute, ms. */
    msPer10kPerMin: number;
    /** Heartbeat pings the clients received in the window, per connection. */
    pingsPerConn: number;
    /** Server CPU per ping answered (the sweep's whole cost over its pings), µs. */
    cpuUsPerPing: number;
    loadgenCpuPct: number;
    otherCpuPct: number;
    /** Sessions open at the load generators at the window's edges, and those closed after CONNACK (by close code). */
    openBefore: number;
    openAfter: number;
    closes: Record<string, { n: number; firstSec: number; lastSec: number }>;
  };
}

/** What every traffic phase reports. */
export interface PhaseRun {
  windowSec: number;
  sentInWindow: number;
  ackedPerSec: number;
  deliveredPerSec: number;
  /** Server CPU µs per DELIVER frame received by the load generators in the window. */
  cpuUsPerDelivery: number;
  /** Server CPU as % of one core during the window. */
  serverCpuPct: number;
  /** All load generators' CPU as % of one core during the window. */
  loadgenCpuPct: number;
  /** CPU used by processes outside the bench during the window (other work on the machine). */
  otherCpuPct: number;
  latency: Percentiles;
  latencyHist: HistogramData;
  ackLatency: Percentiles;
  errors: Record<string, number>;
  /** Sends of the window with no DELIVER by the end of the drain (open loop). */
  undelivered: number;
  /** Bytes the server wrote to storage in the window per ACKed message (WAL and checkpoints). */
  diskBytesPerAck: number;
  /** Ours: the server's event-loop delay during the window (loop-delay.ts); absent for the relay. */
  loopDelay?: LoopDelay | null;
  /** Ours: mean events per group commit in the window (chat_commit_batch_size). */
  eventsPerCommit?: number | null;
  /** S7: CPU of the shared engines (Redis and Cassandra) per delivered message, µs. */
  engineCpuUsPerDelivery?: number;
  /** S8 over long-poll: GET poll and POST send requests the load generators issued in the window. */
  lpPolls?: number;
  lpSends?: number;
}

/** Event-loop delay over a window: one sample per 10 ms timer run, ms beyond the timer's interval. */
export interface LoopDelay {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

/** S8, S12: idle sessions of one transport on a fresh server, measured as S1 measures connections. */
export interface IdleRun {
  transport: Transport;
  sessions: number;
  failed: number;
  /** Sessions opened between the two measurements (all but the warm-up). */
  measured: number;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  rssPerSession: number;
  heapPerSession: number;
  /** Growth of the server's open file descriptors (sockets) per measured session. */
  fdsPerSession: number;
  /** chat_connections on the server once all were open. */
  serverSessions: number | null;
}

/** S8: the same open-loop 1:1 traffic over WebSocket and over long-poll, on our server. */
export interface TransportRuns {
  rate: number;
  ws: PhaseRun | null;
  longpoll: PhaseRun | null;
  idleWs: IdleRun | null;
  idleLongpoll: IdleRun | null;
}

/** S12: MQTT against WebSocket on our server (long-poll too, for the bytes on the wire). */
export interface MqttRuns {
  rate: number;
  /** (a) idle sessions of each transport, a fresh server each (MQTT: the protocol CONNECT done). */
  idle: { ws: IdleRun | null; mqtt311: IdleRun | null; mqtt5: IdleRun | null };
  /**
   * (b) the same open-loop 1:1 traffic over each transport, a fresh server each: MQTT with
   * QoS 1 both ways (no SUBSCRIBE), and again at QoS 0 both ways as the SDK speaks it;
   * then WebSocket again (`wsAfter`).
   */
  traffic: { ws: PhaseRun | null; mqtt311: PhaseRun | null; mqtt5: PhaseRun | null; mqtt311Qos0: PhaseRun | null; mqtt5Qos0: PhaseRun | null; wsAfter: PhaseRun | null };
  /** (c) bytes per message per transport, on the client sockets. */
  wire: MessageBytes[];
  /** (c) bytes of one keep-alive exchange per transport, on the client socket. */
  keepalive: KeepaliveBytes[];
  /** (d) typical frames as JSON, MessagePack and CBOR. */
  encodings: EncodedFrame[];
}

/** S9: images from upload to the recipient's screen, and messaging latency beside them. */
export interface ImagesRuns {
  /** The image work in-process on one core, nothing else running (image-floor.ts). */
  floor: FloorResult | null;
  photoBytes: number;
  /** Media pool threads of the server: MEDIA_WORKERS default, one per core. */
  workers: number;
  /** Messaging alone, then messaging while the images run: same server, same clients. */
  quiet: PhaseRun | null;
  loaded: PhaseRun | null;
  images: ImageRunResult | null;
  /** Images on screen per second of the rounds' busy spans (first /complete to last display). */
  imagesPerSec: number | null;
  /** Server CPU over the image run, less the messaging's at its quiet rate, per image, µs. */
  cpuUsPerImage: number | null;
}

/** S10: push to offline devices. Latencies in µs histograms; counts of what arrived. */
export interface PushRuns {
  /** The push request alone from a bare script (push-floor.ts), both connection policies. */
  floor: FloorRun[];
  /** (a) message ACK → provider request at the push service, and SEND → request. */
  direct: { sent: number; pushed: number; fromAck: HistogramData; fromSend: HistogramData } | null;
  /** (c) READ sent on the online device → retract request for the offline one. */
  retract: { reads: number; retracted: number; fromRead: HistogramData } | null;
  /** (b) fan-out: pushes, their span (first → last request), server CPU less the messaging's. */
  fanout: {
    expected: number;
    pushed: number;
    /** Requests the push service got (more than `expected`: something was pushed twice). */
    requests: number;
    spanMs: number;
    fromAck: HistogramData;
    pushesPerSec: number;
    cpuUsPerPush: number;
    serviceCpuUs: number;
    decrypted: number;
    badPayloads: number;
    /** Monotonic ms: the loaded messaging window, and the last push (did the load cover it). */
    windowTo: number;
    lastPushAt: number;
  } | null;
  quiet: PhaseRun | null;
  loaded: PhaseRun | null;
}

export interface ThroughputRun extends PhaseRun {
  /** Mean events per group commit over the whole run (ours only, from /metrics). */
  commitBatchMean: number | null;
}

export interface LatencyRate {
  rate: number;
  label: string;
  /** Ours' SQLITE_SYNC in this window (the relay has no disk); the run's default when absent. */
  sqliteSync?: 'full' | 'normal';
  ours: PhaseRun | null;
  baseline: PhaseRun | null;
}

export interface StormRun {
  clients: number;
  connected: number;
  failed: number;
  failures: Record<string, number>;
  seconds: number;
  minMissed: number;
  missedTotal: number;
  more: number;
  connack: Percentiles;
  connackHist: HistogramData;
  /** Server CPU from the storm's start to its last CONNACK, per client. */
  cpuUsPerReconnect: number;
  /** CPU of the machine's other processes (not server, not load generators) over the storm, % of one core. */
  otherCpuPct: number;
}

export interface StoreRun {
  sync: 'normal' | 'full';
  /** disk: the temp dir's file system, as the server's DATA_DIR; tmpfs: /dev/shm, no disk at all. */
  medium: 'disk' | 'tmpfs';
  events: number;
  batch: number;
  convs: number;
  seconds: number;
  eventsPerSec: number;
}

/** S7: one configuration of shards at the same open-loop rate. */
export interface CrossShardRun {
  /** "single" (one shard, the baseline), or the transport of the multi-shard run. */
  setup: 'single' | 'links' | 'redis';
  shards: number;
  rate: number;
  run: PhaseRun;
}

export interface Meta {
  timestamp: string;
  quick: boolean;
  node: string;
  cpus: string;
  cores: number;
  memoryGiB: number;
  gitRev: string | null;
  sqliteSync: string;
  loadgens: number;
  durationSec: number;
  /** /proc/loadavg when the run started: other work on the machine skews every number. */
  loadavgAtStart: string;
}

export interface BenchResults {
  meta: Meta;
  params: unknown;
  rows: Row[];
  s1?: Pair<DensityRun>;
  s2?: Pair<ThroughputRun>;
  /** S2m: the moderate shape (one sender per pair, window 2). */
  s2m?: Pair<ThroughputRun>;
  s3?: LatencyRate[];
  s4?: Pair<PhaseRun>;
  s5?: Pair<StormRun>;
  s6?: StoreRun[];
  s7?: { skipped: string | null; runs: CrossShardRun[] };
  s8?: TransportRuns;
  s9?: ImagesRuns;
  s10?: PushRuns;
  s11?: Pair<DensityScaleRun>;
  s12?: MqttRuns;
  errors: { scenario: string; message: string }[];
  profiles: ProfileSummary[];
}

/** Ours' event-loop delay in a window as three INFO rows (the relay does not export it). */
export function loopDelayRows(scenario: string, prefix: string, d: LoopDelay | null): Row[] {
  if (!d) return [];
  const note = `${d.samples.toLocaleString('en-US')} samples of a 10 ms timer; mean ${d.meanMs.toFixed(2)} ms`;
  return [
    { ...row(scenario, `${prefix}event-loop delay p50`, 'ms', d.p50Ms, null), info: true },
    { ...row(scenario, `${prefix}event-loop delay p99`, 'ms', d.p99Ms, null), info: true },
    { ...row(scenario, `${prefix}event-loop delay max`, 'ms', d.maxMs, null, null, null, note), info: true },
  ];
}

/** A table row; ratio and pass are derived when the caller gives a check. */
export function row(
  scenario: string,
  metric: string,
  unit: string,
  ours: number | null,
  baseline: number | null,
  target: string | null = null,
  check: ((ours: number, baseline: number | null) => boolean) | null = null,
  note?: string,
): Row {
  const ratio = ours !== null && baseline !== null && baseline !== 0 ? ours / baseline : null;
  const pass = check && ours !== null ? check(ours, baseline) : null;
  return { scenario, metric, unit, ours, baseline, ratio, target, pass, ...(note ? { note } : {}) };
}

/**
 * Messages between the orchestrator and its load generators (child_process IPC, JSON).
 * Types only, shared by both sides. Every time in these messages is monotonic ms (clock.ts).
 */
import type { HistogramData } from './histogram';

/** How a client reaches the server: WebSocket /ws, long-poll /lp, or MQTT (3.1.1 or 5, stock `mqtt` client). */
export type Transport = 'ws' | 'longpoll' | 'mqtt311' | 'mqtt5';

/** One simulated device. */
export interface ClientSpec {
  user: string;
  /**
   * CONNECT sync.convs: conv_id -> last seq the device holds. The baseline relay learns
   * membership from the keys; Number.MAX_SAFE_INTEGER tells the real server "up to date".
   */
  convs: Record<string, number>;
  /** 127.0.0.x source address: each address has its own ~28k ephemeral ports. */
  localAddress: string;
}

export interface ConnectCommand {
  op: 'connect';
  /** ws://host:port/ws of the server under test; http://host:port for long-poll; mqtt://host:port for MQTT. */
  url: string;
  /** The carrier (S8 drives long-poll, S12 MQTT 3.1.1 and 5); default WebSocket. */
  transport?: Transport;
  /** MQTT: the keep-alive the client asks for in its CONNECT, seconds (default 60). */
  mqttKeepaliveS?: number;
  /**
   * MQTT at QoS 0 both ways, as the SDK speaks it: frames published at QoS 0, and the
   * device's frames topic subscribed at QoS 0 before the protocol CONNECT, so the server
   * publishes every frame at QoS 0. No PUBACK either way. Default: QoS 1 both ways, no
   * SUBSCRIBE (a stock client's usual choice).
   */
  mqttQos0?: boolean;
  /** Long-poll: the poll's wait_ms (default 25,000, the server's maximum). */
  lpWaitMs?: number;
  /** Keep every client's sockets so their TCP byte counts can be read (S12's wire probe). */
  trackSockets?: boolean;
  /** HS256 secret the server was started with; the load generator mints its own tokens. */
  secret: string;
  clients: ClientSpec[];
  /** Connections opened at once by this load generator. */
  concurrency: number;
  /** Monotonic ms at which to begin (so several load generators start together); 0: now. */
  startAt: number;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  /** failure reason -> count */
  failures: Record<string, number>;
  startedAt: number;
  /** Monotonic ms of the last CONNACK. */
  lastConnackAt: number;
  /** Socket opening to CONNACK, µs. */
  connack: HistogramData;
  /** Events replayed in CONNACK `missed`, summed, and the smallest count one client got. */
  missedTotal: number;
  minMissed: number;
  /** CONNACKs with `more: true`. */
  more: number;
}

/** One load generator's share of a traffic phase. */
export interface TrafficPlan {
  /** closed: each sender keeps `window` SENDs unacknowledged; open: a fixed schedule. */
  mode: 'closed' | 'open';
  /** Indexes into this load generator's connected clients, with the conversation to send to. */
  senders: { client: number; conv: string }[];
  window: number;
  /** open mode: sends per second from this load generator. */
  rate: number;
  startAt: number;
  /** The measured window; open mode counts by scheduled send time, closed by arrival. */
  measureFrom: number;
  measureTo: number;
  /** No new sends after this. */
  stopAt: number;
  /** Time after stopAt to keep collecting ACKs and deliveries. */
  drainMs: number;
  bodyChars: number;
  /** closed mode: record send→deliver latency for one delivery in this many (keeps receivers cheap). */
  sampleEvery: number;
}

export interface TrafficResult {
  sent: number;
  sentInWindow: number;
  acked: number;
  ackedInWindow: number;
  delivered: number;
  deliveredInWindow: number;
  /** ERROR code (or "closed:<code>") -> count */
  errors: Record<string, number>;
  /** send (scheduled, in open mode) → DELIVER arrival, µs */
  latency: HistogramData;
  /** send (scheduled, in open mode) → ACK arrival, µs */
  ackLatency: HistogramData;
  /** This load generator's own CPU during the window, µs (to see whether it was the bottleneck). */
  cpuUs: number;
  /** Long-poll (S8): GET poll and POST send requests issued during the window. */
  lpPolls?: number;
  lpSends?: number;
}

export type ToLoadgen = ConnectCommand | { op: 'traffic'; plan: TrafficPlan } | { op: 'stats' } | { op: 'close' } | { op: 'exit' };

/** What a load generator has counted so far (S11): pings received, its own CPU µs and RSS. */
export interface LoadgenStats {
  pings: number;
  /** Clients whose session is open (CONNACK received, not closed since). */
  open: number;
  /** Sessions closed after their CONNACK since the process started, by close code (closeAll's own included): count, first and last epoch ms. */
  closes: Record<string, { n: number; first: number; last: number }>;
  cpuUs: number;
  rssBytes: number;
}

export type FromLoadgen =
  | { op: 'ready' }
  | { op: 'progress'; done: number; total: number }
  | { op: 'connected'; result: ConnectResult }
  | { op: 'traffic'; result: TrafficResult }
  | ({ op: 'stats' } & LoadgenStats)
  | { op: 'closed' }
  | { op: 'error'; message: string };

/** Messages the baseline relay exchanges with the orchestrator. */
export type ToRelay = { op: 'gc' };
export type FromRelay = { op: 'ready'; port: number } | { op: 'gc-done'; heapUsed: number };

/** Options, emitted events and status of a ChatClient. Types only. */
import type { ConvEvent, InboxRow, Limits, ReceiptKind, SyncState, TypingState } from '../protocol/frames';
import type { BackoffOptions } from './backoff';
import type { ChatError } from './errors';
import type { OutboxFrame } from './outbox';
import type { FetchLike, PresenceInfo, SendResult } from './rest';
import type { WebSocketConstructor } from './socket';

export interface ChatClientOptions {
  /** Server origin, e.g. `https://chat.example.com`; REST lives under `/api/v1`, the socket at `/ws`. */
  baseUrl: string;
  /** Overrides the socket URL derived from `baseUrl`. */
  wsUrl?: string;
  token: string;
  /** Stable per installation: the server keys sessions and push registrations on it. */
  deviceId: string;
  /** The sync state persisted from a previous run (`client.state`). */
  state?: SyncState;
  /** Defaults to `globalThis.WebSocket`; in Node pass `ws`'s `WebSocket`. Not needed with `transport: 'longpoll'` or `'mqtt'`. */
  WebSocketImpl?: WebSocketConstructor;
  /**
   * How frames travel. `'websocket'`: only the socket at `wsUrl`. `'longpoll'`: only HTTP
   * long-poll under `/lp` (docs/client-sdk.md). `'mqtt'`: only MQTT at `mqttUrl`, through
   * the `mqtt` package, loaded on first use. `'auto'` (default): WebSocket first; when a
   * socket fails before it opens, that attempt continues over long-poll at once and later
   * reconnects stay on long-poll for a while before WebSocket is tried again.
   */
  transport?: ChatTransportOption;
  /**
   * A WebSocket not open this long after it was created is abandoned (an upgrade a proxy
   * swallows never fails by itself): under `'auto'` the attempt continues over long-poll
   * at once, under `'websocket'` it is a failed attempt (close 1006, backoff). Bounds an
   * MQTT connection's wait for its MQTT CONNACK the same way. Default 5000; 0 waits forever.
   */
  wsOpenTimeoutMs?: number;
  /**
   * The MQTT server of `transport: 'mqtt'`: `mqtt://` or `mqtts://` (TCP, Node only), `ws://`
   * or `wss://` (MQTT over WebSocket, `/mqtt` on the HTTP port). Default: in Node
   * `mqtt://<baseUrl's host>:1883` (`mqtts://…:8883` for an https `baseUrl`), elsewhere
   * `ws(s)://<baseUrl's host>/mqtt`.
   */
  mqttUrl?: string;
  /** MQTT protocol version of `transport: 'mqtt'`: 5 (default) or 4 (3.1.1). */
  mqttProtocolVersion?: 4 | 5;
  /** MQTT keep-alive of `transport: 'mqtt'` (seconds): the client pings when idle this long, and the server drops a connection silent for 1.5 times it. Default 60. */
  mqttKeepaliveS?: number;
  /**
   * Unacknowledged frames persisted from a previous run (`client.pendingFrames()`, oldest
   * first). Queued at once and sent after the first CONNACK like any pending frame; the
   * server's dedup by `client_msg_id` makes resending one it already stored harmless. Their
   * outcomes arrive as `restoredAck` and `restoredError` events.
   */
  outbox?: OutboxFrame[];
  /** Defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Reconnect delays (jittered exponential). */
  reconnect?: BackoffOptions;
  /** Send an app-level PING this often while connected and drop the connection when the previous one got no PONG. 0 (default) turns it off; WebSocket pings from the server keep working regardless. */
  pingIntervalMs?: number;
  /** A peer's typing indicator lapses this long after its last refresh. Default 4000. */
  typingTimeoutMs?: number;
  /** Page size for catching up over `/events` when CONNACK says `more`. Default 100. */
  syncPageLimit?: number;
  /** Client-side checks that keep an oversized SEND from being resent forever. */
  limits?: Partial<Pick<Limits, 'maxFrameBytes' | 'maxBodyChars'>>;
}

/** The `transport` option: which carriers a ChatClient may use. */
export type ChatTransportOption = 'auto' | 'websocket' | 'longpoll' | 'mqtt';

/** The carrier of one connection. */
export type ChatTransport = 'websocket' | 'longpoll' | 'mqtt';

/** What CONNACK told about the session. */
export interface ConnectedInfo {
  session_id: string;
  user_id: string;
  device_id: string;
  server_ts: number;
  heartbeat_ms: number;
  /** True when catch-up continues over REST; `synced` follows when done. */
  more: boolean;
}

export interface Receipt {
  conv_id: string;
  user_id: string;
  seq: number;
  kind: ReceiptKind;
}

export interface TypingInfo {
  conv_id: string;
  user_id: string;
  state: TypingState;
}

/** This user's whole read state of a conversation, as READ_SYNC carries it. */
export interface ReadSync {
  conv_id: string;
  last_read_seq: number;
  unread: number;
  /** Unread messages (counted in `unread`) that mention this user. */
  unread_mentions: number;
  /** Set by `markUnread` on any device, cleared by the next READ or message sent. */
  marked_unread: boolean;
}

/** This user muted or unmuted a conversation (on any device), as MUTE_SYNC carries it. */
export interface MuteSync {
  conv_id: string;
  /** ms timestamp, MUTED_FOREVER (-1), or null when unmuted. */
  muted_until: number | null;
}

/** Events a ChatClient emits, with their listener arguments. */
export type ChatEvents = {
  /** CONNACK arrived; inbox rows and missed events follow at once. */
  connected: [info: ConnectedInfo];
  /** Caught up: CONNACK's `missed` and any REST paging are applied. */
  synced: [];
  /** A new conversation event, in seq order per conversation, never twice. */
  event: [event: ConvEvent];
  /** An inbox row from the server (CONNACK). */
  inbox: [row: InboxRow];
  unread: [convId: string, count: number];
  receipt: [receipt: Receipt];
  /** Includes a synthetic "stopped" when an indicator lapses. */
  typing: [typing: TypingInfo];
  presence: [presence: PresenceInfo];
  /** This user's read state of a conversation changed (READ, MARK_UNREAD, a delete; any device). */
  readSync: [sync: ReadSync];
  /** This user's mute of a conversation changed (any device). */
  muteSync: [sync: MuteSync];
  /** ERROR frames that answer no pending send, and failures of background work. */
  error: [error: Error];
  disconnected: [code: number, reason: string];
  reconnecting: [attempt: number, delayMs: number];
  /** Closed with 4001: no more reconnects until `setToken` and `connect`. */
  unauthorized: [reason: string];
  /** The set of unacknowledged frames changed (queued, ACKed, failed): persist `frames` (what `pendingFrames()` returns). Not emitted by `close()`. */
  outbox: [frames: OutboxFrame[]];
  /** A frame restored from the `outbox` option was ACKed (`duplicate` when an earlier run's copy had landed). */
  restoredAck: [ack: SendResult, frame: OutboxFrame];
  /** A restored frame failed for good: the server's ERROR for it, or refused locally (malformed, too large, id repeated). Not emitted by `close()`. */
  restoredError: [error: ChatError, frame: OutboxFrame];
};

/** idle: never connected; waiting: a reconnect is scheduled; stopped: after 4001; closed: for good. */
export type ChatStatus = 'idle' | 'connecting' | 'handshake' | 'ready' | 'waiting' | 'stopped' | 'closed';

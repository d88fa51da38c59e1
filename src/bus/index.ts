/**
 * Bus module: ephemeral pub/sub between the modules of all shards (fan-out to gateways,
 * presence changes, settings changes). Engines side by side: `memory.ts` (one process)
 * and `redis.ts` (Redis pub/sub between shards).
 *
 * Contract: at-most-once, no persistence (a subscriber that is disconnected misses what
 * was published meanwhile). Messages published by one publisher (one Bus instance) to one
 * topic arrive in publish order. A handler receives every message published after the
 * promise of its subscribe() resolved, never one published before subscribe() was called
 * (while its topic had no other handler in this instance), and nothing after its
 * unsubscribe function returned. Durable state never travels only on the bus.
 */
import type { PresenceState, ServerFrame } from '../protocol';
import type { AuthState, UserSettings } from '../store';

/** Topic of one gateway: frames for the sessions it holds. */
export const gatewayTopic = (gatewayId: string): string => `gw:${gatewayId}`;
/** Topic every gateway subscribes to for presence changes. */
export const presenceTopic = 'presence';
/** Topic every gateway subscribes to for user settings and account changes. */
export const usersTopic = 'users';

/**
 * Write `frame` (already serialised, the same bytes for everyone) to every session of
 * `users` held by the receiving gateway, except the session `exclude_session`.
 */
export interface FramesMessage {
  t: 'frames';
  users: string[];
  frame: string;
  /** The frame's type, so receivers count deliveries without parsing the frame. */
  frame_type: ServerFrame['type'];
  exclude_session: string | null;
}

/** A user's visible presence changed; `frame` is the PRESENCE frame for subscribers. */
export interface PresenceMessage {
  t: 'presence';
  user_id: string;
  state: PresenceState;
  frame: string;
  /** The user's last-seen time as the announcer knows it (receivers that know newer settings rebuild the frame). */
  last_seen: number | null;
  /** When the announcing gateway saw the change (ms): receivers drop announcements older than what they wrote. */
  at: number;
}

/**
 * A user's settings changed; gateways refresh what they cached at CONNECT, and when
 * `presence_changed` tell that user's presence subscribers what they may see now.
 */
export interface SettingsMessage {
  t: 'settings';
  user_id: string;
  settings: UserSettings;
  /** show_presence or show_last_seen was set: what others see of the user may differ. */
  presence_changed: boolean;
}

/**
 * A user's auth state changed (signed out everywhere or on one device, account deleted):
 * every gateway updates its auth cache and closes that user's sessions whose token no
 * longer counts. Sent to every gateway, not only those holding the user's sessions: each
 * one's cache answers REST requests too. The store already holds `state`; a lost message
 * is made good by the cache's TTL.
 */
export interface AuthMessage {
  t: 'auth';
  state: AuthState;
}

/**
 * A user registered a push device: every shard forgets that the user had none, so the
 * conversations they are in open push windows again (src/push/reach.ts). A lost message is
 * made good by that finding's TTL.
 */
export interface PushRegisteredMessage {
  t: 'push_registered';
  user_id: string;
}

/**
 * A device opened an MQTT connection: MQTT requires the server to close an older connection
 * of the same client id, wherever it is (the half-open one a phone left behind when it
 * changed networks). Every gateway closes that user's MQTT sessions of `device_id` but
 * `session_id`. A lost message leaves the old one to its keep-alive.
 */
export interface TakeoverMessage {
  t: 'takeover';
  user_id: string;
  device_id: string;
  session_id: string;
}

export type BusMessage = FramesMessage | PresenceMessage | SettingsMessage | AuthMessage | PushRegisteredMessage | TakeoverMessage;
export type BusHandler = (msg: BusMessage) => void;

export interface Bus {
  /** Fire and forget: delivery failures are not reported to the publisher (at-most-once). */
  publish(topic: string, msg: BusMessage): void;
  /**
   * Resolves with the unsubscribe function once the subscription is active (for Redis: the
   * server confirmed SUBSCRIBE), so a message published after that reaches `handler`.
   */
  subscribe(topic: string, handler: BusHandler): Promise<() => void>;
  /**
   * `listener` runs after an outage of this instance's connection, once it is back: what
   * was published meanwhile is lost, so holders of live state (gateways) resynchronise.
   * Never called by the in-process engine.
   */
  onGap(listener: () => void): void;
  /**
   * Resolves once every message published so far has left this process and was taken by
   * the engine (for Redis: the server executed the PUBLISH), delivered or not. A stopping
   * shard waits for it before leaving the ring, so its last frames are not overtaken by
   * the next owner's.
   */
  flush(): Promise<void>;
  /**
   * Whether messages published now can reach subscribers (for Redis: both connections are
   * up). For readiness; cheap, no round trip. Always true in process.
   */
  connected(): boolean;
  close(): Promise<void>;
}

export { MemoryBus } from './memory';
export { RedisBus, type BusPublisher, type BusSubscriber, type RedisBusOptions } from './redis';

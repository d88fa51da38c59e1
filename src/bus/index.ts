/**
 * Bus module: ephemeral pub/sub between the modules of all shards (fan-out to gateways,
 * presence changes, settings changes). Engines side by side: `memory.ts` (one process)
 * and, later, Redis pub/sub.
 *
 * Contract: at-most-once, no persistence. Messages published by one publisher to one
 * topic arrive in publish order. A handler is called only for messages published after
 * its subscribe() call returned. Durable state never travels only on the bus.
 */
import type { PresenceState } from '../protocol';
import type { UserSettings } from '../store';

/** Topic of one gateway: frames for the sessions it holds. */
export const gatewayTopic = (gatewayId: string): string => `gw:${gatewayId}`;
/** Topic every gateway subscribes to for presence changes. */
export const presenceTopic = 'presence';
/** Topic every gateway subscribes to for user settings changes. */
export const usersTopic = 'users';

/**
 * Write `frame` (already serialised, the same bytes for everyone) to every session of
 * `users` held by the receiving gateway, except the session `exclude_session`.
 */
export interface FramesMessage {
  t: 'frames';
  users: string[];
  frame: string;
  exclude_session: string | null;
}

/** A user's visible presence changed; `frame` is the PRESENCE frame for subscribers. */
export interface PresenceMessage {
  t: 'presence';
  user_id: string;
  state: PresenceState;
  frame: string;
}

/** A user's settings changed; gateways refresh what they cached at CONNECT. */
export interface SettingsMessage {
  t: 'settings';
  user_id: string;
  settings: UserSettings;
}

export type BusMessage = FramesMessage | PresenceMessage | SettingsMessage;
export type BusHandler = (msg: BusMessage) => void;

export interface Bus {
  publish(topic: string, msg: BusMessage): void;
  /** Returns the unsubscribe function. */
  subscribe(topic: string, handler: BusHandler): () => void;
  close(): Promise<void>;
}

export { MemoryBus } from './memory';

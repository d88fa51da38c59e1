/**
 * Presence module: who is online, since when they were last seen, and which gateways
 * hold each user's sessions (the socket map used by fan-out). Ephemeral: never durable.
 * Engines side by side: `memory.ts` and, later, Redis keys with TTLs.
 *
 * Contract: a user is online while at least one session is registered. addSession and
 * removeSession report the transitions so the caller can announce them exactly once
 * per transition per engine. last_seen is the time the last session ended.
 */

export interface PresenceInfo {
  user_id: string;
  online: boolean;
  /** ms since epoch of the last disconnect; null if never seen since start. */
  last_seen: number | null;
}

export interface Presence {
  addSession(userId: string, gatewayId: string, sessionId: string): Promise<{ becameOnline: boolean }>;
  removeSession(userId: string, gatewayId: string, sessionId: string, now: number): Promise<{ becameOffline: boolean }>;
  /** Gateway id -> the given users that have sessions on it. Users with no session are absent. */
  locate(userIds: Iterable<string>): Promise<Map<string, string[]>>;
  get(userIds: readonly string[]): Promise<PresenceInfo[]>;
  close(): Promise<void>;
}

export { MemoryPresence } from './memory';

/** What others may see of a user's presence under their privacy settings. */
export interface VisiblePresence {
  user_id: string;
  state: 'online' | 'offline';
  last_seen: number | null;
}

/**
 * Applies privacy settings: hiding presence makes a user always appear offline with no
 * last_seen; hiding last-seen keeps online/offline but never a time. Online users were
 * last seen `now`.
 */
export function visiblePresence(
  userId: string,
  online: boolean,
  lastSeen: number | null,
  settings: { show_presence: boolean; show_last_seen: boolean },
  now: number,
): VisiblePresence {
  const shownOnline = settings.show_presence && online;
  const time = settings.show_presence && settings.show_last_seen ? (shownOnline ? now : lastSeen) : null;
  return { user_id: userId, state: shownOnline ? 'online' : 'offline', last_seen: time };
}

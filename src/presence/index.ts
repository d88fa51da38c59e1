/**
 * Presence module: who is online, since when they were last seen, and which gateways
 * hold each user's sessions (the socket map used by fan-out). Ephemeral: never durable.
 * Engines side by side: `memory.ts` (one process) and `redis.ts` (keys shared by shards).
 *
 * Contract: a user is online while at least one session is registered on a gateway whose
 * registration is fresh (engines without expiry treat every gateway as fresh). addSession,
 * removeSession and heartbeat report transitions so the caller can announce them: each
 * transition is reported exactly once, to one caller, even when gateways call concurrently,
 * and a user's reported transitions alternate (online, offline, online, ...). last_seen is
 * the time the last session ended (for a crashed gateway: its last heartbeat).
 */

export interface PresenceInfo {
  user_id: string;
  online: boolean;
  /** ms since epoch of the last disconnect; null if never seen since start. */
  last_seen: number | null;
}

/** What a gateway's heartbeat found. */
export interface HeartbeatResult {
  /**
   * True when this gateway's registration had expired or never existed: sessions it added
   * earlier may have been reaped, so it adds the sessions it still holds again.
   */
  lapsed: boolean;
  /** Users whose last session was on gateways that stopped heartbeating; announce them offline. */
  wentOffline: { user_id: string; last_seen: number }[];
}

export interface Presence {
  /**
   * Registers or refreshes `gatewayId` and reaps gateways whose registration lapsed. A
   * gateway calls it before adding sessions and then several times per registration ttl.
   */
  heartbeat(gatewayId: string): Promise<HeartbeatResult>;
  /**
   * Engines with expiry reject a gateway whose registration is not fresh (heartbeat first).
   * `deviceId` is the device the session belongs to (push decides per device); sessions of
   * no device (REST) are not registered.
   */
  addSession(userId: string, gatewayId: string, sessionId: string, deviceId?: string): Promise<{ becameOnline: boolean }>;
  removeSession(userId: string, gatewayId: string, sessionId: string, now: number): Promise<{ becameOffline: boolean }>;
  /** Gateway id -> the given users that have sessions on it. Users with no session are absent. */
  locate(userIds: Iterable<string>): Promise<Map<string, string[]>>;
  get(userIds: readonly string[]): Promise<PresenceInfo[]>;
  /** User id -> the devices with a session on a live gateway; users with none are absent. */
  liveDevices(userIds: readonly string[]): Promise<Map<string, Set<string>>>;
  close(): Promise<void>;
}

export { MemoryPresence } from './memory';
export { RedisPresence, type PresenceReads, type PresenceRedis, type RedisPresenceOptions } from './redis';

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

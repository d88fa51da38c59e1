/**
 * Presence as the gateway serves it, in one place: registering this gateway's sessions
 * with the presence engine (and its heartbeat), announcing a user's changes to every
 * gateway over the bus, and the PRESENCE_SUB subscriptions of this gateway's sessions,
 * which receive those announcements. Privacy settings apply to everything sent: a user
 * who hides presence always appears offline, and hiding or showing it is pushed to
 * current subscribers at once (settingsChanged, on every gateway).
 */
import { encodeFrame, type PresenceState } from '../protocol';
import { presenceTopic, type Bus, type PresenceMessage } from '../bus';
import { visiblePresence, type Presence } from '../presence';
import type { Store, UserSettings } from '../store';
import type { Logger } from '../observability';
import type { Session } from './session';

export interface PresenceWatchOptions {
  gatewayId: string;
  presence: Presence;
  store: Store;
  bus: Bus;
  logger: Logger;
}

/** One user watched by sessions of this gateway. */
interface Watched {
  sessions: Set<Session>;
  /**
   * When the newest state written to them was seen (ms). Announcements travel from the
   * user's gateway, settings changes from whichever shard served the PATCH: two publishers,
   * so the bus does not order them. An announcement older than what was written is stale.
   */
  at: number;
  /** The user's privacy settings as last seen here (from the store at subscribe, then changes). */
  settings: UserSettings | null;
}

/** Presence for one gateway: its registrations, announcements and its sessions' subscriptions. */
export class PresenceWatch {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly opts: PresenceWatchOptions) {}

  /** PRESENCE_SUB: replaces the session's set, then writes the current presence of each known user. */
  async subscribe(session: Session, userIds: readonly string[]): Promise<void> {
    this.unsubscribe(session);
    const ids = [...new Set(userIds)];
    session.presenceSubs = ids;
    for (const id of ids) {
      let w = this.watched.get(id);
      if (!w) this.watched.set(id, (w = { sessions: new Set(), at: 0, settings: null }));
      w.sessions.add(session);
    }
    const { presence, store } = this.opts;
    // Taken before the reads: an announcement written to this session while they run is newer.
    const readAt = Date.now();
    const [infos, users] = await Promise.all([presence.get(ids), store.getUsers(ids)]);
    const settings = new Map(users.map((u) => [u.user_id, u.settings]));
    const now = Date.now();
    for (const info of infos) {
      const s = settings.get(info.user_id);
      const w = this.watched.get(info.user_id);
      if (!s || !w || !w.sessions.has(session)) continue; // unknown user, or unsubscribed meanwhile
      if (w.settings === null) w.settings = s; // a change seen meanwhile is newer
      if (w.at > readAt) continue; // the session already got a newer state
      session.write(presenceFrame(info.user_id, info.online, info.last_seen, w.settings, now), true);
      // Alone on this user, the session now holds the state as of readAt: older announcements are stale.
      if (w.sessions.size === 1) w.at = Math.max(w.at, readAt);
    }
  }

  /** Drops every subscription of the session (a new PRESENCE_SUB, or the session closed). */
  unsubscribe(session: Session): void {
    for (const id of session.presenceSubs) {
      const w = this.watched.get(id);
      if (!w) continue;
      w.sessions.delete(session);
      if (w.sessions.size === 0) this.watched.delete(id);
    }
    session.presenceSubs = [];
  }

  /**
   * A session finished CONNECT and is registered: with presence too; its user announced if
   * they came online, under the settings the session holds now (a change that arrived
   * during CONNECT included).
   */
  async sessionStarted(session: Session): Promise<void> {
    const { becameOnline } = await this.opts.presence.addSession(session.userId, this.opts.gatewayId, session.id, session.deviceId);
    if (becameOnline && session.settings) this.announce(session.userId, session.settings, 'online', Date.now());
  }

  /** A registered session closed: its user announced offline if it was their last session. */
  async sessionEnded(session: Session): Promise<void> {
    try {
      const now = Date.now();
      const { becameOffline } = await this.opts.presence.removeSession(session.userId, this.opts.gatewayId, session.id, now);
      if (becameOffline && session.settings) this.announce(session.userId, session.settings, 'offline', now);
    } catch (err) {
      this.opts.logger.error('presence update failed', { err });
    }
  }

  /**
   * Keeps this gateway's registration fresh (engines with expiry drop the sessions of a
   * gateway that stops), adds its sessions again if the registration had lapsed, and
   * announces users that crashed gateways left offline.
   */
  async heartbeat(sessions: ReadonlyMap<string, readonly Session[]>): Promise<void> {
    const { presence, gatewayId, store } = this.opts;
    const { lapsed, wentOffline } = await presence.heartbeat(gatewayId);
    if (lapsed) {
      // A copy: sessions close (and leave these lists) during the awaits below.
      for (const [userId, list] of [...sessions].map(([u, l]) => [u, [...l]] as const)) {
        for (const s of list) {
          if (s.isClosed()) continue;
          const { becameOnline } = await presence.addSession(userId, gatewayId, s.id, s.deviceId);
          if (becameOnline && s.settings) this.announce(userId, s.settings, 'online', Date.now());
        }
      }
    }
    if (wentOffline.length > 0) {
      const users = await store.getUsers(wentOffline.map((u) => u.user_id));
      const settings = new Map(users.map((u) => [u.user_id, u.settings]));
      for (const { user_id, last_seen } of wentOffline) {
        const s = settings.get(user_id);
        if (s) this.announce(user_id, s, 'offline', last_seen);
      }
    }
  }

  /**
   * A presence change announced by any gateway: written to this gateway's subscribers of the
   * user, under the settings this gateway knows (the announcer may not have heard of a
   * change yet: its frame could show a hidden user, or a hidden last-seen time).
   */
  delivered(msg: PresenceMessage): void {
    const w = this.watched.get(msg.user_id);
    if (!w) return;
    if (w.settings === null) return this.write(w, msg.frame, msg.at);
    // Hidden: subscribers were told "offline" when it was hidden, and see nothing more.
    if (!w.settings.show_presence) return;
    const online = msg.state === 'online';
    this.write(w, presenceFrame(msg.user_id, online, msg.last_seen, w.settings, Date.now()), msg.at);
  }

  /** Writes a state to the user's subscribers here unless it is older than the state written last. */
  private write(w: Watched, frame: string, at: number): void {
    if (at < w.at) return;
    w.at = at;
    const bytes = Buffer.from(frame);
    for (const s of w.sessions) s.write(bytes, true);
  }

  /**
   * The user's privacy settings changed (announced to every gateway): this gateway's
   * subscribers of the user get what they may see now. Each gateway tells its own
   * subscribers, so nobody gets it twice.
   */
  async settingsChanged(userId: string, settings: UserSettings): Promise<void> {
    const w = this.watched.get(userId);
    if (!w) return;
    w.settings = settings;
    // Taken before the read: an announcement made while it runs is newer and wins.
    const at = Date.now();
    try {
      const [info] = await this.opts.presence.get([userId]);
      const current = this.watched.get(userId);
      if (!info || !current) return;
      this.write(current, presenceFrame(userId, info.online, info.last_seen, settings, Date.now()), at);
    } catch (err) {
      this.opts.logger.error('presence lookup failed', { err });
    }
  }

  /** Publishes a user's presence change to every gateway's subscribers. */
  private announce(userId: string, settings: UserSettings, state: PresenceState, at: number): void {
    // A user who hides presence always appears offline: announce nothing.
    if (!settings.show_presence) return;
    const frame = presenceFrame(userId, state === 'online', at, settings, at);
    this.opts.bus.publish(presenceTopic, { t: 'presence', user_id: userId, state, frame, last_seen: at, at: Date.now() });
  }
}

function presenceFrame(userId: string, online: boolean, lastSeen: number | null, settings: UserSettings, now: number): string {
  return encodeFrame({ type: 'PRESENCE', ...visiblePresence(userId, online, lastSeen, settings, now) }).text;
}

import type { HeartbeatResult, Presence, PresenceInfo } from './index';

interface UserEntry {
  /** gateway id -> that user's sessions there (session id -> device id, '' for none) */
  gateways: Map<string, Map<string, string>>;
  sessions: number;
  lastSeen: number | null;
}

/** Presence and socket map in this process's memory (see the contract in index.ts). */
export class MemoryPresence implements Presence {
  private readonly users = new Map<string, UserEntry>();

  /** One process, no expiry: every gateway is always fresh. */
  async heartbeat(_gatewayId: string): Promise<HeartbeatResult> {
    return { lapsed: false, wentOffline: [] };
  }

  async addSession(userId: string, gatewayId: string, sessionId: string, deviceId = ''): Promise<{ becameOnline: boolean }> {
    let entry = this.users.get(userId);
    if (!entry) this.users.set(userId, (entry = { gateways: new Map(), sessions: 0, lastSeen: null }));
    let onGateway = entry.gateways.get(gatewayId);
    if (!onGateway) entry.gateways.set(gatewayId, (onGateway = new Map()));
    if (onGateway.has(sessionId)) return { becameOnline: false };
    onGateway.set(sessionId, deviceId);
    entry.sessions++;
    return { becameOnline: entry.sessions === 1 };
  }

  async removeSession(userId: string, gatewayId: string, sessionId: string, now: number): Promise<{ becameOffline: boolean }> {
    const entry = this.users.get(userId);
    const onGateway = entry?.gateways.get(gatewayId);
    if (!entry || !onGateway?.delete(sessionId)) return { becameOffline: false };
    if (onGateway.size === 0) entry.gateways.delete(gatewayId);
    entry.sessions--;
    if (entry.sessions > 0) return { becameOffline: false };
    entry.lastSeen = now;
    return { becameOffline: true };
  }

  async liveDevices(userIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    for (const userId of userIds) {
      const devices = new Set<string>();
      for (const sessions of this.users.get(userId)?.gateways.values() ?? []) for (const d of sessions.values()) if (d !== '') devices.add(d);
      if (devices.size > 0) out.set(userId, devices);
    }
    return out;
  }

  async locate(userIds: Iterable<string>): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const userId of userIds) {
      const entry = this.users.get(userId);
      if (!entry || entry.sessions === 0) continue;
      for (const gatewayId of entry.gateways.keys()) {
        const list = out.get(gatewayId);
        if (list) list.push(userId);
        else out.set(gatewayId, [userId]);
      }
    }
    return out;
  }

  async get(userIds: readonly string[]): Promise<PresenceInfo[]> {
    return userIds.map((user_id) => {
      const entry = this.users.get(user_id);
      return { user_id, online: (entry?.sessions ?? 0) > 0, last_seen: entry?.lastSeen ?? null };
    });
  }

  async close(): Promise<void> {
    this.users.clear();
  }
}

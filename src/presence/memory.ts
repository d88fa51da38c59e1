import type { Presence, PresenceInfo } from './index';

interface UserEntry {
  /** gateway id -> count of that user's sessions there */
  gateways: Map<string, number>;
  sessions: number;
  lastSeen: number | null;
}

/** Presence and socket map in this process's memory (see the contract in index.ts). */
export class MemoryPresence implements Presence {
  private readonly users = new Map<string, UserEntry>();

  async addSession(userId: string, gatewayId: string, _sessionId: string): Promise<{ becameOnline: boolean }> {
    let entry = this.users.get(userId);
    if (!entry) this.users.set(userId, (entry = { gateways: new Map(), sessions: 0, lastSeen: null }));
    entry.gateways.set(gatewayId, (entry.gateways.get(gatewayId) ?? 0) + 1);
    entry.sessions++;
    return { becameOnline: entry.sessions === 1 };
  }

  async removeSession(userId: string, gatewayId: string, _sessionId: string, now: number): Promise<{ becameOffline: boolean }> {
    const entry = this.users.get(userId);
    const onGateway = entry?.gateways.get(gatewayId);
    if (!entry || !onGateway) return { becameOffline: false };
    if (onGateway === 1) entry.gateways.delete(gatewayId);
    else entry.gateways.set(gatewayId, onGateway - 1);
    entry.sessions--;
    if (entry.sessions > 0) return { becameOffline: false };
    entry.lastSeen = now;
    return { becameOffline: true };
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

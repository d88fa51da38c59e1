/**
 * Presence: the last state seen for each user (with the last-seen time the server lets
 * this user see), the set of users whose presence this session watches (direct-chat peers
 * and the open conversation's members), and how a header says it ("Active 5m ago").
 */
import type { ChatClient } from '../client';
import { daysBefore } from './format';
import type { Inbox } from './inbox';

/** The server accepts up to this many ids in one presence subscription. */
const maxWatched = 256;

/** A user's presence as last announced; `last_seen` is null while online or when they hide it. */
export interface Seen {
  state: 'online' | 'offline';
  last_seen: number | null;
}

const minute = 60_000;
const hour = 60 * minute;

/**
 * What a chat header says of a user: "Active now", "Active 5m ago", "Active 3h ago",
 * "Active yesterday", "Active 3d ago"; '' when unknown, hidden by the user's privacy
 * settings (no last seen), or over a week ago (as Messenger, which then says nothing).
 */
export function presenceLabel(seen: Seen | null, now: number = Date.now()): string {
  if (seen === null) return '';
  if (seen.state === 'online') return 'Active now';
  if (seen.last_seen === null) return '';
  const ago = Math.max(0, now - seen.last_seen);
  if (ago < minute) return 'Active just now';
  if (ago < hour) return `Active ${Math.floor(ago / minute)}m ago`;
  if (ago < 24 * hour) return `Active ${Math.floor(ago / hour)}h ago`;
  if (daysBefore(seen.last_seen, now) === 1) return 'Active yesterday';
  const days = Math.floor(ago / (24 * hour));
  return days <= 7 ? `Active ${days}d ago` : '';
}

export class PresenceWatch {
  private readonly states = new Map<string, Seen>();
  /** The list last subscribed to, joined: a subscription goes out only when it changes. */
  private key = '';
  private queued = false;

  /** @param view gives the conversation on screen, whose members are watched too. */
  constructor(
    private readonly client: Pick<ChatClient, 'subscribePresence'>,
    private readonly inbox: Inbox,
    private readonly view: { readonly openConvId: string | null },
    private readonly meId: string,
  ) {}

  /** The user's last known presence; null before any PRESENCE frame for them. */
  get(userId: string): Seen | null {
    return this.states.get(userId) ?? null;
  }

  /** A PRESENCE frame. */
  seen(userId: string, state: 'online' | 'offline', lastSeen: number | null): void {
    this.states.set(userId, { state, last_seen: lastSeen });
  }

  /**
   * `update` once the current task's work is done: a burst of rows (CONNACK's inbox, one
   * frame each, emitted in one loop) costs one pass over the inbox, not one per row.
   */
  updateSoon(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.update();
    });
  }

  /** Re-subscribes if the set of watched users changed (rows, members or the open chat did). */
  update(): void {
    const ids = new Set<string>();
    for (const row of this.inbox.all()) if (row.type === 'direct' && row.peer_id) ids.add(row.peer_id);
    const open = this.view.openConvId;
    if (open) for (const id of this.inbox.others(open, this.meId)) ids.add(id);
    const list = [...ids].sort().slice(0, maxWatched);
    if (list.join(',') === this.key) return;
    this.key = list.join(',');
    this.client.subscribePresence(list);
  }
}

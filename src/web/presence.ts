/**
 * Presence: the last state seen for each user, and the set of users whose presence this
 * session watches (direct-chat peers and the open conversation's members).
 */
import type { ChatClient } from '../client';
import type { Inbox } from './inbox';

/** The server accepts up to this many ids in one presence subscription. */
const maxWatched = 256;

export class PresenceWatch {
  private readonly states = new Map<string, 'online' | 'offline'>();
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

  /** The user's last known state; null before any PRESENCE frame for them. */
  get(userId: string): 'online' | 'offline' | null {
    return this.states.get(userId) ?? null;
  }

  /** A PRESENCE frame. */
  seen(userId: string, state: 'online' | 'offline'): void {
    this.states.set(userId, state);
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

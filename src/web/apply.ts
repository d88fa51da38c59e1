/**
 * Applies what the server reports (events, pushed inbox rows, read and mute changes from
 * any device) to the model, and does what each asks of this device (DELIVERED, READ,
 * name look-ups, presence). Every method is idempotent: the same fact may come from a
 * push, a history page and this session's own ACK.
 */
import type { ChatClient, ConvEvent, InboxRow } from '../client';
import type { Inbox } from './inbox';
import type { MessageStore } from './messages';
import type { Notify } from './notify';
import type { PresenceWatch } from './presence';
import type { ReadMarker } from './reading';
import type { UserDirectory } from './users';

export interface ApplyDeps {
  meId: string;
  client: Pick<ChatClient, 'markDelivered'>;
  inbox: Inbox;
  msgs: MessageStore;
  users: UserDirectory;
  reads: ReadMarker;
  presence: PresenceWatch;
  notify: Notify;
}

export class Applier {
  constructor(private readonly d: ApplyDeps) {}

  /** Folds one event into messages and its row, then does what it asks of this device. No render. */
  fold(ev: ConvEvent): void {
    const { d } = this;
    d.msgs.fold(ev, d.meId);
    d.inbox.applyEvent(ev, (ev.kind === 'edit' || ev.kind === 'delete') && d.msgs.isNewest(ev.conv_id, ev.target_seq));
    switch (ev.kind) {
      case 'message':
        d.users.request([ev.sender_id]);
        if (ev.sender_id !== d.meId) d.client.markDelivered(ev.conv_id, ev.seq);
        if (ev.conv_id === d.reads.openConvId) d.reads.markReadIfVisible(ev.conv_id);
        break;
      case 'member_added':
      case 'member_removed':
        d.users.request(ev.user_ids ?? []);
        d.presence.update();
        break;
      default:
        break;
    }
  }

  /**
   * Rows pushed by the server or listed over REST (`since`: see `Inbox.merge`), each
   * ignored unless newer than ours; returns the rows taken, as now held. Presence is
   * re-subscribed once per batch (and once per burst of pushed rows), not per row.
   */
  mergeRows(rows: InboxRow[], since?: number): InboxRow[] {
    const { d } = this;
    const taken: InboxRow[] = [];
    for (const row of rows) {
      const held = d.inbox.merge(row, since);
      if (held) taken.push(held);
    }
    if (!taken.length) return taken;
    d.users.request(taken.map((r) => r.peer_id).filter((id): id is string => id !== null));
    d.presence.updateSoon();
    d.notify.changed();
    return taken;
  }

  /** This user's read state of a conversation, set on any of their devices. */
  applyRead(convId: string, s: { last_read_seq?: number; unread?: number; marked_unread?: boolean }): void {
    const row = this.d.inbox.applyRead(convId, s);
    if (!row) return;
    if (!row.marked_unread && s.last_read_seq !== undefined) this.d.reads.noteRead(convId, s.last_read_seq);
    this.d.notify.changed();
  }

  applyMute(convId: string, until: number | null): void {
    if (this.d.inbox.applyMute(convId, until)) this.d.notify.changed();
  }
}

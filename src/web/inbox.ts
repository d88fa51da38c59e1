/**
 * The conversation list: one inbox row per conversation (title, preview, time, unread
 * state, mute) and, once known, its members. Rows only move forward by `last_seq`, so a
 * row fetched before a live event already applied never undoes it.
 */
import { MUTED_FOREVER, type ConvEvent, type InboxRow } from '../client';

type RowPatch = Partial<Pick<InboxRow, 'preview' | 'updated_at' | 'last_seq'>>;

/** Whether the row is muted now (forever, or until a time still ahead). */
export function isMuted(row: InboxRow): boolean {
  return row.muted_until === MUTED_FOREVER || (row.muted_until !== null && row.muted_until > Date.now());
}

export class Inbox {
  private readonly rows = new Map<string, InboxRow>();
  /** Member ids by conversation: from details, creation or membership events. */
  readonly members = new Map<string, string[]>();

  /** Newest activity first. */
  sorted(): InboxRow[] {
    return [...this.rows.values()].sort((a, b) => b.updated_at - a.updated_at || b.last_seq - a.last_seq);
  }

  all(): InboxRow[] {
    return [...this.rows.values()];
  }

  get(convId: string): InboxRow | undefined {
    return this.rows.get(convId);
  }

  has(convId: string): boolean {
    return this.rows.has(convId);
  }

  /** The other members: the peer of a direct chat, else the known members but `me`. */
  others(convId: string, me: string): string[] {
    const row = this.rows.get(convId);
    if (row?.type === 'direct' && row.peer_id) return [row.peer_id];
    return (this.members.get(convId) ?? []).filter((id) => id !== me);
  }

  /** Puts a saved row back as it was (at start). */
  restore(row: InboxRow): void {
    this.rows.set(row.conv_id, row);
  }

  /** A row from the server (INBOX frame or list); false when the one held is newer and stays. */
  merge(row: InboxRow): boolean {
    const have = this.rows.get(row.conv_id);
    // A row fetched before a live event we already applied is older than what we hold.
    if (have && have.last_seq > row.last_seq) return false;
    this.rows.set(row.conv_id, { ...row });
    return true;
  }

  /** Whether a fetched row is at least as new as the one held (or none is held). */
  isFresh(row: InboxRow): boolean {
    return (this.rows.get(row.conv_id)?.last_seq ?? -1) <= row.last_seq;
  }

  /** A blank row for a conversation this user just created; false if one exists already. */
  add(convId: string, type: InboxRow['type'], title: string | null, peerId: string | null, ts: number): boolean {
    if (this.rows.has(convId)) return false;
    this.rows.set(convId, {
      conv_id: convId,
      type,
      title,
      peer_id: peerId,
      last_seq: 0,
      preview: null,
      updated_at: ts,
      unread: 0,
      unread_mentions: 0,
      last_read_seq: 0,
      marked_unread: false,
      muted_until: null,
      muted: false,
    });
    return true;
  }

  /** Moves the row: a `last_seq` behind the row's drops the whole patch (it is stale). */
  touch(convId: string, patch: RowPatch): void {
    const row = this.rows.get(convId);
    if (!row) return;
    if (patch.last_seq !== undefined) {
      if (patch.last_seq < row.last_seq) return;
      row.last_seq = patch.last_seq;
    }
    if (patch.preview !== undefined) row.preview = patch.preview === null ? null : patch.preview.slice(0, 100);
    if (patch.updated_at !== undefined) row.updated_at = Math.max(row.updated_at, patch.updated_at);
  }

  /**
   * What an event does to its row: every event moves `last_seq`; a message sets the preview
   * and time; an edit or delete of the newest message (`targetIsNewest`) the preview; a
   * conversation update the title; membership events the member list.
   */
  applyEvent(ev: ConvEvent, targetIsNewest: boolean): void {
    switch (ev.kind) {
      case 'message':
        this.touch(ev.conv_id, { preview: ev.body ?? '', updated_at: ev.ts, last_seq: ev.seq });
        return;
      case 'edit':
        if (targetIsNewest) this.touch(ev.conv_id, { preview: ev.body ?? '' });
        break;
      case 'delete':
        if (targetIsNewest) this.touch(ev.conv_id, { preview: '' });
        break;
      case 'member_added':
      case 'member_removed': {
        const now = new Set(this.members.get(ev.conv_id) ?? []);
        for (const id of ev.user_ids ?? []) {
          if (ev.kind === 'member_added') now.add(id);
          else now.delete(id);
        }
        this.members.set(ev.conv_id, [...now]);
        break;
      }
      case 'conversation_updated': {
        const row = this.rows.get(ev.conv_id);
        if (row && ev.title !== undefined) row.title = ev.title;
        break;
      }
      default:
        break;
    }
    this.touch(ev.conv_id, { last_seq: ev.seq });
  }

  /** This user's read state changed (READ_SYNC, or a REST fallback); returns the row if held. */
  applyRead(convId: string, s: { last_read_seq?: number; unread?: number; marked_unread?: boolean }): InboxRow | undefined {
    const row = this.rows.get(convId);
    if (!row) return undefined;
    if (s.last_read_seq !== undefined) row.last_read_seq = Math.max(row.last_read_seq, s.last_read_seq);
    if (s.unread !== undefined) row.unread = s.unread;
    if (s.marked_unread !== undefined) row.marked_unread = s.marked_unread;
    return row;
  }

  /** This user muted or unmuted the conversation (MUTE_SYNC, or a REST fallback); false if no row. */
  applyMute(convId: string, until: number | null): boolean {
    const row = this.rows.get(convId);
    if (!row) return false;
    row.muted_until = until;
    row.muted = isMuted(row);
    return true;
  }
}

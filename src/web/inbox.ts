/**
 * The conversation list: one inbox row per conversation (title, preview, time, unread
 * state, mute) and, once known, its members. Rows only move forward by `last_seq`, so a
 * row fetched before a live event already applied never undoes it; nor does it undo a
 * read or mute change applied while it was being fetched (see `merge`).
 */
import { MUTED_FOREVER, type ConvEvent, type InboxRow } from '../client';
import { messagePreview } from './preview';

/**
 * A change to a row: `last_seq` and `updated_at` only move forward; `preview` is the text
 * of message `msg_seq` and is dropped when a newer message's preview is held (without
 * `msg_seq` it is taken as is: a local echo, an edit or delete of the newest message).
 */
interface RowPatch {
  preview?: string | null;
  /** Who sent the previewed message and when (its own time, not an edit's): set with `preview`. */
  sender_id?: string;
  msg_ts?: number;
  updated_at?: number;
  last_seq?: number;
  msg_seq?: number;
}

/** When this user's read state and mute of a row last changed here, on `Inbox.stamp()`'s clock. */
interface LocalChange {
  read: number;
  mute: number;
}

/** Whether the row is muted now (forever, or until a time still ahead). */
export function isMuted(row: InboxRow): boolean {
  return row.muted_until === MUTED_FOREVER || (row.muted_until !== null && row.muted_until > Date.now());
}

export class Inbox {
  private readonly rows = new Map<string, InboxRow>();
  /** conv id -> the seq of the message the preview shows (a server row's: its `last_seq`, an upper bound). */
  private readonly previewSeq = new Map<string, number>();
  /** conv id -> when its read state or mute last changed here (READ_SYNC, MUTE_SYNC, own sends). */
  private readonly local = new Map<string, LocalChange>();
  private clock = 0;
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
    // Rows saved by an older version lack the preview's sender and time.
    this.rows.set(row.conv_id, { ...row, preview_sender_id: row.preview_sender_id ?? null, preview_ts: row.preview_ts ?? null });
    this.previewSeq.set(row.conv_id, row.last_seq);
  }

  /** The clock read and mute changes are stamped with: taken before a fetch, it is that fetch's `since` for `merge`. */
  stamp(): number {
    return this.clock;
  }

  /**
   * A row from the server (INBOX frame or list); returns the row now held, or undefined
   * when the one held is newer and stays. The read marker only moves forward, and a row
   * with our `last_seq` but an older marker (listed before this device's READ was applied)
   * keeps the unread state that goes with ours. `since` (a `stamp()` taken before the row
   * was fetched) also keeps the read state (at the same `last_seq`) and the mute changed
   * here after it: the row may not know them. Pushed rows come in order with READ_SYNC and
   * MUTE_SYNC and need no `since`.
   */
  merge(row: InboxRow, since?: number): InboxRow | undefined {
    const have = this.rows.get(row.conv_id);
    // A row fetched before a live event we already applied is older than what we hold.
    if (have && have.last_seq > row.last_seq) return undefined;
    const next = { ...row };
    if (have) {
      const changed = this.local.get(row.conv_id);
      const readHere = since !== undefined && changed !== undefined && changed.read > since;
      next.last_read_seq = Math.max(have.last_read_seq, row.last_read_seq);
      // With a newer message in the row, its unread count is the better one (the marker still stays).
      if (have.last_seq === row.last_seq && (readHere || have.last_read_seq > row.last_read_seq)) {
        next.unread = have.unread;
        next.unread_mentions = have.unread_mentions;
        next.marked_unread = have.marked_unread;
      }
      if (since !== undefined && changed !== undefined && changed.mute > since) next.muted_until = have.muted_until;
    }
    this.rows.set(row.conv_id, next);
    this.previewSeq.set(row.conv_id, Math.max(this.previewSeq.get(row.conv_id) ?? 0, row.last_seq));
    return next;
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
      preview_sender_id: null,
      preview_ts: null,
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

  /**
   * Moves the row forward (see `RowPatch`). Each part is judged alone: an own reaction's
   * ACK may have moved `last_seq` past a message whose DELIVER comes later, and that
   * message's preview and time still count.
   */
  touch(convId: string, patch: RowPatch): void {
    const row = this.rows.get(convId);
    if (!row) return;
    if (patch.last_seq !== undefined) row.last_seq = Math.max(row.last_seq, patch.last_seq);
    if (patch.updated_at !== undefined) row.updated_at = Math.max(row.updated_at, patch.updated_at);
    if (patch.preview === undefined) return;
    if (patch.msg_seq !== undefined) {
      if (patch.msg_seq < (this.previewSeq.get(convId) ?? 0)) return;
      this.previewSeq.set(convId, patch.msg_seq);
    }
    row.preview = patch.preview === null ? null : patch.preview.slice(0, 100);
    if (patch.sender_id !== undefined) row.preview_sender_id = patch.sender_id;
    if (patch.msg_ts !== undefined) row.preview_ts = patch.msg_ts;
  }

  /**
   * What an event does to its row: every event moves `last_seq`; a message sets the preview
   * and time; an edit or delete of the newest message (`targetIsNewest`) the preview; a
   * conversation update the title; membership events the member list.
   */
  applyEvent(ev: ConvEvent, targetIsNewest: boolean): void {
    switch (ev.kind) {
      case 'message':
        this.touch(ev.conv_id, {
          preview: messagePreview(ev.body ?? '', ev.attachments),
          sender_id: ev.sender_id,
          msg_ts: ev.ts,
          updated_at: ev.ts,
          last_seq: ev.seq,
          msg_seq: ev.seq,
        });
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

  /** This user's read state changed (READ_SYNC, an own message's ACK, or a REST fallback); returns the row if held. */
  applyRead(convId: string, s: { last_read_seq?: number; unread?: number; marked_unread?: boolean }): InboxRow | undefined {
    const row = this.rows.get(convId);
    if (!row) return undefined;
    if (s.last_read_seq !== undefined) row.last_read_seq = Math.max(row.last_read_seq, s.last_read_seq);
    if (s.unread !== undefined) row.unread = s.unread;
    if (s.marked_unread !== undefined) row.marked_unread = s.marked_unread;
    this.changedHere(convId).read = ++this.clock;
    return row;
  }

  /** This user muted or unmuted the conversation (MUTE_SYNC, or a REST fallback); false if no row. */
  applyMute(convId: string, until: number | null): boolean {
    const row = this.rows.get(convId);
    if (!row) return false;
    row.muted_until = until;
    this.changedHere(convId).mute = ++this.clock;
    return true;
  }

  private changedHere(convId: string): LocalChange {
    let c = this.local.get(convId);
    if (!c) this.local.set(convId, (c = { read: 0, mute: 0 }));
    return c;
  }
}

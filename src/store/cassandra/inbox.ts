/**
 * Read markers, mutes and the inbox. Inbox rows are derived on read, as in SQLite: the
 * user's conversation ids (user_convs), then each conversation row and the user's member
 * row (single-partition reads in parallel), sorted in memory. That is O(conversations of
 * the user) per call; unread counts are then read for the returned page only, each
 * O(events after the read marker). The badge count (countUnreadConversations) reads the
 * same rows, a few columns each, and of the log only up to the first unread message.
 */
import { MUTED_FOREVER, type InboxRow } from '../../protocol';
import type { InboxPage, MarkerUpdate } from '../types';
import { type ConversationTable, type ConvRow, type MemberRow } from './conversations';
import { bool, num, str, type Cql } from './db';
import type { EventLog } from './log';
import { clampLimit, decodeCursor, encodeCursor, peerFromDirectKey } from '../common';

interface Entry {
  conv: ConvRow;
  member: MemberRow;
}

/** Conversations countUnreadConversations looks at concurrently, per call. */
const badgeConcurrency = 32;

const markerCql = 'UPDATE conv_members SET last_read_seq = ?, last_delivered_seq = ?, marked_unread = ?, updated_at = ? WHERE conv_id = ? AND user_id = ?';
const muteCql = 'UPDATE conv_members SET muted_until = ?, updated_at = ? WHERE conv_id = ? AND user_id = ? IF EXISTS';

export class Inbox {
  constructor(
    private readonly db: Cql,
    private readonly convs: ConversationTable,
    private readonly log: EventLog,
  ) {}

  /**
   * Forward-only by read-then-write-max, not by LWT: markers are the most frequent write
   * after events, and their writer is the conversation's actor (which coalesces them), so
   * no second writer moves a member row between the read and the write; the max still
   * holds against updates that arrive out of order. updated_at moves only when the read
   * marker moves or the unread flag changes (it drives inboxChangedSince).
   */
  async saveMarkers(updates: readonly MarkerUpdate[], now: number): Promise<void> {
    const merged = new Map<string, MarkerUpdate>();
    for (const u of updates) {
      const key = JSON.stringify([u.conv_id, u.user_id]);
      const m = merged.get(key) ?? { conv_id: u.conv_id, user_id: u.user_id };
      if (u.last_read_seq !== undefined) m.last_read_seq = Math.max(m.last_read_seq ?? 0, u.last_read_seq);
      if (u.last_delivered_seq !== undefined) m.last_delivered_seq = Math.max(m.last_delivered_seq ?? 0, u.last_delivered_seq);
      if (u.marked_unread !== undefined) m.marked_unread = u.marked_unread;
      merged.set(key, m);
    }
    await Promise.all([...merged.values()].map((u) => this.saveMarker(u, now)));
  }

  private async saveMarker(u: MarkerUpdate, now: number): Promise<void> {
    const m = await this.convs.getMember(u.conv_id, u.user_id);
    if (m === null) return;
    const read = Math.max(m.last_read_seq, u.last_read_seq ?? 0);
    const delivered = Math.max(m.last_delivered_seq, u.last_delivered_seq ?? 0);
    const flagChanged = u.marked_unread !== undefined && u.marked_unread !== m.marked_unread;
    const moved = read > m.last_read_seq || flagChanged;
    if (!moved && delivered === m.last_delivered_seq) return;
    await this.db.run(markerCql, [
      read > m.last_read_seq ? read : undefined,
      delivered > m.last_delivered_seq ? delivered : undefined,
      flagChanged ? u.marked_unread : undefined,
      moved ? now : undefined,
      u.conv_id,
      u.user_id,
    ]);
  }

  /** An LWT (IF EXISTS): mutes are rare, and it must not create a row for a non-member. */
  async setMute(convId: string, userId: string, mutedUntil: number | null, now: number): Promise<boolean> {
    return (await this.db.lwt(muteCql, [mutedUntil, now, convId, userId])).applied;
  }

  async listInbox(userId: string, cursor: string | null, limit: number, now: number): Promise<InboxPage> {
    const n = clampLimit(limit);
    const [updatedAt, convId] = cursor === null ? [Number.MAX_SAFE_INTEGER, ''] : decodeCursor(cursor);
    const entries = (await this.entries(userId))
      .filter(({ conv: c }) => c.updated_at < updatedAt || (c.updated_at === updatedAt && c.conv_id < convId))
      .sort((x, y) => y.conv.updated_at - x.conv.updated_at || compareDesc(x.conv.conv_id, y.conv.conv_id));
    const page = entries.slice(0, n);
    const last = page[page.length - 1];
    return {
      rows: await this.rows(page, now),
      next_cursor: entries.length > n && last !== undefined ? encodeCursor(last.conv.updated_at, last.conv.conv_id) : null,
    };
  }

  async inboxChangedSince(userId: string, sinceMs: number, limit: number, now: number): Promise<InboxRow[]> {
    const changedAt = (e: Entry) => Math.max(e.conv.updated_at, e.member.updated_at);
    const page = (await this.entries(userId))
      .filter((e) => changedAt(e) >= sinceMs)
      .sort((x, y) => changedAt(y) - changedAt(x) || compareDesc(x.conv.conv_id, y.conv.conv_id))
      .slice(0, clampLimit(limit));
    return this.rows(page, now);
  }

  /**
   * The badge count: the rows listInbox would give `unread > 0 || marked_unread`, at most
   * `limit`. Cost: one read of the user's user_convs partition, then per conversation
   * (`except` skipped unread) two single-row reads in parallel, of a few columns: its
   * last_seq, and the user's member row (marker, flag, role). That is O(conversations of
   * the user), like listInbox before its unread counts. The log is read only for a
   * conversation not marked unread whose last_seq is past the marker, and only up to the
   * first unread message (EventLog.hasUnread: usually one read of 16 rows), never counted.
   * Conversations are looked at `badgeConcurrency` at a time, and no more are taken once
   * `limit` are counted, so a user with many unread conversations stops early.
   */
  async countUnreadConversations(userId: string, except: string | null, limit: number): Promise<number> {
    const n = clampLimit(limit);
    if (n === 0) return 0;
    const ids = (await this.convs.convIdsOf(userId)).filter((id) => id !== except);
    let counted = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (counted < n && next < ids.length) {
        if (await this.isUnread(ids[next++], userId)) counted++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(badgeConcurrency, ids.length) }, worker));
    // Workers already past the check may each add one more.
    return Math.min(counted, n);
  }

  /** One conversation for the badge; half-created ones and rows without a role are skipped, as entries() does. */
  private async isUnread(convId: string, userId: string): Promise<boolean> {
    const [conv, member] = await Promise.all([
      this.db.first('SELECT last_seq FROM conversations WHERE conv_id = ?', [convId]),
      this.db.first('SELECT role, last_read_seq, marked_unread FROM conv_members WHERE conv_id = ? AND user_id = ?', [convId, userId]),
    ]);
    if (conv === null || member === null || str(member, 'role') === null) return false;
    if (bool(member, 'marked_unread')) return true;
    return this.log.hasUnread(convId, userId, num(member, 'last_read_seq') ?? 0, num(conv, 'last_seq') ?? 0);
  }

  /** The user's conversations with the user's member row; ones half-created or left are skipped. */
  private async entries(userId: string): Promise<Entry[]> {
    const ids = await this.convs.convIdsOf(userId);
    const found = await Promise.all(
      ids.map(async (id) => {
        const [conv, member] = await Promise.all([this.convs.get(id), this.convs.getMember(id, userId)]);
        return conv === null || member === null ? null : { conv, member };
      }),
    );
    return found.filter((e): e is Entry => e !== null);
  }

  private rows(page: Entry[], now: number): Promise<InboxRow[]> {
    return Promise.all(
      page.map(async ({ conv: c, member: m }) => {
        // The preview's sender and time: one single-row read per row of the page, beside the counts.
        const [counts, source] = await Promise.all([
          this.log.countUnread(c.conv_id, m.user_id, m.last_read_seq, c.last_seq),
          c.preview === null || c.preview_seq === null ? null : this.log.senderAt(c.conv_id, c.preview_seq),
        ]);
        return {
          conv_id: c.conv_id,
          type: c.type,
          title: c.title,
          peer_id: peerFromDirectKey(c.direct_key, m.user_id),
          last_seq: c.last_seq,
          preview: c.preview,
          preview_sender_id: source?.sender_id ?? null,
          preview_ts: source?.ts ?? null,
          updated_at: c.updated_at,
          unread: counts.unread,
          unread_mentions: counts.mentions,
          last_read_seq: m.last_read_seq,
          marked_unread: m.marked_unread,
          muted_until: m.muted_until,
          muted: m.muted_until !== null && (m.muted_until === MUTED_FOREVER || m.muted_until > now),
        };
      }),
    );
  }
}

function compareDesc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

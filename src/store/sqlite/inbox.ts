/** Read markers, unread counts and the inbox listing. */
import type Database from 'better-sqlite3';
import { MUTED_FOREVER, ProtocolError, type ConversationType, type InboxRow } from '../../protocol';
import type { InboxPage, MarkerUpdate, UnreadCounts } from '../index';
import { clampLimit, decodeCursor, encodeCursor, peerFromDirectKey } from '../common';

/**
 * Unread messages of one member. Exported so the engine test can EXPLAIN it: it must stay
 * a range scan of the (conv_id, seq) key, never a scan of the conversation's whole log.
 */
export const countUnreadSql = `SELECT count(*) AS n,
    count(CASE WHEN mentions IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(mentions) WHERE value = @user_id) THEN 1 END) AS mentions
  FROM events
  WHERE conv_id = @conv_id AND seq > @after AND kind = 'message' AND sender_id <> @user_id AND deleted = 0`;

/**
 * The badge: the user's conversations with an unread message or the unread flag, the
 * conversation `@except` left out, at most `@limit` of them. A row counts when listInbox
 * would give it `unread > 0 || marked_unread`. The member rows come from
 * conv_members_by_user, the conversation by its key; a conversation read up to its
 * last_seq is decided by the guard before the EXISTS and costs no events lookup (OR and
 * AND short-circuit: the bytecode jumps past the subquery; appends move last_seq in the
 * transaction that writes the events, so no unread message lies past it), the others by a range of the (conv_id, seq)
 * key that stops at the first unread message instead of counting them all. Exported so
 * the engine test can EXPLAIN it.
 */
export const countUnreadConversationsSql = `SELECT count(*) AS n FROM (
  SELECT 1 FROM conv_members m JOIN conversations c ON c.conv_id = m.conv_id
  WHERE m.user_id = @user_id AND m.conv_id IS NOT @except
    AND (m.marked_unread <> 0 OR (c.last_seq > m.last_read_seq AND EXISTS (
      SELECT 1 FROM events e
      WHERE e.conv_id = m.conv_id AND e.seq > m.last_read_seq AND e.kind = 'message'
        AND e.sender_id <> m.user_id AND e.deleted = 0)))
  LIMIT +@limit)`;

// The same counts per inbox row, in one pass over the unread range: a scalar subquery
// returns one value, so both counts come back as a JSON pair ([unread, mentions]); two
// subqueries read the range twice. They are applied to the page only (the outer query):
// in the inner one SQLite would count for every conversation of the user before sorting.
// Mentions are looked for only among the unread rows, and only in rows that have any.
const withUnread = (page: string) => `SELECT p.*,
    (SELECT json_array(e.sender_id, e.created_at) FROM events e WHERE e.conv_id = p.conv_id AND e.seq = p.preview_seq) AS preview_of,
    (SELECT json_array(count(*),
        count(CASE WHEN e.mentions IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(e.mentions) WHERE value = p.user_id) THEN 1 END))
      FROM events e
      WHERE e.conv_id = p.conv_id AND e.seq > p.last_read_seq AND e.kind = 'message'
        AND e.sender_id <> p.user_id AND e.deleted = 0) AS unread
  FROM (${page}) p`;

const pageColumns = `c.conv_id, c.type, c.title, c.direct_key, c.last_seq, c.preview, c.preview_seq, c.updated_at,
  m.user_id, m.last_read_seq, m.muted_until, m.marked_unread`;

/**
 * The CONNACK's inbox rows: the user's conversations changed since a time, newest first,
 * with their unread counts. Exported so the engine test can EXPLAIN it: the counts must
 * read the log once per row, as a range of the (conv_id, seq) key.
 */
export const inboxChangedSinceSql = `${withUnread(`SELECT ${pageColumns}, MAX(c.updated_at, m.updated_at) AS changed_at
    FROM conv_members m JOIN conversations c ON c.conv_id = m.conv_id
    WHERE m.user_id = ? AND MAX(c.updated_at, m.updated_at) >= ?
    ORDER BY changed_at DESC, c.conv_id DESC LIMIT +?`)}
  ORDER BY p.changed_at DESC, p.conv_id DESC`;

interface InboxDbRow {
  conv_id: string;
  type: string;
  title: string | null;
  direct_key: string | null;
  last_seq: number;
  preview: string | null;
  /** JSON [sender_id, created_at] of the preview's message (withUnread); null without one. */
  preview_of: string | null;
  updated_at: number;
  last_read_seq: number;
  muted_until: number | null;
  marked_unread: number;
  /** JSON [unread, unread mentions] (withUnread). */
  unread: string;
}

/** Synchronous marker and inbox queries; SqliteStore wraps them in promises. */
export class InboxQueries {
  private readonly saveMarker: Database.Statement<[{ read: number; delivered: number; flag: number; now: number; conv_id: string; user_id: string }]>;
  private readonly saveAll: Database.Transaction<(updates: readonly MarkerUpdate[], now: number) => void>;
  private readonly unread: Database.Statement<[{ conv_id: string; after: number; user_id: string }], { n: number; mentions: number }>;
  private readonly mute: Database.Statement<[number | null, number, string, string]>;
  private readonly page: Database.Statement<[string, number, string, number], InboxDbRow>;
  private readonly changed: Database.Statement<[string, number, number], InboxDbRow>;
  private readonly unreadConvs: Database.Statement<[{ user_id: string; except: string | null; limit: number }], { n: number }>;

  constructor(db: Database.Database) {
    // MAX keeps markers forward-only whatever order updates arrive in; updated_at moves
    // only when the read marker or the unread flag does, so inboxChangedSince reports
    // real changes. The flag (-1: leave it) is set as given.
    this.saveMarker = db.prepare(
      `UPDATE conv_members SET
         last_read_seq = MAX(last_read_seq, @read),
         last_delivered_seq = MAX(last_delivered_seq, @delivered),
         marked_unread = CASE WHEN @flag < 0 THEN marked_unread ELSE @flag END,
         updated_at = CASE WHEN @read > last_read_seq OR (@flag >= 0 AND @flag <> marked_unread) THEN @now ELSE updated_at END
       WHERE conv_id = @conv_id AND user_id = @user_id`,
    );
    this.saveAll = db.transaction((updates: readonly MarkerUpdate[], now: number) => {
      for (const u of updates) {
        const flag = u.marked_unread === undefined ? -1 : u.marked_unread ? 1 : 0;
        this.saveMarker.run({ read: u.last_read_seq ?? 0, delivered: u.last_delivered_seq ?? 0, flag, now, conv_id: u.conv_id, user_id: u.user_id });
      }
    });
    this.unread = db.prepare(countUnreadSql);
    this.mute = db.prepare('UPDATE conv_members SET muted_until = ?, updated_at = ? WHERE conv_id = ? AND user_id = ?');
    // Row-value comparison is the keyset cursor: strictly after the last row returned.
    this.page = db.prepare(
      `${withUnread(`SELECT ${pageColumns} FROM conv_members m JOIN conversations c ON c.conv_id = m.conv_id
         WHERE m.user_id = ? AND (c.updated_at, c.conv_id) < (?, ?)
         ORDER BY c.updated_at DESC, c.conv_id DESC LIMIT +?`)}
       ORDER BY p.updated_at DESC, p.conv_id DESC`,
    );
    this.unreadConvs = db.prepare(countUnreadConversationsSql);
    this.changed = db.prepare(inboxChangedSinceSql);
  }

  saveMarkers(updates: readonly MarkerUpdate[], now: number): void {
    if (updates.length > 0) this.saveAll.immediate(updates, now);
  }

  countUnread(convId: string, userId: string, afterSeq: number): UnreadCounts {
    const row = this.unread.get({ conv_id: convId, after: afterSeq, user_id: userId });
    return { unread: row?.n ?? 0, mentions: row?.mentions ?? 0 };
  }

  setMute(convId: string, userId: string, mutedUntil: number | null, now: number): boolean {
    return this.mute.run(mutedUntil, now, convId, userId).changes === 1;
  }

  listInbox(userId: string, cursor: string | null, limit: number, now: number): InboxPage {
    const n = clampLimit(limit);
    const [updatedAt, convId] = cursor === null ? [Number.MAX_SAFE_INTEGER, ''] : decodeCursor(cursor);
    // One extra row tells whether another page exists without a second query.
    const rows = this.page.all(userId, updatedAt, convId, n + 1);
    const more = rows.length > n;
    if (more) rows.length = n;
    const last = rows[rows.length - 1];
    return {
      rows: rows.map((r) => toInboxRow(r, userId, now)),
      next_cursor: more && last !== undefined ? encodeCursor(last.updated_at, last.conv_id) : null,
    };
  }

  countUnreadConversations(userId: string, except: string | null, limit: number): number {
    return this.unreadConvs.get({ user_id: userId, except, limit: clampLimit(limit) })?.n ?? 0;
  }

  inboxChangedSince(userId: string, sinceMs: number, limit: number, now: number): InboxRow[] {
    return this.changed.all(userId, sinceMs, clampLimit(limit)).map((r) => toInboxRow(r, userId, now));
  }
}

function toInboxRow(r: InboxDbRow, userId: string, now: number): InboxRow {
  const [unread, mentions] = JSON.parse(r.unread) as [number, number];
  const [previewSender, previewTs] = r.preview === null || r.preview_of === null ? [null, null] : (JSON.parse(r.preview_of) as [string, number]);
  return {
    conv_id: r.conv_id,
    type: r.type as ConversationType,
    title: r.title,
    peer_id: peerFromDirectKey(r.direct_key, userId),
    last_seq: r.last_seq,
    preview: r.preview,
    preview_sender_id: previewSender,
    preview_ts: previewTs,
    updated_at: r.updated_at,
    unread,
    unread_mentions: mentions,
    last_read_seq: r.last_read_seq,
    marked_unread: r.marked_unread !== 0,
    muted_until: r.muted_until,
    muted: r.muted_until !== null && (r.muted_until === MUTED_FOREVER || r.muted_until > now),
  };
}



/** Read markers, unread counts and the inbox listing. */
import type Database from 'better-sqlite3';
import { ProtocolError, type ConversationType, type InboxRow } from '../../protocol';
import type { InboxPage, MarkerUpdate } from '../index';
import { peerFromDirectKey } from './conversations';
import { clampLimit } from './events';

/**
 * Unread messages of one member. Exported so the engine test can EXPLAIN it: it must stay
 * a range scan of the (conv_id, seq) key, never a scan of the conversation's whole log.
 */
export const countUnreadSql = `SELECT count(*) AS n FROM events
  WHERE conv_id = ? AND seq > ? AND kind = 'message' AND sender_id <> ? AND deleted = 0`;

// The same count per inbox row. It is applied to the page only (the outer query): in the
// inner one SQLite would count for every conversation of the user before sorting.
const withUnread = (page: string) => `SELECT p.*, (SELECT count(*) FROM events e
    WHERE e.conv_id = p.conv_id AND e.seq > p.last_read_seq AND e.kind = 'message'
      AND e.sender_id <> p.user_id AND e.deleted = 0) AS unread
  FROM (${page}) p`;

const pageColumns = `c.conv_id, c.type, c.title, c.direct_key, c.last_seq, c.preview, c.updated_at,
  m.user_id, m.last_read_seq`;

interface InboxDbRow {
  conv_id: string;
  type: string;
  title: string | null;
  direct_key: string | null;
  last_seq: number;
  preview: string | null;
  updated_at: number;
  last_read_seq: number;
  unread: number;
}

/** Synchronous marker and inbox queries; SqliteStore wraps them in promises. */
export class InboxQueries {
  private readonly saveMarker: Database.Statement<[number, number, number, number, string, string]>;
  private readonly saveAll: Database.Transaction<(updates: readonly MarkerUpdate[], now: number) => void>;
  private readonly unread: Database.Statement<[string, number, string], { n: number }>;
  private readonly page: Database.Statement<[string, number, string, number], InboxDbRow>;
  private readonly changed: Database.Statement<[string, number, number], InboxDbRow>;

  constructor(db: Database.Database) {
    // MAX keeps markers forward-only whatever order updates arrive in; updated_at moves
    // only when the read marker does, so inboxChangedSince reports real changes.
    this.saveMarker = db.prepare(
      `UPDATE conv_members SET
         last_read_seq = MAX(last_read_seq, ?),
         last_delivered_seq = MAX(last_delivered_seq, ?),
         updated_at = CASE WHEN ? > last_read_seq THEN ? ELSE updated_at END
       WHERE conv_id = ? AND user_id = ?`,
    );
    this.saveAll = db.transaction((updates: readonly MarkerUpdate[], now: number) => {
      for (const u of updates) {
        const read = u.last_read_seq ?? 0;
        this.saveMarker.run(read, u.last_delivered_seq ?? 0, read, now, u.conv_id, u.user_id);
      }
    });
    this.unread = db.prepare(countUnreadSql);
    // Row-value comparison is the keyset cursor: strictly after the last row returned.
    this.page = db.prepare(
      `${withUnread(`SELECT ${pageColumns} FROM conv_members m JOIN conversations c ON c.conv_id = m.conv_id
         WHERE m.user_id = ? AND (c.updated_at, c.conv_id) < (?, ?)
         ORDER BY c.updated_at DESC, c.conv_id DESC LIMIT ?`)}
       ORDER BY p.updated_at DESC, p.conv_id DESC`,
    );
    this.changed = db.prepare(
      `${withUnread(`SELECT ${pageColumns}, MAX(c.updated_at, m.updated_at) AS changed_at
         FROM conv_members m JOIN conversations c ON c.conv_id = m.conv_id
         WHERE m.user_id = ? AND MAX(c.updated_at, m.updated_at) >= ?
         ORDER BY changed_at DESC, c.conv_id DESC LIMIT ?`)}
       ORDER BY p.changed_at DESC, p.conv_id DESC`,
    );
  }

  saveMarkers(updates: readonly MarkerUpdate[], now: number): void {
    if (updates.length > 0) this.saveAll.immediate(updates, now);
  }

  countUnread(convId: string, userId: string, afterSeq: number): number {
    return this.unread.get(convId, afterSeq, userId)?.n ?? 0;
  }

  listInbox(userId: string, cursor: string | null, limit: number): InboxPage {
    const n = clampLimit(limit);
    const [updatedAt, convId] = cursor === null ? [Number.MAX_SAFE_INTEGER, ''] : decodeCursor(cursor);
    // One extra row tells whether another page exists without a second query.
    const rows = this.page.all(userId, updatedAt, convId, n + 1);
    const more = rows.length > n;
    if (more) rows.length = n;
    const last = rows[rows.length - 1];
    return {
      rows: rows.map((r) => toInboxRow(r, userId)),
      next_cursor: more && last !== undefined ? encodeCursor(last.updated_at, last.conv_id) : null,
    };
  }

  inboxChangedSince(userId: string, sinceMs: number, limit: number): InboxRow[] {
    return this.changed.all(userId, sinceMs, clampLimit(limit)).map((r) => toInboxRow(r, userId));
  }
}

function toInboxRow(r: InboxDbRow, userId: string): InboxRow {
  return {
    conv_id: r.conv_id,
    type: r.type as ConversationType,
    title: r.title,
    peer_id: peerFromDirectKey(r.direct_key, userId),
    last_seq: r.last_seq,
    preview: r.preview,
    updated_at: r.updated_at,
    unread: r.unread,
    last_read_seq: r.last_read_seq,
  };
}

// Opaque to clients; base64url of "updated_at:conv_id" (conv ids may contain ':').
function encodeCursor(updatedAt: number, convId: string): string {
  return Buffer.from(`${updatedAt}:${convId}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const sep = text.indexOf(':');
  const updatedAt = Number(text.slice(0, sep));
  if (sep <= 0 || !Number.isSafeInteger(updatedAt)) throw new ProtocolError('bad_request', 'invalid inbox cursor');
  return [updatedAt, text.slice(sep + 1)];
}

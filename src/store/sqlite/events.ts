/** Reading the event log: rows mapped to wire events and to folded history. */
import type Database from 'better-sqlite3';
import type { ConvEvent, EventKind } from '../../protocol';
import type { MessageView } from '../index';

/** An events row as the read statements select it. */
interface EventRow {
  conv_id: string;
  seq: number;
  kind: string;
  sender_id: string;
  body: string | null;
  reply_to: number | null;
  target_seq: number | null;
  emoji: string | null;
  client_msg_id: string | null;
  attachments: string | null;
  mentions: string | null;
  user_ids: string | null;
  title: string | null;
  created_at: number;
}

interface MessageRow extends EventRow {
  reactions: string | null;
  edited_at: number | null;
  deleted: number;
}

const eventColumns =
  'conv_id, seq, kind, sender_id, body, reply_to, target_seq, emoji, client_msg_id, attachments, mentions, user_ids, title, created_at';

/** Synchronous log reads; SqliteStore wraps them in promises. */
export class EventReader {
  private readonly after: Database.Statement<[string, number, number], EventRow>;
  private readonly before: Database.Statement<[string, number, number], MessageRow>;
  private readonly byClientMsgId: Database.Statement<[string, string, string], { seq: number; ts: number }>;

  constructor(db: Database.Database) {
    this.after = db.prepare(`SELECT ${eventColumns} FROM events WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT ?`);
    // Newest first to take the `limit` nearest `before`, then flipped to ascending.
    this.before = db.prepare(
      `SELECT * FROM (
         SELECT ${eventColumns}, reactions, edited_at, deleted FROM events
         WHERE conv_id = ? AND seq < ? AND kind = 'message' ORDER BY seq DESC LIMIT ?
       ) ORDER BY seq`,
    );
    this.byClientMsgId = db.prepare(
      `SELECT seq, created_at AS ts FROM events
       WHERE conv_id = ? AND sender_id = ? AND client_msg_id = ? AND client_msg_id IS NOT NULL`,
    );
  }

  readEvents(convId: string, afterSeq: number, limit: number): ConvEvent[] {
    return this.after.all(convId, afterSeq, clampLimit(limit)).map(toEvent);
  }

  readMessages(convId: string, beforeSeq: number, limit: number): MessageView[] {
    return this.before.all(convId, beforeSeq, clampLimit(limit)).map(toMessageView);
  }

  findByClientMsgId(convId: string, senderId: string, clientMsgId: string): { seq: number; ts: number } | null {
    return this.byClientMsgId.get(convId, senderId, clientMsgId) ?? null;
  }
}

/** SQLite reads a negative LIMIT as "no limit"; callers asking for <= 0 rows get none. */
export function clampLimit(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
}

/**
 * The wire shape of a row: only the fields its kind carries. A deleted message, and an
 * edit of it, carry body '' (the text is gone from storage, the field stays present).
 */
function toEvent(row: EventRow): ConvEvent {
  const kind = row.kind as EventKind;
  const ev: ConvEvent = { conv_id: row.conv_id, seq: row.seq, ts: row.created_at, sender_id: row.sender_id, kind };
  switch (kind) {
    case 'message':
      ev.body = row.body ?? '';
      ev.reply_to = row.reply_to;
      ev.attachments = parseList(row.attachments);
      ev.mentions = parseList(row.mentions);
      break;
    case 'reaction':
      ev.target_seq = row.target_seq ?? 0;
      ev.emoji = row.emoji;
      break;
    case 'edit':
      ev.target_seq = row.target_seq ?? 0;
      ev.body = row.body ?? '';
      break;
    case 'delete':
      ev.target_seq = row.target_seq ?? 0;
      break;
    case 'member_added':
    case 'member_removed':
      ev.user_ids = parseList(row.user_ids);
      break;
    case 'conversation_updated':
      ev.title = row.title;
      break;
  }
  if (row.client_msg_id !== null) ev.client_msg_id = row.client_msg_id;
  return ev;
}

function toMessageView(row: MessageRow): MessageView {
  return {
    ...toEvent(row),
    reactions: row.reactions === null ? {} : (JSON.parse(row.reactions) as Record<string, string>),
    edited_at: row.edited_at,
    deleted: row.deleted !== 0,
  };
}

function parseList(json: string | null): string[] {
  return json === null ? [] : (JSON.parse(json) as string[]);
}

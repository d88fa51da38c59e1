/** Reading the event log: rows mapped to wire events and to folded history. */
import type Database from 'better-sqlite3';
import type { ConvEvent, EventKind } from '../../protocol';
import type { MessageView } from '../index';

/**
 * An events row as the read statements return it: one JSON array per row, every row of a
 * read in one JSON text built by SQLite (json_group_array). better-sqlite3 makes a JS
 * object per row and a property per column, which cost ~7 µs per 14-column row and made
 * replay the top item of the reconnect-storm profile (20 events: ~140 µs as objects, ~45 µs
 * as one JSON.parse). JSON columns are embedded with json(), so they arrive parsed.
 */
type EventTuple = [
  conv_id: string,
  seq: number,
  kind: string,
  sender_id: string,
  body: string | null,
  reply_to: number | null,
  target_seq: number | null,
  emoji: string | null,
  client_msg_id: string | null,
  attachments: string[] | null,
  mentions: string[] | null,
  user_ids: string[] | null,
  title: string | null,
  created_at: number,
];

type MessageTuple = [...EventTuple, reactions: Record<string, string> | null, edited_at: number | null, deleted: number];

const eventArray = `json_array(conv_id, seq, kind, sender_id, body, reply_to, target_seq, emoji, client_msg_id,
  json(attachments), json(mentions), json(user_ids), title, created_at)`;
const messageArray = `json_array(conv_id, seq, kind, sender_id, body, reply_to, target_seq, emoji, client_msg_id,
  json(attachments), json(mentions), json(user_ids), title, created_at, json(reactions), edited_at, deleted)`;

/** Synchronous log reads; SqliteStore wraps them in promises. */
export class EventReader {
  private readonly after: Database.Statement<[string, number, number], string>;
  private readonly before: Database.Statement<[string, number, number], string>;
  private readonly byClientMsgId: Database.Statement<[string, string, string], { seq: number; ts: number }>;

  constructor(db: Database.Database) {
    // The subquery picks the rows (its ORDER BY serves the LIMIT), the aggregate's own
    // ORDER BY (SQLite >= 3.44) fixes the array's order. The arrays are built inside the
    // aggregate: a JSON value passed out of a subquery loses its JSON subtype and would be
    // quoted as a string.
    this.after = db
      .prepare<[string, number, number], string>(
        `SELECT json_group_array(${eventArray} ORDER BY seq) FROM (
           SELECT * FROM events WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT ?
         )`,
      )
      .pluck();
    // Newest first to take the `limit` nearest `before`; the aggregate returns them ascending.
    this.before = db
      .prepare<[string, number, number], string>(
        `SELECT json_group_array(${messageArray} ORDER BY seq) FROM (
           SELECT * FROM events WHERE conv_id = ? AND seq < ? AND kind = 'message' ORDER BY seq DESC LIMIT ?
         )`,
      )
      .pluck();
    this.byClientMsgId = db.prepare(
      `SELECT seq, created_at AS ts FROM events
       WHERE conv_id = ? AND sender_id = ? AND client_msg_id = ? AND client_msg_id IS NOT NULL`,
    );
  }

  readEvents(convId: string, afterSeq: number, limit: number): ConvEvent[] {
    const rows = JSON.parse(this.after.get(convId, afterSeq, clampLimit(limit)) ?? '[]') as EventTuple[];
    return rows.map(toEvent);
  }

  readMessages(convId: string, beforeSeq: number, limit: number): MessageView[] {
    const rows = JSON.parse(this.before.get(convId, beforeSeq, clampLimit(limit)) ?? '[]') as MessageTuple[];
    return rows.map(toMessageView);
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
function toEvent(r: EventTuple | MessageTuple): ConvEvent {
  const kind = r[2] as EventKind;
  const ev: ConvEvent = { conv_id: r[0], seq: r[1], ts: r[13], sender_id: r[3], kind };
  switch (kind) {
    case 'message':
      ev.body = r[4] ?? '';
      ev.reply_to = r[5];
      ev.attachments = r[9] ?? [];
      ev.mentions = r[10] ?? [];
      break;
    case 'reaction':
      ev.target_seq = r[6] ?? 0;
      ev.emoji = r[7];
      break;
    case 'edit':
      ev.target_seq = r[6] ?? 0;
      ev.body = r[4] ?? '';
      break;
    case 'delete':
      ev.target_seq = r[6] ?? 0;
      break;
    case 'member_added':
    case 'member_removed':
      ev.user_ids = r[11] ?? [];
      break;
    case 'conversation_updated':
      ev.title = r[12];
      break;
  }
  if (r[8] !== null) ev.client_msg_id = r[8];
  return ev;
}

function toMessageView(r: MessageTuple): MessageView {
  return { ...toEvent(r), reactions: r[14] ?? {}, edited_at: r[15], deleted: r[16] !== 0 };
}

/** Reading the event log: rows mapped to wire events and to folded history. */
import type Database from 'better-sqlite3';
import type { Attachment, ConvEvent, EventKind, LinkPreview } from '../../protocol';
import type { KeyedEvent, MessageView } from '../index';
import { clampLimit, eventOf, messageViewOf, type StoredEvent, type StoredMessage } from '../common';

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
  kind: EventKind,
  sender_id: string,
  body: string | null,
  reply_to: number | null,
  target_seq: number | null,
  emoji: string | null,
  client_msg_id: string | null,
  attachments: Attachment[] | null,
  mentions: string[] | null,
  user_ids: string[] | null,
  title: string | null,
  created_at: number,
  thread_root: number | null,
  link_preview: LinkPreview | null,
  attachment: Attachment | null,
];

type MessageTuple = [
  ...EventTuple,
  reactions: Record<string, string> | null,
  edited_at: number | null,
  deleted: number,
  reply_count: number,
  ready_attachments: Record<string, Attachment> | null,
];

const eventArray = `json_array(e.conv_id, e.seq, e.kind, e.sender_id, e.body, e.reply_to, e.target_seq, e.emoji,
  e.client_msg_id, json(e.attachments), json(e.mentions), json(e.user_ids), e.title, e.created_at, e.thread_root,
  json(e.link_preview), json(e.attachment))`;
// A reply shows its thread's count, kept on the thread's first message.
const messageArray = `json_array(e.conv_id, e.seq, e.kind, e.sender_id, e.body, e.reply_to, e.target_seq, e.emoji,
  e.client_msg_id, json(e.attachments), json(e.mentions), json(e.user_ids), e.title, e.created_at, e.thread_root,
  json(e.link_preview), json(e.attachment), json(e.reactions), e.edited_at, e.deleted,
  CASE WHEN e.thread_root IS NULL THEN e.reply_count
       ELSE (SELECT r.reply_count FROM events r WHERE r.conv_id = e.conv_id AND r.seq = e.thread_root) END,
  json(e.ready_attachments))`;

/** Synchronous log reads; SqliteStore wraps them in promises. */
export class EventReader {
  private readonly after: Database.Statement<[string, number, number], string>;
  private readonly before: Database.Statement<[string, number, number], string>;
  private readonly one: Database.Statement<[string, number], string>;
  private readonly thread: Database.Statement<[string, number, number, number], string>;
  private readonly byClientMsgId: Database.Statement<[string, string, string], KeyedEvent>;

  constructor(db: Database.Database) {
    // The subquery picks the rows (its ORDER BY serves the LIMIT), the aggregate's own
    // ORDER BY (SQLite >= 3.44) fixes the array's order. The arrays are built inside the
    // aggregate: a JSON value passed out of a subquery loses its JSON subtype and would be
    // quoted as a string.
    const aggregate = <P extends unknown[]>(array: string, rows: string) =>
      db.prepare<P, string>(`SELECT json_group_array(${array} ORDER BY e.seq) FROM (${rows}) e`).pluck();
    this.after = aggregate<[string, number, number]>(eventArray, 'SELECT * FROM events WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT +?');
    // Newest first to take the `limit` nearest `before`; the aggregate returns them ascending.
    this.before = aggregate<[string, number, number]>(
      messageArray,
      `SELECT * FROM events WHERE conv_id = ? AND seq < ? AND kind = 'message' ORDER BY seq DESC LIMIT +?`,
    );
    this.one = aggregate<[string, number]>(messageArray, `SELECT * FROM events WHERE conv_id = ? AND seq = ? AND kind = 'message'`);
    this.thread = aggregate<[string, number, number, number]>(
      messageArray,
      `SELECT * FROM events WHERE conv_id = ? AND thread_root = ? AND seq > ? AND kind = 'message' ORDER BY seq LIMIT +?`,
    );
    this.byClientMsgId = db.prepare(
      `SELECT seq, created_at AS ts, kind FROM events
       WHERE conv_id = ? AND sender_id = ? AND client_msg_id = ? AND client_msg_id IS NOT NULL`,
    );
  }

  readEvents(convId: string, afterSeq: number, limit: number): ConvEvent[] {
    return parseRows<EventTuple>(this.after.get(convId, afterSeq, clampLimit(limit))).map(toEvent);
  }

  readMessages(convId: string, beforeSeq: number, limit: number): MessageView[] {
    return parseRows<MessageTuple>(this.before.get(convId, beforeSeq, clampLimit(limit))).map(toMessageView);
  }

  readMessage(convId: string, seq: number): MessageView | null {
    const rows = parseRows<MessageTuple>(this.one.get(convId, seq));
    return rows.length === 0 ? null : toMessageView(rows[0]);
  }

  readThreadReplies(convId: string, rootSeq: number, afterSeq: number, limit: number): MessageView[] {
    return parseRows<MessageTuple>(this.thread.get(convId, rootSeq, afterSeq, clampLimit(limit))).map(toMessageView);
  }

  findByClientMsgId(convId: string, senderId: string, clientMsgId: string): KeyedEvent | null {
    return this.byClientMsgId.get(convId, senderId, clientMsgId) ?? null;
  }
}

/**
 * The tuple as the row shape both engines map to the wire (common.ts). Measured against
 * mapping the tuple directly, that object costs under 1 µs per 20-row replay read, next to
 * ~10 µs of JSON.parse and ~70 µs of SQL.
 */
function stored(r: EventTuple | MessageTuple): StoredEvent {
  return {
    conv_id: r[0],
    seq: r[1],
    kind: r[2],
    sender_id: r[3],
    body: r[4],
    reply_to: r[5],
    target_seq: r[6],
    emoji: r[7],
    client_msg_id: r[8],
    attachments: r[9],
    mentions: r[10],
    user_ids: r[11],
    title: r[12],
    created_at: r[13],
    thread_root: r[14],
    link_preview: r[15],
    attachment: r[16],
  };
}

function toEvent(r: EventTuple): ConvEvent {
  return eventOf(stored(r));
}

function toMessageView(r: MessageTuple): MessageView {
  const row: StoredMessage = Object.assign(stored(r), { reactions: r[17], edited_at: r[18], deleted: r[19] !== 0, ready_attachments: r[21] });
  return messageViewOf(row, r[20] ?? 0);
}

function parseRows<T>(json: string | undefined): T[] {
  return JSON.parse(json ?? '[]') as T[];
}

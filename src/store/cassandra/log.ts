/**
 * Reads of the event log across its (conv_id, bucket) partitions. A range read walks the
 * buckets in order and stops at the bucket of the conversation's last_seq (always reading
 * at least the first one), so it touches exactly the partitions that can hold its rows.
 */
import type { ConvEvent, EventKind } from '../../protocol';
import type { KeyedEvent, MessageView, UnreadCounts } from '../types';
import { num, str, type Cql, type Row } from './db';
import { bucketOf, eventColumns, rowFromCql, type EventRow, storableSeq } from './rows';
import { clampLimit, eventOf, messageViewOf } from '../common';

/** Rows fetched per step of a backward scan that filters (messages among other kinds). */
const scanPage = 64;

const unreadColumns = 'seq, kind, sender_id, deleted, mentions';

/** hasUnread's first read, and its largest: most first reads find the message at once. */
const firstProbe = 16;
const maxProbe = 1024;

/** Whether a log row is an unread message for `userId` (what countUnread counts). */
function unreadFor(r: Row, userId: string): boolean {
  return r.get('kind') === 'message' && r.get('sender_id') !== userId && r.get('deleted') !== true;
}

export class EventLog {
  constructor(private readonly db: Cql) {}

  /** The conversation's last_seq, 0 when it is empty or unknown. */
  async lastSeq(convId: string): Promise<number> {
    const row = await this.db.first('SELECT last_seq FROM conversations WHERE conv_id = ?', [convId]);
    return row === null ? 0 : (num(row, 'last_seq') ?? 0);
  }

  /**
   * Rows with seq > afterSeq, ascending, at most `limit` (Infinity: all), selecting
   * `columns`. `lastSeq` bounds the buckets; passed as a promise it is read alongside the
   * first bucket.
   */
  async forward(convId: string, afterSeq: number, limit: number, lastSeq: number | Promise<number>, columns = eventColumns): Promise<Row[]> {
    if (limit <= 0 || !storableSeq(afterSeq + 1)) return [];
    const after = Math.max(0, afterSeq);
    let bucket = bucketOf(after + 1);
    const out: Row[] = [];
    const read = (b: number) =>
      Number.isFinite(limit)
        ? this.db.rows(`SELECT ${columns} FROM events WHERE conv_id = ? AND bucket = ? AND seq > ? LIMIT ?`, [convId, b, after, limit - out.length])
        : this.db.rows(`SELECT ${columns} FROM events WHERE conv_id = ? AND bucket = ? AND seq > ?`, [convId, b, after]);
    const [last, first] = await Promise.all([lastSeq, read(bucket)]);
    out.push(...first);
    const end = Math.max(bucket, bucketOf(last));
    while (out.length < limit && ++bucket <= end) out.push(...(await read(bucket)));
    return out;
  }

  /**
   * Up to `limit` rows with seq < beforeSeq that pass `keep`, newest first. Walks down the
   * buckets from the one holding min(beforeSeq - 1, lastSeq), a page at a time.
   */
  async backward(convId: string, beforeSeq: number, limit: number, lastSeq: number, keep: (r: EventRow) => boolean): Promise<EventRow[]> {
    const out: EventRow[] = [];
    if (limit <= 0 || beforeSeq <= 1) return out;
    let bucket = bucketOf(Math.max(0, Math.min(beforeSeq - 1, lastSeq)));
    let below = beforeSeq;
    while (out.length < limit && bucket >= 0) {
      const page = Math.max(scanPage, limit - out.length);
      const rows = await this.db.rows(
        `SELECT ${eventColumns} FROM events WHERE conv_id = ? AND bucket = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
        [convId, bucket, below, page],
      );
      for (const r of rows) {
        const row = rowFromCql(r);
        if (keep(row)) out.push(row);
        if (out.length === limit) break;
      }
      if (rows.length < page) bucket--;
      else below = num(rows[rows.length - 1], 'seq') ?? 0;
    }
    return out;
  }

  /** The rows at `seqs` that exist, by seq (one IN query per bucket, in parallel). */
  async rowsAt(convId: string, seqs: Iterable<number>): Promise<Map<number, EventRow>> {
    const byBucket = new Map<number, number[]>();
    for (const seq of new Set(seqs)) {
      if (!storableSeq(seq)) continue;
      const b = bucketOf(seq);
      const list = byBucket.get(b);
      if (list === undefined) byBucket.set(b, [seq]);
      else list.push(seq);
    }
    const found = new Map<number, EventRow>();
    await Promise.all(
      [...byBucket].map(async ([b, list]) => {
        const rows = await this.db.rows(`SELECT ${eventColumns} FROM events WHERE conv_id = ? AND bucket = ? AND seq IN ?`, [convId, b, list]);
        for (const r of rows) {
          const row = rowFromCql(r);
          found.set(row.seq, row);
        }
      }),
    );
    return found;
  }

  /** Sender and time of the event at `seq` (the inbox preview's message); null when there is none. */
  async senderAt(convId: string, seq: number): Promise<{ sender_id: string; ts: number } | null> {
    if (!storableSeq(seq)) return null;
    const row = await this.db.first('SELECT sender_id, created_at FROM events WHERE conv_id = ? AND bucket = ? AND seq = ?', [convId, bucketOf(seq), seq]);
    return row === null ? null : { sender_id: str(row, 'sender_id') ?? '', ts: num(row, 'created_at') ?? 0 };
  }

  /** The kind of the event at `seq`; null when there is none. */
  async kindAt(convId: string, seq: number): Promise<EventKind | null> {
    if (!storableSeq(seq)) return null;
    const row = await this.db.first('SELECT kind FROM events WHERE conv_id = ? AND bucket = ? AND seq = ?', [convId, bucketOf(seq), seq]);
    return row === null ? null : (str(row, 'kind') as EventKind | null);
  }

  async readEvents(convId: string, afterSeq: number, limit: number): Promise<ConvEvent[]> {
    const n = clampLimit(limit);
    if (n === 0) return [];
    return (await this.forward(convId, afterSeq, n, this.lastSeq(convId))).map((r) => eventOf(rowFromCql(r)));
  }

  async readMessages(convId: string, beforeSeq: number, limit: number): Promise<MessageView[]> {
    const n = clampLimit(limit);
    if (n === 0) return [];
    const rows = await this.backward(convId, beforeSeq, n, await this.lastSeq(convId), (r) => r.kind === 'message');
    return this.views(convId, rows.reverse());
  }

  async readMessage(convId: string, seq: number): Promise<MessageView | null> {
    const row = (await this.rowsAt(convId, [seq])).get(seq);
    if (row === undefined || row.kind !== 'message') return null;
    return (await this.views(convId, [row]))[0];
  }

  async readThreadReplies(convId: string, rootSeq: number, afterSeq: number, limit: number): Promise<MessageView[]> {
    const n = clampLimit(limit);
    if (n === 0) return [];
    const index = await this.db.rows('SELECT seq FROM thread_replies WHERE conv_id = ? AND thread_root = ? AND seq > ? LIMIT ?', [convId, rootSeq, afterSeq, n]);
    if (index.length === 0) return [];
    const seqs = index.map((r) => num(r, 'seq') ?? 0);
    const rows = await this.rowsAt(convId, [...seqs, rootSeq]);
    const replies = seqs.map((s) => rows.get(s)).filter((r): r is EventRow => r !== undefined && r.kind === 'message');
    const count = rows.get(rootSeq)?.reply_count ?? 0;
    return replies.map((r) => messageViewOf(r, count));
  }

  /**
   * The committed event of an idempotency key. A claim whose event never landed (its
   * writer died between the two writes) is not a committed event: it answers null here,
   * and the retry's appendEvents finds the claim and moves it to the retry's own seq.
   * The claim holds seq and ts; the kind is read from the event row the check reads anyway.
   */
  async findByClientMsgId(convId: string, senderId: string, clientMsgId: string): Promise<KeyedEvent | null> {
    const claim = await this.db.first('SELECT seq, ts FROM event_keys WHERE conv_id = ? AND sender_id = ? AND client_msg_id = ?', [convId, senderId, clientMsgId]);
    if (claim === null) return null;
    const seq = num(claim, 'seq') ?? 0;
    const kind = await this.kindAt(convId, seq);
    return kind === null ? null : { seq, ts: num(claim, 'ts') ?? 0, kind };
  }

  /** Messages from others after `afterSeq`, not deleted, and those mentioning `userId`: O(events after it). */
  async countUnread(convId: string, userId: string, afterSeq: number, lastSeq?: number): Promise<UnreadCounts> {
    const counts: UnreadCounts = { unread: 0, mentions: 0 };
    if (lastSeq !== undefined && lastSeq <= afterSeq) return counts;
    const rows = await this.forward(convId, afterSeq, Infinity, lastSeq ?? this.lastSeq(convId), unreadColumns);
    for (const r of rows) {
      if (!unreadFor(r, userId)) continue;
      counts.unread++;
      const mentions: unknown = r.get('mentions');
      if (Array.isArray(mentions) && mentions.includes(userId)) counts.mentions++;
    }
    return counts;
  }

  /**
   * Whether countUnread would count at least one message: the same rows (the buckets from
   * the marker's up to last_seq's, nothing read when last_seq <= afterSeq), but read in
   * pages that stop at the first unread message. Pages start at 16 rows of 3 columns
   * (usually the first event after the marker is such a message, so one small read) and
   * double up to 1024, so a long run of reactions or own messages costs few round trips.
   */
  async hasUnread(convId: string, userId: string, afterSeq: number, lastSeq: number): Promise<boolean> {
    if (lastSeq <= afterSeq || !storableSeq(afterSeq + 1)) return false;
    let after = Math.max(0, afterSeq);
    let bucket = bucketOf(after + 1);
    const end = Math.max(bucket, bucketOf(lastSeq));
    let probe = firstProbe;
    while (bucket <= end) {
      const rows = await this.db.rows('SELECT seq, kind, sender_id, deleted FROM events WHERE conv_id = ? AND bucket = ? AND seq > ? LIMIT ?', [convId, bucket, after, probe]);
      if (rows.some((r) => unreadFor(r, userId))) return true;
      if (rows.length < probe) bucket++;
      else after = num(rows[rows.length - 1], 'seq') ?? after;
      probe = Math.min(maxProbe, probe * 2);
    }
    return false;
  }

  /** History views of `rows`, each with the reply count of its thread (roots fetched once). */
  private async views(convId: string, rows: EventRow[]): Promise<MessageView[]> {
    const bySeq = new Map(rows.map((r) => [r.seq, r]));
    const missing = rows.map((r) => r.thread_root).filter((s): s is number => s !== null && !bySeq.has(s));
    const roots = missing.length === 0 ? new Map<number, EventRow>() : await this.rowsAt(convId, missing);
    const countOf = (seq: number) => (bySeq.get(seq) ?? roots.get(seq))?.reply_count ?? 0;
    return rows.map((r) => messageViewOf(r, r.thread_root === null ? r.reply_count : countOf(r.thread_root)));
  }
}

/** The events row in memory, its columns and its CQL parameters (common.ts maps it to the wire). */
import type { Attachment, ConvEvent, EventKind, LinkPreview } from '../../protocol';
import { bool, list, num, numList, str, textMap, type Param, type Row } from './db';
import { previewOfEvent, type StoredMessage } from '../common';

/** Events per log partition: bucket = floor(seq / B). Fixed forever: changing it moves every row. */
export const bucketSize = 4096;

export function bucketOf(seq: number): number {
  return Math.floor(seq / bucketSize);
}

/**
 * Whether `seq` can be in the log at all: the bucket is a CQL int, so a seq from 2^43 on
 * has no partition (a sequencer would take millennia to get there). Reads asked for such
 * a seq (a client claiming to hold "everything", say) find nothing instead of failing.
 */
export function storableSeq(seq: number): boolean {
  return bucketOf(seq) <= 2 ** 31 - 1;
}

/**
 * One events row with its folded state; empty collections stand for null columns. It is a
 * StoredMessage, so common.ts maps it to wire events and history views as it does SQLite's.
 */
export interface EventRow extends StoredMessage {
  /** Cassandra reads an empty collection for a null one: never null here. Stored as one JSON text each. */
  attachments: Attachment[];
  mentions: string[];
  user_ids: string[];
  reactions: Record<string, string>;
  /** Stored as map<text, text>: attachment id -> JSON Attachment. */
  ready_attachments: Record<string, Attachment>;
  reply_count: number;
  /** Seqs of the edit, link_preview and reaction events that hold content about this message. */
  derived: number[];
}

/** The columns a fold may change on an existing row (see EventLog's update statement). */
export type FoldColumn =
  | 'body'
  | 'emoji'
  | 'edited_at'
  | 'deleted'
  | 'attachments'
  | 'mentions'
  | 'reactions'
  | 'link_preview'
  | 'attachment'
  | 'ready_attachments'
  | 'reply_count'
  | 'derived';

export const eventColumns =
  'conv_id, seq, kind, sender_id, body, reply_to, target_seq, emoji, client_msg_id, attachments, mentions, user_ids, ' +
  'title, created_at, thread_root, link_preview, reactions, edited_at, deleted, reply_count, derived, attachment, ready_attachments';

export const insertEventCql = `INSERT INTO events (bucket, ${eventColumns}) VALUES (${Array(24).fill('?').join(', ')})`;

export const foldColumns: readonly FoldColumn[] = [
  'body',
  'emoji',
  'edited_at',
  'deleted',
  'attachments',
  'mentions',
  'reactions',
  'link_preview',
  'attachment',
  'ready_attachments',
  'reply_count',
  'derived',
];

/**
 * Sets the fold columns; an unchanged column is bound as undefined ("unset": not written).
 * `derived` only grows (every reaction adds to it), so it is added to rather than
 * overwritten: overwriting a collection writes a tombstone for its old content each time.
 */
export const updateFoldCql = `UPDATE events SET ${foldColumns
  .map((c) => (c === 'derived' ? 'derived = derived + ?' : `${c} = ?`))
  .join(', ')} WHERE conv_id = ? AND bucket = ? AND seq = ?`;

export function rowFromCql(r: Row): EventRow {
  const preview = str(r, 'link_preview');
  const attachment = str(r, 'attachment');
  return {
    conv_id: str(r, 'conv_id') ?? '',
    seq: num(r, 'seq') ?? 0,
    kind: (str(r, 'kind') ?? 'message') as EventKind,
    sender_id: str(r, 'sender_id') ?? '',
    body: str(r, 'body'),
    reply_to: num(r, 'reply_to'),
    target_seq: num(r, 'target_seq'),
    emoji: str(r, 'emoji'),
    client_msg_id: str(r, 'client_msg_id'),
    attachments: list(r, 'attachments').map((a) => JSON.parse(a) as Attachment),
    mentions: list(r, 'mentions'),
    user_ids: list(r, 'user_ids'),
    title: str(r, 'title'),
    created_at: num(r, 'created_at') ?? 0,
    thread_root: num(r, 'thread_root'),
    link_preview: preview === null ? null : (JSON.parse(preview) as LinkPreview),
    reactions: textMap(r, 'reactions'),
    edited_at: num(r, 'edited_at'),
    deleted: bool(r, 'deleted'),
    reply_count: num(r, 'reply_count') ?? 0,
    derived: numList(r, 'derived'),
    attachment: attachment === null ? null : (JSON.parse(attachment) as Attachment),
    ready_attachments: Object.fromEntries(Object.entries(textMap(r, 'ready_attachments')).map(([id, a]) => [id, JSON.parse(a) as Attachment])),
  };
}

/** A new row from an appended event (the fields its kind carries, as SQLite stores them). */
export function rowFromEvent(ev: ConvEvent): EventRow {
  const isPreview = ev.kind === 'link_preview';
  return {
    conv_id: ev.conv_id,
    seq: ev.seq,
    kind: ev.kind,
    sender_id: ev.sender_id,
    body: ev.body ?? null,
    reply_to: ev.reply_to ?? null,
    target_seq: ev.target_seq ?? null,
    emoji: ev.emoji ?? null,
    client_msg_id: ev.client_msg_id ?? null,
    attachments: ev.attachments ?? [],
    mentions: ev.mentions ?? [],
    user_ids: ev.user_ids ?? [],
    title: isPreview ? null : (ev.title ?? null),
    created_at: ev.ts,
    thread_root: ev.thread_root ?? null,
    link_preview: isPreview ? previewOfEvent(ev) : null,
    reactions: {},
    edited_at: null,
    deleted: false,
    reply_count: 0,
    derived: [],
    attachment: ev.kind === 'attachment_ready' ? (ev.attachment ?? null) : null,
    ready_attachments: {},
  };
}

/** Insert parameters in insertEventCql order; nulls and empties are unset, not tombstones. */
export function insertParams(r: EventRow): Param[] {
  return [
    bucketOf(r.seq),
    r.conv_id,
    r.seq,
    r.kind,
    r.sender_id,
    r.body ?? undefined,
    r.reply_to ?? undefined,
    r.target_seq ?? undefined,
    r.emoji ?? undefined,
    r.client_msg_id ?? undefined,
    nonEmpty(r.attachments.map((a) => JSON.stringify(a))),
    nonEmpty(r.mentions),
    nonEmpty(r.user_ids),
    r.title ?? undefined,
    r.created_at,
    r.thread_root ?? undefined,
    r.link_preview === null ? undefined : JSON.stringify(r.link_preview),
    Object.keys(r.reactions).length === 0 ? undefined : r.reactions,
    r.edited_at ?? undefined,
    r.deleted ? true : undefined,
    r.reply_count === 0 ? undefined : r.reply_count,
    nonEmpty(r.derived),
    r.attachment === null ? undefined : JSON.stringify(r.attachment),
    Object.keys(r.ready_attachments).length === 0 ? undefined : jsonValues(r.ready_attachments),
  ];
}

/** Update parameters in updateFoldCql order: changed columns get their value (null clears). */
export function foldParams(r: EventRow, changed: ReadonlySet<FoldColumn>): Param[] {
  const value = (c: FoldColumn): Param => {
    switch (c) {
      case 'body':
        return r.body;
      case 'emoji':
        return r.emoji;
      case 'edited_at':
        return r.edited_at;
      case 'deleted':
        return r.deleted;
      case 'attachments':
        return r.attachments.length === 0 ? null : r.attachments.map((a) => JSON.stringify(a));
      case 'mentions':
        return r.mentions.length === 0 ? null : r.mentions;
      case 'reactions':
        return Object.keys(r.reactions).length === 0 ? null : r.reactions;
      case 'link_preview':
        return r.link_preview === null ? null : JSON.stringify(r.link_preview);
      case 'attachment':
        return r.attachment === null ? null : JSON.stringify(r.attachment);
      case 'ready_attachments':
        return Object.keys(r.ready_attachments).length === 0 ? null : jsonValues(r.ready_attachments);
      case 'reply_count':
        return r.reply_count;
      case 'derived':
        // Added to the stored set (see updateFoldCql): seqs already there are no change.
        return r.derived;
    }
  };
  return [...foldColumns.map((c) => (changed.has(c) ? value(c) : undefined)), r.conv_id, bucketOf(r.seq), r.seq];
}

function nonEmpty<T extends string | number>(xs: readonly T[]): readonly T[] | undefined {
  return xs.length === 0 ? undefined : xs;
}

function jsonValues(m: Readonly<Record<string, Attachment>>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([id, a]) => [id, JSON.stringify(a)]));
}

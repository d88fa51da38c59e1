/**
 * What one batch does to one conversation, computed in memory before anything is written:
 * new event rows in their final state, folded columns of existing rows (reactions, edits,
 * deletes, link previews, reply counts), text removed from edit and preview events of a
 * deleted message, thread index rows, membership changes and the conversation's touch.
 * The rules are SQLite's (src/store/sqlite/append.ts), applied to rows read beforehand.
 * Read-modify-write is sound because one actor writes a conversation at a time (its owner
 * shard; the sequencer fences a stale owner), so no other writer moves these rows between
 * the read and the write. That is also why reply_count and member_count are plain ints,
 * not Cassandra counters (a counter column cannot share a table with other columns).
 */
import type { AppendItem } from '../types';
import type { ConvEvent, MemberRole } from '../../protocol';
import { rowFromEvent, type EventRow, type FoldColumn } from './rows';
import { foldReadyAttachment, previewOf, previewOfEvent } from '../common';

/** A row the batch holds: read from the log (changed columns tracked) or new (inserted whole). */
export interface Slot {
  row: EventRow;
  isNew: boolean;
  changed: Set<FoldColumn>;
}

/** A member to insert, or null for one to delete. */
export type MemberOp = { role: MemberRole; joinedAt: number; lastReadSeq: number } | null;

/** The batch's effect on the conversation row, applied by the appender after the log writes. */
export interface ConvTouch {
  lastSeq: number;
  updatedAt: number;
  memberDelta: number;
  setTitle: boolean;
  title: string | null;
  /** Newest message written by this batch (0: none) and its preview text. */
  previewSeq: number;
  preview: string | null;
  /** Edits that applied, in batch order: they refresh the preview when they hit its source. */
  edits: { target: number; body: string }[];
  /** Messages this batch deleted: if the preview's source is among them it falls back. */
  deletedSeqs: Set<number>;
}

export class ConvFold {
  readonly slots = new Map<number, Slot>();
  /** Edit, link_preview and reaction events of a deleted message that are not in memory: cleared by seq. */
  readonly clears = new Set<number>();
  readonly threadIndex: { root: number; seq: number }[] = [];
  readonly memberOps = new Map<string, MemberOp>();
  /** New messages with attachments: their records are posted before the event rows are written. */
  readonly posts: { seq: number; ids: string[] }[] = [];
  /** Messages this batch deleted that carried attachments: their records go after the writes. */
  readonly unsent: { seq: number; ids: string[] }[] = [];
  readonly touch: ConvTouch = {
    lastSeq: 0,
    updatedAt: 0,
    memberDelta: 0,
    setTitle: false,
    title: null,
    previewSeq: 0,
    preview: null,
    edits: [],
    deletedSeqs: new Set(),
  };

  /** `loaded`: log rows the batch refers to; `members`: which of the batch's member ids are members now. */
  constructor(
    loaded: ReadonlyMap<number, EventRow>,
    private readonly members: Set<string>,
  ) {
    for (const [seq, row] of loaded) this.slots.set(seq, { row, isNew: false, changed: new Set() });
  }

  /** Applies one written event (with its membership changes) in batch order. */
  apply(item: AppendItem, ev: ConvEvent): void {
    this.slots.set(ev.seq, { row: rowFromEvent(ev), isNew: true, changed: new Set() });
    const t = this.touch;
    if (ev.seq > t.lastSeq) {
      t.lastSeq = ev.seq;
      t.updatedAt = ev.ts;
    }
    switch (ev.kind) {
      case 'message':
        if (ev.seq > t.previewSeq) {
          t.previewSeq = ev.seq;
          t.preview = previewOf(ev.body ?? '', ev.attachments ?? null);
        }
        if (ev.thread_root != null) {
          this.threadIndex.push({ root: ev.thread_root, seq: ev.seq });
          this.countReply(ev.thread_root, 1);
        }
        if (ev.attachments !== undefined && ev.attachments.length > 0) this.posts.push({ seq: ev.seq, ids: ev.attachments.map((a) => a.id) });
        break;
      case 'attachment_ready':
        if (ev.target_seq != null) this.foldAttachment(ev.seq, ev.target_seq);
        break;
      case 'link_preview':
        if (ev.target_seq != null) {
          const m = this.message(ev.target_seq);
          if (m !== null) {
            this.derive(m, ev.seq);
            if (!m.row.deleted) this.set(m, 'link_preview', (r) => (r.link_preview = previewOfEvent(ev)));
          }
        }
        break;
      case 'reaction':
        if (ev.target_seq != null) {
          const m = this.message(ev.target_seq);
          if (m !== null && !m.row.deleted) {
            // A removal says nothing a delete would have to take back.
            if (ev.emoji != null) this.derive(m, ev.seq);
            this.set(m, 'reactions', (r) => {
              const next = { ...r.reactions };
              if (ev.emoji == null) delete next[ev.sender_id];
              else next[ev.sender_id] = ev.emoji;
              r.reactions = next;
            });
          }
        }
        break;
      case 'edit':
        if (ev.target_seq != null && ev.body != null) {
          const m = this.message(ev.target_seq);
          if (m !== null) {
            this.derive(m, ev.seq);
            if (!m.row.deleted) {
              const body = ev.body;
              this.set(m, 'body', (r) => (r.body = body));
              this.set(m, 'edited_at', (r) => (r.edited_at = ev.ts));
              t.edits.push({ target: ev.target_seq, body });
            }
          }
        }
        break;
      case 'delete':
        if (ev.target_seq != null) this.delete(ev.target_seq);
        break;
      case 'member_added':
        for (const m of item.members?.add ?? []) {
          if (this.members.has(m.user_id)) continue;
          this.members.add(m.user_id);
          this.memberOps.set(m.user_id, { role: m.role, joinedAt: ev.ts, lastReadSeq: m.last_read_seq });
          t.memberDelta++;
        }
        break;
      case 'member_removed':
        for (const userId of item.members?.remove ?? []) {
          if (!this.members.delete(userId)) continue;
          this.memberOps.set(userId, null);
          t.memberDelta--;
        }
        break;
      case 'conversation_updated':
        if (ev.title !== undefined) {
          t.setTitle = true;
          t.title = ev.title;
        }
        break;
    }
  }

  /** Rows read from the log that this batch changed. */
  updated(): Slot[] {
    return [...this.slots.values()].filter((s) => !s.isNew && s.changed.size > 0);
  }

  inserted(): EventRow[] {
    return [...this.slots.values()].filter((s) => s.isNew).map((s) => s.row);
  }

  /**
   * The content goes; seq, sender, time, reply_to and thread_root stay so the tombstone
   * keeps its place in order and in its thread. A deleted reply leaves its thread's count.
   * The edit and link_preview events that copied the text lose it too, and the reactions
   * their emoji.
   */
  private delete(target: number): void {
    const m = this.message(target);
    if (m === null) return;
    if (!m.row.deleted) {
      if (m.row.attachments.length > 0) this.unsent.push({ seq: target, ids: m.row.attachments.map((a) => a.id) });
      this.set(m, 'deleted', (r) => (r.deleted = true));
      this.set(m, 'body', (r) => (r.body = null));
      this.set(m, 'attachments', (r) => (r.attachments = []));
      if (Object.keys(m.row.ready_attachments).length > 0) this.set(m, 'ready_attachments', (r) => (r.ready_attachments = {}));
      this.set(m, 'mentions', (r) => (r.mentions = []));
      this.set(m, 'reactions', (r) => (r.reactions = {}));
      this.set(m, 'link_preview', (r) => (r.link_preview = null));
      this.touch.deletedSeqs.add(target);
      if (m.row.thread_root !== null) this.countReply(m.row.thread_root, -1);
    }
    for (const seq of m.row.derived) {
      const d = this.slots.get(seq);
      if (d === undefined) this.clears.add(seq);
      else if (d.row.kind === 'edit') this.set(d, 'body', (r) => (r.body = null));
      else if (d.row.kind === 'link_preview') this.set(d, 'link_preview', (r) => (r.link_preview = null));
      else if (d.row.kind === 'reaction') this.set(d, 'emoji', (r) => (r.emoji = null));
      else if (d.row.kind === 'attachment_ready') this.set(d, 'attachment', (r) => (r.attachment = null));
    }
  }

  /**
   * Folds an attachment_ready event (its new row is slot `seq`) into its live message.
   * Aimed at a deleted or missing message it changes nothing, and the event keeps no
   * attachment: what a delete would have scrubbed is not written after it.
   */
  private foldAttachment(seq: number, target: number): void {
    const ev = this.slots.get(seq) as Slot;
    const att = ev.row.attachment;
    const m = this.message(target);
    if (m === null || m.row.deleted) {
      ev.row.attachment = null;
      return;
    }
    this.derive(m, seq);
    if (att === null) return;
    const ready = foldReadyAttachment(m.row.attachments, m.row.ready_attachments, att);
    if (ready !== null) this.set(m, 'ready_attachments', (r) => (r.ready_attachments = ready));
  }

  private countReply(root: number, delta: number): void {
    const m = this.message(root);
    if (m !== null) this.set(m, 'reply_count', (r) => (r.reply_count += delta));
  }

  private derive(m: Slot, seq: number): void {
    if (!m.row.derived.includes(seq)) this.set(m, 'derived', (r) => (r.derived = [...r.derived, seq]));
  }

  private message(seq: number): Slot | null {
    const s = this.slots.get(seq);
    return s !== undefined && s.row.kind === 'message' ? s : null;
  }

  private set(slot: Slot, column: FoldColumn, change: (r: EventRow) => void): void {
    change(slot.row);
    if (!slot.isNew) slot.changed.add(column);
  }
}

/**
 * The group commit: one transaction per appendEvents call, applying each event to the
 * log, folding reactions/edits/deletes/previews/attachment_ready into their target
 * message rows, posting a new message's attachments and removing a deleted one's (its
 * blob references released), applying membership changes, and updating each touched
 * conversation once.
 */
import type Database from 'better-sqlite3';
import type { Attachment, ConvEvent } from '../../protocol';
import type { AppendItem, AppendResult, KeyedEvent } from '../index';
import { foldReadyAttachment, previewOf, previewOfEvent } from '../common';
import type { AttachmentTable, BlobTable } from './attachments';

/** What one batch did to one conversation; written once at the end of the batch. */
interface ConvTouch {
  lastSeq: number;
  updatedAt: number;
  memberDelta: number;
  setTitle: boolean;
  title: string | null;
  /** Newest message inserted by this batch (0: none) and its preview text. */
  previewSeq: number;
  preview: string | null;
  /** Successful edits in batch order, to refresh the preview when they hit its source. */
  edits: { target: number; body: string }[];
  deleted: boolean;
}

type InsertParams = [
  conv_id: string,
  seq: number,
  kind: string,
  sender_id: string,
  body: string | null,
  reply_to: number | null,
  target_seq: number | null,
  emoji: string | null,
  client_msg_id: string | null,
  attachments: string | null,
  mentions: string | null,
  user_ids: string | null,
  title: string | null,
  created_at: number,
  thread_root: number | null,
  link_preview: string | null,
  attachment: string | null,
];

interface ConvUpdateParams {
  conv_id: string;
  last_seq: number;
  updated_at: number;
  member_delta: number;
  set_title: number;
  title: string | null;
  preview_seq: number;
  preview: string | null;
}

/** Appends batches of events; see Store.appendEvents for the contract. */
export class EventWriter {
  private readonly findDup: Database.Statement<[string, string, string], KeyedEvent>;
  private readonly insert: Database.Statement<InsertParams>;
  private readonly react: Database.Statement<[string, string | null, string, number]>;
  private readonly edit: Database.Statement<[string, number, string, number]>;
  private readonly deleteMessage: Database.Statement<[string, number], { thread_root: number | null }>;
  private readonly scrubDerived: Database.Statement<[string, number]>;
  private readonly countReply: Database.Statement<[number, string, number]>;
  private readonly foldPreview: Database.Statement<[string, string, number]>;
  private readonly readyTarget: Database.Statement<[string, number], { attachments: string | null; ready_attachments: string | null }>;
  private readonly foldReady: Database.Statement<[string, string, number]>;
  private readonly dropAttachment: Database.Statement<[string, number]>;
  private readonly addMember: Database.Statement<[string, string, string, number, number, number]>;
  private readonly removeMember: Database.Statement<[string, string]>;
  private readonly updateConv: Database.Statement<ConvUpdateParams>;
  private readonly editPreview: Database.Statement<[string, string, number]>;
  private readonly deletedPreviewSource: Database.Statement<[string], { seq: number }>;
  private readonly newestMessage: Database.Statement<[string], { seq: number; body: string | null; attachments: string | null }>;
  private readonly setPreview: Database.Statement<[string | null, number | null, string]>;
  private readonly batch: Database.Transaction<(items: readonly AppendItem[]) => AppendResult[]>;

  constructor(
    db: Database.Database,
    private readonly attachments: AttachmentTable,
    private readonly blobs: BlobTable,
  ) {
    this.findDup = db.prepare(
      `SELECT seq, created_at AS ts, kind FROM events
       WHERE conv_id = ? AND sender_id = ? AND client_msg_id = ? AND client_msg_id IS NOT NULL`,
    );
    // The dedup check is folded into the insert: a key already in the log (earlier items of
    // this batch included) makes it a no-op, and only then is the original looked up. That
    // saves a second descent of the dedup index per event. Other constraint failures, such
    // as a repeated (conv_id, seq), still throw and roll the whole batch back.
    this.insert = db.prepare(
      `INSERT INTO events (conv_id, seq, kind, sender_id, body, reply_to, target_seq, emoji, client_msg_id,
                           attachments, mentions, user_ids, title, created_at, thread_root, link_preview, attachment)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (conv_id, sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING`,
    );
    // A JSON merge patch with a null value removes the key: one statement sets or clears.
    this.react = db.prepare(
      `UPDATE events SET reactions = json_patch(COALESCE(reactions, '{}'), json_object(?, ?))
       WHERE conv_id = ? AND seq = ? AND kind = 'message' AND deleted = 0`,
    );
    this.edit = db.prepare(
      `UPDATE events SET body = ?, edited_at = ?
       WHERE conv_id = ? AND seq = ? AND kind = 'message' AND deleted = 0`,
    );
    // The content goes; seq, sender, time, reply_to and thread_root stay so the tombstone
    // keeps its place in order and in its thread. RETURNING tells a reply's thread.
    this.deleteMessage = db.prepare(
      `UPDATE events SET deleted = 1, body = NULL, attachments = NULL, mentions = NULL, reactions = NULL, link_preview = NULL,
                         ready_attachments = NULL
       WHERE conv_id = ? AND seq = ? AND kind = 'message' AND deleted = 0
       RETURNING thread_root`,
    );
    // Edits and previews of the message carry its text (or what a link in it showed), its
    // reactions what others answered to it, attachment_ready events its files' names and
    // sizes. Each kind holds one of these columns (the others are NULL), so one statement
    // clears them all; the rows keep their place in the log.
    this.scrubDerived = db.prepare(
      `UPDATE events SET body = NULL, link_preview = NULL, emoji = NULL, attachment = NULL
       WHERE conv_id = ? AND target_seq = ? AND kind IN ('edit', 'link_preview', 'reaction', 'attachment_ready')`,
    );
    this.countReply = db.prepare(
      `UPDATE events SET reply_count = reply_count + ? WHERE conv_id = ? AND seq = ? AND kind = 'message'`,
    );
    this.foldPreview = db.prepare(
      `UPDATE events SET link_preview = ? WHERE conv_id = ? AND seq = ? AND kind = 'message' AND deleted = 0`,
    );
    this.readyTarget = db.prepare(
      `SELECT attachments, ready_attachments FROM events WHERE conv_id = ? AND seq = ? AND kind = 'message' AND deleted = 0`,
    );
    this.foldReady = db.prepare(`UPDATE events SET ready_attachments = ? WHERE conv_id = ? AND seq = ?`);
    this.dropAttachment = db.prepare(`UPDATE events SET attachment = NULL WHERE conv_id = ? AND seq = ?`);
    this.addMember = db.prepare(
      `INSERT INTO conv_members (conv_id, user_id, role, joined_at, last_read_seq, last_delivered_seq, updated_at)
       VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING`,
    );
    this.removeMember = db.prepare('DELETE FROM conv_members WHERE conv_id = ? AND user_id = ?');
    // Right-hand sides see the old row, so both preview columns test the old preview_seq.
    this.updateConv = db.prepare(
      `UPDATE conversations SET
         last_seq = MAX(last_seq, @last_seq),
         updated_at = MAX(updated_at, @updated_at),
         member_count = member_count + @member_delta,
         title = CASE WHEN @set_title THEN @title ELSE title END,
         preview = CASE WHEN @preview_seq > COALESCE(preview_seq, 0) THEN @preview ELSE preview END,
         preview_seq = CASE WHEN @preview_seq > COALESCE(preview_seq, 0) THEN @preview_seq ELSE preview_seq END
       WHERE conv_id = @conv_id`,
    );
    this.editPreview = db.prepare('UPDATE conversations SET preview = ? WHERE conv_id = ? AND preview_seq = ?');
    this.deletedPreviewSource = db.prepare(
      `SELECT e.seq FROM conversations c JOIN events e ON e.conv_id = c.conv_id AND e.seq = c.preview_seq
       WHERE c.conv_id = ? AND e.deleted = 1`,
    );
    this.newestMessage = db.prepare(
      `SELECT seq, body, attachments FROM events WHERE conv_id = ? AND kind = 'message' AND deleted = 0
       ORDER BY seq DESC LIMIT 1`,
    );
    this.setPreview = db.prepare('UPDATE conversations SET preview = ?, preview_seq = ? WHERE conv_id = ?');
    this.batch = db.transaction((items: readonly AppendItem[]) => this.applyBatch(items));
  }

  append(items: readonly AppendItem[]): AppendResult[] {
    if (items.length === 0) return [];
    // IMMEDIATE takes the write lock up front, so a batch never holds a read snapshot that
    // another connection (a second shard, a tool) could make stale before it writes.
    return this.batch.immediate(items);
  }

  private applyBatch(items: readonly AppendItem[]): AppendResult[] {
    const results: AppendResult[] = new Array(items.length);
    const touched = new Map<string, ConvTouch>();
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const ev = item.event;
      if (!this.insertEvent(ev)) {
        const dup = this.findDup.get(ev.conv_id, ev.sender_id, ev.client_msg_id as string);
        if (dup === undefined) throw new Error(`store: insert of ${ev.conv_id}/${ev.seq} ignored without a duplicate`);
        results[i] = { status: 'duplicate', seq: dup.seq, ts: dup.ts, kind: dup.kind };
        continue;
      }
      let touch = touched.get(ev.conv_id);
      if (touch === undefined) {
        touch = newTouch();
        touched.set(ev.conv_id, touch);
      }
      if (ev.seq > touch.lastSeq) {
        touch.lastSeq = ev.seq;
        touch.updatedAt = ev.ts;
      }
      this.fold(item, touch);
      results[i] = { status: 'ok' };
    }
    for (const [convId, touch] of touched) this.updateConversation(convId, touch);
    return results;
  }

  /** Inserts the event; false when its idempotency key is already in the log. */
  private insertEvent(ev: ConvEvent): boolean {
    const { changes } = this.insert.run(
      ev.conv_id,
      ev.seq,
      ev.kind,
      ev.sender_id,
      ev.body ?? null,
      ev.reply_to ?? null,
      ev.target_seq ?? null,
      ev.emoji ?? null,
      ev.client_msg_id ?? null,
      jsonList(ev.attachments),
      jsonList(ev.mentions),
      jsonList(ev.user_ids),
      ev.kind === 'link_preview' ? null : (ev.title ?? null),
      ev.ts,
      ev.thread_root ?? null,
      ev.kind === 'link_preview' ? JSON.stringify(previewOfEvent(ev)) : null,
      ev.kind === 'attachment_ready' && ev.attachment !== undefined ? JSON.stringify(ev.attachment) : null,
    );
    return changes === 1;
  }

  /** Applies the event's effect on other rows (target message, members, conversation). */
  private fold(item: AppendItem, touch: ConvTouch): void {
    const ev = item.event;
    switch (ev.kind) {
      case 'message':
        if (ev.seq > touch.previewSeq) {
          touch.previewSeq = ev.seq;
          touch.preview = previewOf(ev.body ?? '', ev.attachments ?? null);
        }
        if (ev.thread_root != null) this.countReply.run(1, ev.conv_id, ev.thread_root);
        if (ev.attachments !== undefined && ev.attachments.length > 0) {
          this.attachments.post(ev.conv_id, ev.seq, ev.attachments.map((a) => a.id));
        }
        break;
      case 'attachment_ready':
        if (ev.target_seq != null) this.foldAttachment(ev, ev.target_seq);
        break;
      case 'link_preview':
        if (ev.target_seq != null) this.foldPreview.run(JSON.stringify(previewOfEvent(ev)), ev.conv_id, ev.target_seq);
        break;
      case 'reaction':
        if (ev.target_seq != null) this.react.run(ev.sender_id, ev.emoji ?? null, ev.conv_id, ev.target_seq);
        break;
      case 'edit':
        if (ev.target_seq != null && ev.body != null) {
          if (this.edit.run(ev.body, ev.ts, ev.conv_id, ev.target_seq).changes > 0) {
            touch.edits.push({ target: ev.target_seq, body: ev.body });
          }
        }
        break;
      case 'delete':
        if (ev.target_seq != null) {
          const gone = this.deleteMessage.get(ev.conv_id, ev.target_seq);
          // A deleted reply no longer counts in its thread (only when this delete did it).
          if (gone?.thread_root != null) this.countReply.run(-1, ev.conv_id, gone.thread_root);
          this.scrubDerived.run(ev.conv_id, ev.target_seq);
          // Unsend removes the files too: each removed ready record held one blob reference.
          for (const att of this.attachments.removeForMessage(ev.conv_id, ev.target_seq)) {
            if (att.state === 'ready' && att.sha256 !== null) this.blobs.unrefNow(att.sha256);
          }
          touch.deleted = true;
        }
        break;
      case 'member_added':
        for (const m of item.members?.add ?? []) {
          touch.memberDelta += this.addMember.run(ev.conv_id, m.user_id, m.role, ev.ts, m.last_read_seq, ev.ts).changes;
        }
        break;
      case 'member_removed':
        for (const userId of item.members?.remove ?? []) {
          touch.memberDelta -= this.removeMember.run(ev.conv_id, userId).changes;
        }
        break;
      case 'conversation_updated':
        if (ev.title !== undefined) {
          touch.setTitle = true;
          touch.title = ev.title;
        }
        break;
    }
  }

  /**
   * Folds the event's attachment into its live message (history shows it in place of the
   * one sent). Aimed at a deleted or missing message it changes nothing, and the event
   * keeps no attachment: what a delete would have scrubbed is not written after it.
   */
  private foldAttachment(ev: ConvEvent, target: number): void {
    const m = this.readyTarget.get(ev.conv_id, target);
    if (m === undefined) {
      this.dropAttachment.run(ev.conv_id, ev.seq);
      return;
    }
    if (ev.attachment === undefined) return;
    const ready = foldReadyAttachment(
      m.attachments === null ? null : (JSON.parse(m.attachments) as Attachment[]),
      m.ready_attachments === null ? null : (JSON.parse(m.ready_attachments) as Record<string, Attachment>),
      ev.attachment,
    );
    if (ready !== null) this.foldReady.run(JSON.stringify(ready), ev.conv_id, target);
  }

  private updateConversation(convId: string, t: ConvTouch): void {
    this.updateConv.run({
      conv_id: convId,
      last_seq: t.lastSeq,
      updated_at: t.updatedAt,
      member_delta: t.memberDelta,
      set_title: t.setTitle ? 1 : 0,
      title: t.title,
      preview_seq: t.previewSeq,
      preview: t.preview,
    });
    // Edits and deletes are rare; their preview upkeep runs only when the batch has them.
    for (const e of t.edits) this.editPreview.run(previewOf(e.body), convId, e.target);
    if (t.deleted && this.deletedPreviewSource.get(convId) !== undefined) {
      const newest = this.newestMessage.get(convId);
      if (newest === undefined) this.setPreview.run(null, null, convId);
      else this.setPreview.run(previewOf(newest.body ?? '', newest.attachments === null ? null : (JSON.parse(newest.attachments) as Attachment[])), newest.seq, convId);
    }
  }
}

function newTouch(): ConvTouch {
  return {
    lastSeq: 0,
    updatedAt: 0,
    memberDelta: 0,
    setTitle: false,
    title: null,
    previewSeq: 0,
    preview: null,
    edits: [],
    deleted: false,
  };
}


/** Empty lists are stored as NULL: most messages have none, and NULL costs no bytes. */
function jsonList(list: readonly unknown[] | undefined): string | null {
  return list === undefined || list.length === 0 ? null : JSON.stringify(list);
}


/**
 * The group commit on Cassandra (Store.appendEvents; contract in src/store/index.ts).
 *
 * Cassandra has no multi-partition transaction, so the call runs in phases:
 * 1. Plan and validate, reading before writing anything: per conversation (in parallel)
 *    the conversation row, the log rows at the batch's seqs and at the seqs it refers to
 *    (targets, thread roots), and the member rows it adds or removes. A seq used twice in
 *    the batch, or already holding another event, rejects the whole call here, with
 *    nothing written (the unique (conv_id, seq) of SQLite's primary key).
 * 2. Claim idempotency keys: `INSERT INTO event_keys ... IF NOT EXISTS` (an LWT at the
 *    configured serial consistency) for every item with a client_msg_id, before its event
 *    is written. The claim is what survives failover: a SEND retried on another shard
 *    after the first shard died loses the claim and answers `duplicate` with the claimed
 *    seq and ts. If the first shard died between its claim and its event write, the
 *    claimed seq has no event: the retry then moves the claim to its own new seq (an
 *    LWT conditional on the old one) and is written as new, so the seq ACKed is real.
 * 3. Fold in memory (fold.ts), then write per conversation, conversations in parallel:
 *    the new event rows as unlogged batches per (conv_id, bucket) partition, folded
 *    columns of existing rows, thread index rows, members and user_convs; the
 *    conversation row (last_seq, updated_at, member_count, title, preview) goes last, so
 *    a reader bounded by last_seq never sees a seq whose event is not yet written.
 * A failing write rejects the call; what it already wrote stays (no rollback on
 * Cassandra), and a retry of the same items is answered through its claims as above.
 */
import type { ConvEvent } from '../../protocol';
import type { AppendItem, AppendResult } from '../types';
import type { AttachmentTable, BlobTable } from './attachments';
import { ConversationTable, deleteMemberCql, deleteUserConvCql, insertMemberCql, insertUserConvCql, memberParams, type ConvRow } from './conversations';
import { num, type Cql, type Param, type Statement } from './db';
import { ConvFold } from './fold';
import type { EventLog } from './log';
import { bucketOf, foldParams, insertEventCql, insertParams, updateFoldCql, type EventRow } from './rows';
import { previewOf } from '../common';

/** One item as the commit tracks it. */
interface Entry {
  index: number;
  item: AppendItem;
  /** The event as written. */
  event: ConvEvent;
  outcome: AppendResult | null;
  /** Set when the claim was moved from a seq whose event never landed (see claim). */
  movedFrom?: number;
}

/** One conversation's part of the batch and what phase 1 read for it. */
interface ConvBatch {
  convId: string;
  entries: Entry[];
  conv: ConvRow | null;
  /** Seqs phase 1 asked for (present or not) and the rows found. */
  asked: Set<number>;
  rows: Map<number, EventRow>;
  members: Set<string>;
}

const claimCql = 'INSERT INTO event_keys (conv_id, sender_id, client_msg_id, seq, ts) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS';
const reclaimCql = 'UPDATE event_keys SET seq = ?, ts = ? WHERE conv_id = ? AND sender_id = ? AND client_msg_id = ? IF seq = ?';
const threadCql = 'INSERT INTO thread_replies (conv_id, thread_root, seq) VALUES (?, ?, ?)';
// The kind of a row cleared by seq is not known without reading it; each kind holds one
// of these columns, so clearing all four is right for any of them.
const clearDerivedCql = 'UPDATE events SET body = null, link_preview = null, emoji = null, attachment = null WHERE conv_id = ? AND bucket = ? AND seq = ?';
const convUpdateCql =
  'UPDATE conversations SET last_seq = ?, updated_at = ?, member_count = ?, title = ?, preview = ?, preview_seq = ? WHERE conv_id = ?';

export class EventAppender {
  constructor(
    private readonly db: Cql,
    private readonly log: EventLog,
    private readonly convs: ConversationTable,
    private readonly attachments: AttachmentTable,
    private readonly blobs: BlobTable,
  ) {}

  async append(items: readonly AppendItem[]): Promise<AppendResult[]> {
    if (items.length === 0) return [];
    // Later items repeating a key of this batch answer with the first one's outcome.
    const firstOfKey = new Map<string, Entry>();
    const sameKey: [number, Entry][] = [];
    const batches = new Map<string, ConvBatch>();
    items.forEach((item, index) => {
      const ev = item.event;
      const entry: Entry = { index, item, event: ev, outcome: null };
      if (ev.client_msg_id != null) {
        const key = JSON.stringify([ev.conv_id, ev.sender_id, ev.client_msg_id]);
        const first = firstOfKey.get(key);
        if (first !== undefined) return void sameKey.push([index, first]);
        firstOfKey.set(key, entry);
      }
      let b = batches.get(ev.conv_id);
      if (b === undefined) {
        b = { convId: ev.conv_id, entries: [], conv: null, asked: new Set(), rows: new Map(), members: new Set() };
        batches.set(ev.conv_id, b);
      }
      b.entries.push(entry);
    });

    // Phase 1: read and validate; nothing is written before this passes.
    await Promise.all([...batches.values()].map((b) => this.load(b)));
    for (const b of batches.values()) validate(b);

    // Phase 2: claim the idempotency keys.
    await Promise.all(
      [...batches.values()].flatMap((b) => b.entries.map((e) => (e.event.client_msg_id == null ? claimless(e) : this.claim(b, e)))),
    );

    // Phase 3: fold and write, conversations in parallel.
    await Promise.all([...batches.values()].map((b) => this.commit(b)));

    const results: AppendResult[] = new Array(items.length);
    for (const b of batches.values()) for (const e of b.entries) results[e.index] = e.outcome as AppendResult;
    for (const [index, first] of sameKey) {
      const o = first.outcome as AppendResult;
      results[index] = o.status === 'ok' ? { status: 'duplicate', seq: first.event.seq, ts: first.event.ts, kind: first.event.kind } : o;
    }
    return results;
  }

  private async load(b: ConvBatch): Promise<void> {
    const userIds: string[] = [];
    for (const { event: ev, item } of b.entries) {
      b.asked.add(ev.seq);
      if (ev.target_seq != null) b.asked.add(ev.target_seq);
      if (ev.thread_root != null) b.asked.add(ev.thread_root);
      for (const m of item.members?.add ?? []) userIds.push(m.user_id);
      userIds.push(...(item.members?.remove ?? []));
    }
    const [conv, rows, members] = await Promise.all([
      this.convs.get(b.convId),
      this.log.rowsAt(b.convId, b.asked),
      this.convs.membersAmong(b.convId, userIds),
    ]);
    b.conv = conv;
    b.rows = rows;
    b.members = new Set(members.keys());
    await this.fetchThreadRoots(b, b.entries);
  }

  /** Reads rows at `seqs` that phase 1 did not ask for, into the batch's rows. */
  private async fetch(b: ConvBatch, seqs: Iterable<number | null | undefined>): Promise<void> {
    const missing = [...seqs].filter((s): s is number => s != null && !b.asked.has(s));
    if (missing.length === 0) return;
    for (const s of missing) b.asked.add(s);
    for (const [seq, row] of await this.log.rowsAt(b.convId, missing)) b.rows.set(seq, row);
  }

  /** A deleted reply leaves its thread's count: the root is known only once the reply is read. */
  private fetchThreadRoots(b: ConvBatch, entries: readonly Entry[]): Promise<void> {
    const deletes = entries.filter((e) => e.event.kind === 'delete' && e.event.target_seq != null);
    return this.fetch(b, deletes.map((e) => b.rows.get(e.event.target_seq as number)?.thread_root));
  }

  private async claim(b: ConvBatch, e: Entry): Promise<void> {
    const ev = e.event;
    const { applied, row } = await this.db.lwt(claimCql, [ev.conv_id, ev.sender_id, ev.client_msg_id, ev.seq, ev.ts]);
    if (applied) {
      e.outcome = { status: 'ok' };
      return;
    }
    const seq = num(row, 'seq') ?? 0;
    const ts = num(row, 'ts') ?? 0;
    // The claim holds no kind: the event row at the claimed seq tells it, and tells
    // whether the claim has its event at all.
    const kind = b.asked.has(seq) ? (b.rows.get(seq)?.kind ?? null) : await this.log.kindAt(b.convId, seq);
    if (kind !== null) {
      e.outcome = { status: 'duplicate', seq, ts, kind };
      return;
    }
    // A claim without its event: its writer died in between. The key moves to this
    // retry's own seq (a conditional update, so two retries cannot both take it) and the
    // event is written there as new. Not at the old seq: devices already past it would
    // drop it as a duplicate. The old seq stays a gap, as after any crash.
    const moved = await this.db.lwt(reclaimCql, [ev.seq, ev.ts, ev.conv_id, ev.sender_id, ev.client_msg_id, seq]);
    if (moved.applied) {
      e.outcome = { status: 'ok' };
      e.movedFrom = seq;
      return;
    }
    // Another retry of this key moved it first and may not have written its event yet;
    // a retry repeats one command, so this item's own kind stands in for a missing row.
    const movedSeq = num(moved.row, 'seq') ?? seq;
    const movedKind = (await this.log.kindAt(b.convId, movedSeq)) ?? ev.kind;
    e.outcome = { status: 'duplicate', seq: movedSeq, ts: num(moved.row, 'ts') ?? ts, kind: movedKind };
  }

  private async commit(b: ConvBatch): Promise<void> {
    const writes = b.entries.filter((e) => e.outcome?.status === 'ok');
    if (writes.length === 0) return;
    const fold = new ConvFold(b.rows, b.members);
    for (const e of writes) fold.apply(e.item, e.event);

    // Attachments are posted before their message's event row exists: a reader never sees
    // the message with records still unposted (a collector could take them). Only items
    // whose claim applied get here, so a duplicate never posts. If the write of the event
    // fails after this, the records stay posted at a seq without an event until a retry
    // of the send (its claim moved, see claim) posts them again at its own seq.
    const movedFrom = new Map(writes.map((e) => [e.event.seq, e.movedFrom ?? null]));
    await Promise.all(fold.posts.map((p) => this.attachments.post(b.convId, p.seq, p.ids, movedFrom.get(p.seq) ?? null)));

    const byBucket = new Map<number, Statement[]>();
    for (const row of fold.inserted()) {
      const list = byBucket.get(bucketOf(row.seq)) ?? [];
      list.push({ query: insertEventCql, params: insertParams(row) });
      byBucket.set(bucketOf(row.seq), list);
    }
    const runs: Promise<void>[] = [...byBucket.values()].map((s) => this.db.batch(s));
    for (const s of fold.updated()) runs.push(this.db.run(updateFoldCql, foldParams(s.row, s.changed)));
    for (const seq of fold.clears) runs.push(this.db.run(clearDerivedCql, [b.convId, bucketOf(seq), seq]));
    for (const t of fold.threadIndex) runs.push(this.db.run(threadCql, [b.convId, t.root, t.seq]));
    for (const [userId, op] of fold.memberOps) {
      if (op === null) {
        runs.push(this.db.run(deleteMemberCql, [b.convId, userId]), this.db.run(deleteUserConvCql, [userId, b.convId]));
      } else {
        runs.push(
          this.db.run(insertMemberCql, memberParams(b.convId, userId, op.role, op.joinedAt, op.lastReadSeq)),
          this.db.run(insertUserConvCql, [userId, b.convId]),
        );
      }
    }
    await Promise.all(runs);
    // Like SQLite's UPDATE, a conversation without a row gets none.
    if (b.conv !== null) await this.db.run(convUpdateCql, await this.convParams(b.conv, fold));
    await this.unsend(b.convId, fold);
  }

  /**
   * Unsend removes the deleted messages' attachment records and releases their blobs,
   * after the delete event is written (Cassandra has no transaction spanning both). A
   * crash in between leaves records of a deleted message and blob references never
   * released: a leaked blob, never a lost one. A record is removed by a conditional delete
   * of the state read, and a reference released only for a record this call removed, so
   * a second delete (or a collector's deleteAttachments) releases nothing twice.
   */
  private async unsend(convId: string, fold: ConvFold): Promise<void> {
    await Promise.all(
      fold.unsent.map(async (u) => {
        const removed = await this.attachments.removeForMessage(convId, u.seq, u.ids);
        for (const r of removed) if (r.state === 'ready' && r.sha256 !== null) await this.blobs.unref(r.sha256);
      }),
    );
  }

  /** The conversation row after the batch (convUpdateCql order); unchanged columns unset. */
  private async convParams(c: ConvRow, fold: ConvFold): Promise<Param[]> {
    const t = fold.touch;
    let previewSeq = c.preview_seq;
    let preview = c.preview;
    if (t.previewSeq > (previewSeq ?? 0)) {
      previewSeq = t.previewSeq;
      preview = t.preview;
    }
    for (const e of t.edits) if (e.target === previewSeq) preview = previewOf(e.body);
    const lastSeq = Math.max(c.last_seq, t.lastSeq);
    if (previewSeq !== null && t.deletedSeqs.has(previewSeq)) {
      // Deletes are rare; only a delete of the preview's source pays for this scan.
      const [newest] = await this.log.backward(c.conv_id, lastSeq + 1, 1, lastSeq, (r) => r.kind === 'message' && !r.deleted);
      previewSeq = newest?.seq ?? null;
      preview = newest === undefined ? null : previewOf(newest.body ?? '', newest.attachments);
    }
    const previewChanged = previewSeq !== c.preview_seq || preview !== c.preview;
    return [
      lastSeq,
      Math.max(c.updated_at, t.updatedAt),
      c.member_count + t.memberDelta,
      t.setTitle ? t.title : undefined,
      previewChanged ? preview : undefined,
      previewChanged ? previewSeq : undefined,
      c.conv_id,
    ];
  }
}

/** Items without an idempotency key (membership, title) skip the claim. */
async function claimless(e: Entry): Promise<void> {
  e.outcome = { status: 'ok' };
}

/**
 * Rejects a batch that would overwrite an event: a seq used twice in the batch, or a seq
 * already in the log, unless that row is this very send written by an earlier attempt
 * (same sender and key: its claim will answer duplicate).
 */
function validate(b: ConvBatch): void {
  const seen = new Set<number>();
  for (const { event: ev } of b.entries) {
    if (seen.has(ev.seq)) throw new Error(`store: seq ${ev.seq} of ${b.convId} appears twice in one batch`);
    seen.add(ev.seq);
    const there = b.rows.get(ev.seq);
    const sameSend = there !== undefined && ev.client_msg_id != null && there.client_msg_id === ev.client_msg_id && there.sender_id === ev.sender_id;
    if (there !== undefined && !sameSend) throw new Error(`store: seq ${ev.seq} of ${b.convId} already holds an event`);
  }
}

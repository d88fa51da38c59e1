/**
 * Attachment records and blob reference counts on SQLite (Store's attachment and blob
 * methods; AttachmentRecord in ../types.ts). Every method is synchronous, so the group
 * commit (append.ts) calls post and removeForMessage inside its own transaction, and each
 * call made through SqliteStore is one statement or one transaction of its own.
 */
import type Database from 'better-sqlite3';
import type { Attachment } from '../../protocol';
import type { AttachmentRecord, NewAttachment, UnreferencedBlob } from '../types';
import { clampLimit } from '../common';

interface AttachmentRow {
  attachment_id: string;
  owner_id: string;
  name: string;
  declared_type: string;
  declared_size: number;
  declared_sha256: string;
  created_at: number;
  state: 'pending' | 'ready';
  sha256: string | null;
  meta: string | null;
  conv_id: string | null;
  seq: number | null;
}

interface BlobRow {
  refs: number;
  unreferenced_since: number | null;
  claimed: number;
  claimed_at: number;
}

const columns =
  'attachment_id, owner_id, name, declared_type, declared_size, declared_sha256, created_at, state, sha256, meta, conv_id, seq';

export class AttachmentTable {
  private readonly insert: Database.Statement<[string, string, string, string, number, string, number]>;
  private readonly one: Database.Statement<[string], AttachmentRow>;
  private readonly complete: Database.Statement<[string, string, string]>;
  private readonly setMeta: Database.Statement<[string, string]>;
  private readonly remove: Database.Statement<[string], AttachmentRow>;
  private readonly unposted: Database.Statement<[number, number], AttachmentRow>;
  private readonly postOne: Database.Statement<[string, number, string]>;
  private readonly removeOfMessage: Database.Statement<[string, number], AttachmentRow>;
  private readonly removeMany: Database.Transaction<(ids: readonly string[]) => AttachmentRecord[]>;

  constructor(db: Database.Database) {
    this.insert = db.prepare(
      `INSERT INTO attachments (attachment_id, owner_id, name, declared_type, declared_size, declared_sha256, created_at, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')`,
    );
    this.one = db.prepare(`SELECT ${columns} FROM attachments WHERE attachment_id = ?`);
    this.complete = db.prepare(`UPDATE attachments SET state = 'ready', sha256 = ?, meta = ? WHERE attachment_id = ? AND state = 'pending'`);
    this.setMeta = db.prepare(`UPDATE attachments SET meta = ? WHERE attachment_id = ? AND state = 'ready'`);
    this.remove = db.prepare(`DELETE FROM attachments WHERE attachment_id = ? RETURNING ${columns}`);
    this.unposted = db.prepare(
      `SELECT ${columns} FROM attachments WHERE conv_id IS NULL AND created_at < ? ORDER BY created_at, attachment_id LIMIT +?`,
    );
    // Posted once: a record already posted keeps the message it was first posted with
    // (the rules let only unposted attachments into a SEND; this keeps a slip harmless).
    this.postOne = db.prepare('UPDATE attachments SET conv_id = ?, seq = ? WHERE attachment_id = ? AND conv_id IS NULL');
    this.removeOfMessage = db.prepare(`DELETE FROM attachments WHERE conv_id = ? AND seq = ? RETURNING ${columns}`);
    this.removeMany = db.transaction((ids: readonly string[]) => {
      const out: AttachmentRecord[] = [];
      for (const id of new Set(ids)) {
        const row = this.remove.get(id);
        if (row !== undefined) out.push(recordOf(row));
      }
      return out;
    });
  }

  create(att: NewAttachment): void {
    this.insert.run(att.attachment_id, att.owner_id, att.name, att.declared_type, att.declared_size, att.declared_sha256, att.created_at);
  }

  getMany(ids: readonly string[]): AttachmentRecord[] {
    const out: AttachmentRecord[] = [];
    for (const id of new Set(ids)) {
      const row = this.one.get(id);
      if (row !== undefined) out.push(recordOf(row));
    }
    return out;
  }

  completeOne(id: string, sha256: string, meta: Attachment): boolean {
    return this.complete.run(sha256, JSON.stringify(meta), id).changes > 0;
  }

  updateMeta(id: string, meta: Attachment): boolean {
    return this.setMeta.run(JSON.stringify(meta), id).changes > 0;
  }

  deleteMany(ids: readonly string[]): AttachmentRecord[] {
    return ids.length === 0 ? [] : this.removeMany.immediate(ids);
  }

  listUnposted(before: number, limit: number): AttachmentRecord[] {
    return this.unposted.all(before, clampLimit(limit)).map(recordOf);
  }

  /** Marks the message's attachments posted; runs inside the group commit's transaction. */
  post(convId: string, seq: number, ids: readonly string[]): void {
    for (const id of ids) this.postOne.run(convId, seq, id);
  }

  /** Removes the records posted with message `seq`; runs inside the group commit's transaction. */
  removeForMessage(convId: string, seq: number): AttachmentRecord[] {
    return this.removeOfMessage.all(convId, seq).map(recordOf);
  }
}

/**
 * Reference counts per blob. The wait of refBlob for a claimed blob lives in SqliteStore
 * (tryRef answers at once), so the writer thread never holds a call open.
 */
export class BlobTable {
  private readonly get: Database.Statement<[string], BlobRow>;
  private readonly insertFirst: Database.Statement<[string]>;
  private readonly setRefs: Database.Statement<[number, number | null, string]>;
  private readonly unreferenced: Database.Statement<[number, number, number], UnreferencedBlob>;
  private readonly claimFree: Database.Statement<[number, string, number]>;
  private readonly claimStale: Database.Statement<[number, string, number, number]>;
  private readonly dropOne: Database.Statement<[string]>;
  private readonly refTx: Database.Transaction<(sha256: string) => boolean>;
  private readonly unrefTx: Database.Transaction<(sha256: string) => void>;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.get = db.prepare('SELECT refs, unreferenced_since, claimed, claimed_at FROM blobs WHERE sha256 = ?');
    this.insertFirst = db.prepare('INSERT INTO blobs (sha256, refs, unreferenced_since, claimed) VALUES (?, 1, NULL, 0)');
    this.setRefs = db.prepare('UPDATE blobs SET refs = ?, unreferenced_since = ? WHERE sha256 = ?');
    this.unreferenced = db.prepare(
      `SELECT sha256, unreferenced_since, CASE claimed WHEN 0 THEN NULL ELSE claimed_at END AS claimed_at FROM blobs
       WHERE refs = 0 AND unreferenced_since < ? AND (claimed = 0 OR claimed_at < ?) ORDER BY unreferenced_since, sha256 LIMIT +?`,
    );
    this.claimFree = db.prepare(
      'UPDATE blobs SET claimed = 1, claimed_at = ? WHERE sha256 = ? AND refs = 0 AND unreferenced_since = ? AND claimed = 0',
    );
    this.claimStale = db.prepare(
      'UPDATE blobs SET claimed_at = ? WHERE sha256 = ? AND refs = 0 AND unreferenced_since = ? AND claimed = 1 AND claimed_at = ?',
    );
    this.dropOne = db.prepare('DELETE FROM blobs WHERE sha256 = ? AND claimed = 1');
    this.refTx = db.transaction((sha256: string) => this.refNow(sha256));
    this.unrefTx = db.transaction((sha256: string) => this.unrefNow(sha256));
  }

  /** Takes a reference; false (nothing done) while the blob is claimed for deletion. */
  tryRef(sha256: string): boolean {
    return this.refTx.immediate(sha256);
  }

  unref(sha256: string): void {
    this.unrefTx.immediate(sha256);
  }

  /**
   * Releases one reference inside the caller's transaction. At zero, unreferenced_since
   * is now, but always later than the previous time it reached zero: a ref taken and
   * released within one millisecond still changes it, so a claim based on the old value fails.
   */
  unrefNow(sha256: string): void {
    const b = this.get.get(sha256);
    if (b === undefined || b.refs <= 0) return;
    const refs = b.refs - 1;
    const since = refs > 0 ? b.unreferenced_since : Math.max(this.now(), (b.unreferenced_since ?? 0) + 1);
    this.setRefs.run(refs, since, sha256);
  }

  listUnreferenced(before: number, limit: number, claimedBefore: number): UnreferencedBlob[] {
    return this.unreferenced.all(before, claimedBefore, clampLimit(limit));
  }

  /** A take-over is timed after the claim it replaces, so a second take-over of that claim fails. */
  claim(sha256: string, since: number, claimedAt: number | null): boolean {
    if (claimedAt === null) return this.claimFree.run(this.now(), sha256, since).changes > 0;
    return this.claimStale.run(Math.max(this.now(), claimedAt + 1), sha256, since, claimedAt).changes > 0;
  }

  drop(sha256: string): void {
    this.dropOne.run(sha256);
  }

  private refNow(sha256: string): boolean {
    const b = this.get.get(sha256);
    if (b === undefined) {
      this.insertFirst.run(sha256);
      return true;
    }
    if (b.claimed !== 0) return false;
    this.setRefs.run(b.refs + 1, b.unreferenced_since, sha256);
    return true;
  }
}

function recordOf(r: AttachmentRow): AttachmentRecord {
  return {
    attachment_id: r.attachment_id,
    owner_id: r.owner_id,
    name: r.name,
    declared_type: r.declared_type,
    declared_size: r.declared_size,
    declared_sha256: r.declared_sha256,
    created_at: r.created_at,
    state: r.state,
    sha256: r.sha256,
    meta: r.meta === null ? null : (JSON.parse(r.meta) as Attachment),
    conv_id: r.conv_id,
    seq: r.seq,
  };
}

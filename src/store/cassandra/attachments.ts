/**
 * Attachment records and blob reference counts on Cassandra (Store's attachment and blob
 * methods; AttachmentRecord in ../types.ts). Every write to an attachments or blobs row is
 * a lightweight transaction: a row never mixes Paxos and plain writes, and each change is
 * conditional on the state it was computed from (compare-and-set, retried on a lost race).
 * The collectors' lists come from a TimeIndex (time-index.ts), checked against the rows.
 */
import type { Attachment } from '../../protocol';
import type { AttachmentRecord, NewAttachment, UnreferencedBlob } from '../types';
import { clampLimit } from '../common';
import { bool, num, str, type Cql, type Row } from './db';
import { TimeIndex } from './time-index';
import { ContentionError } from '../../observability';

const columns =
  'attachment_id, owner_id, name, declared_type, declared_size, declared_sha256, created_at, state, sha256, meta, conv_id, seq';

const insertCql =
  `INSERT INTO attachments (attachment_id, owner_id, name, declared_type, declared_size, declared_sha256, created_at, state)
   VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') IF NOT EXISTS`;
const selectCql = `SELECT ${columns} FROM attachments WHERE attachment_id = ?`;
const completeCql = `UPDATE attachments SET state = 'ready', sha256 = ?, meta = ? WHERE attachment_id = ? IF state = 'pending'`;
const metaCql = `UPDATE attachments SET meta = ? WHERE attachment_id = ? IF state = 'ready'`;
// `conv_id = null` alone would apply to a missing row and create it; the state test cannot.
const postCql = `UPDATE attachments SET conv_id = ?, seq = ? WHERE attachment_id = ? IF state IN ('pending', 'ready') AND conv_id = null`;
const repostCql = 'UPDATE attachments SET conv_id = ?, seq = ? WHERE attachment_id = ? IF conv_id = ? AND seq = ?';
// Conditional on what was read, so the record returned is exactly the one removed.
const deleteCql = 'DELETE FROM attachments WHERE attachment_id = ? IF state = ? AND conv_id = ? AND seq = ?';

const blobCql = 'SELECT refs, unreferenced_since, claimed, claimed_at FROM blobs WHERE sha256 = ?';
const firstRefCql = 'INSERT INTO blobs (sha256, refs, claimed) VALUES (?, 1, false) IF NOT EXISTS';
const setRefsCql = 'UPDATE blobs SET refs = ?, unreferenced_since = ? WHERE sha256 = ? IF refs = ? AND unreferenced_since = ? AND claimed = false';
const claimCql = 'UPDATE blobs SET claimed = true, claimed_at = ? WHERE sha256 = ? IF refs = 0 AND unreferenced_since = ? AND claimed = false';
// A take-over of a stale claim, conditional on that claim (null: one taken before claimed_at existed).
const reclaimCql = 'UPDATE blobs SET claimed_at = ? WHERE sha256 = ? IF refs = 0 AND unreferenced_since = ? AND claimed = true AND claimed_at = ?';
const dropCql = 'DELETE FROM blobs WHERE sha256 = ? IF claimed = true';

/** Lost compare-and-set races in a row before giving up (each means another writer moved the row). */
const maxRaces = 100;
/** How often refBlob looks again at a blob claimed for deletion, and for how long at most. */
const claimPollMs = 20;
const claimWaitMs = 5000;

export class AttachmentTable {
  private readonly unposted: TimeIndex;

  constructor(private readonly db: Cql) {
    this.unposted = new TimeIndex(db, 'unposted');
  }

  /** The index entry first: a crash in between leaves a stale entry, never an unlisted record. */
  async create(att: NewAttachment): Promise<void> {
    await this.unposted.add(att.created_at, att.attachment_id);
    const { applied } = await this.db.lwt(insertCql, [
      att.attachment_id,
      att.owner_id,
      att.name,
      att.declared_type,
      att.declared_size,
      att.declared_sha256,
      att.created_at,
    ]);
    if (!applied) throw new Error(`store: attachment ${att.attachment_id} already exists`);
  }

  async get(id: string): Promise<AttachmentRecord | null> {
    const row = await this.db.first(selectCql, [id]);
    return row === null ? null : recordOf(row);
  }

  async getMany(ids: readonly string[]): Promise<AttachmentRecord[]> {
    const found = await Promise.all([...new Set(ids)].map((id) => this.get(id)));
    return found.filter((r): r is AttachmentRecord => r !== null);
  }

  async complete(id: string, sha256: string, meta: Attachment): Promise<boolean> {
    return (await this.db.lwt(completeCql, [sha256, JSON.stringify(meta), id])).applied;
  }

  async updateMeta(id: string, meta: Attachment): Promise<boolean> {
    return (await this.db.lwt(metaCql, [JSON.stringify(meta), id])).applied;
  }

  async deleteMany(ids: readonly string[]): Promise<AttachmentRecord[]> {
    const removed = await Promise.all([...new Set(ids)].map((id) => this.deleteOne(id, () => true)));
    return removed.filter((r): r is AttachmentRecord => r !== null);
  }

  /** Removes the records posted with message `seq` among `ids` (the deleted message's attachments). */
  async removeForMessage(convId: string, seq: number, ids: readonly string[]): Promise<AttachmentRecord[]> {
    const mine = (r: AttachmentRecord) => r.conv_id === convId && r.seq === seq;
    const removed = await Promise.all([...new Set(ids)].map((id) => this.deleteOne(id, mine)));
    return removed.filter((r): r is AttachmentRecord => r !== null);
  }

  async listUnposted(before: number, limit: number): Promise<AttachmentRecord[]> {
    const n = clampLimit(limit);
    const out: AttachmentRecord[] = [];
    if (n === 0) return out;
    for await (const page of this.unposted.pages(before)) {
      const records = await Promise.all(page.map((e) => this.get(e.id)));
      for (let i = 0; i < page.length && out.length < n; i++) {
        const r = records[i];
        if (r !== null && r.conv_id === null && r.created_at === page[i].at) out.push(r);
        // Posted, removed, or a create that lost its insert: the entry is stale.
        else await this.unposted.remove(page[i].at, page[i].id);
      }
      if (out.length >= n) break;
    }
    return out;
  }

  /**
   * Posts the records of message `seq` (called before its event row is written). A record
   * already posted is left alone, unless it was posted by an earlier attempt of this very
   * send whose event never landed (`movedFrom`: the seq its idempotency claim moved from).
   */
  async post(convId: string, seq: number, ids: readonly string[], movedFrom: number | null): Promise<void> {
    await Promise.all(
      [...new Set(ids)].map(async (id) => {
        const r = await this.get(id);
        if (r === null) return;
        if (r.conv_id === null) {
          if ((await this.db.lwt(postCql, [convId, seq, id])).applied) await this.unposted.remove(r.created_at, id);
        } else if (movedFrom !== null && r.conv_id === convId && r.seq === movedFrom) {
          await this.db.lwt(repostCql, [convId, seq, id, convId, movedFrom]);
        }
      }),
    );
  }

  /** Removes one record if `accept` takes it, conditional on the state read; the removed record, or null. */
  private async deleteOne(id: string, accept: (r: AttachmentRecord) => boolean): Promise<AttachmentRecord | null> {
    for (let race = 0; race < maxRaces; race++) {
      const r = await this.get(id);
      if (r === null || !accept(r)) return null;
      if ((await this.db.lwt(deleteCql, [id, r.state, r.conv_id, r.seq])).applied) {
        if (r.conv_id === null) await this.unposted.remove(r.created_at, id);
        return r;
      }
    }
    throw new ContentionError(`store: attachment ${id} kept changing under delete`);
  }
}

interface BlobRow {
  refs: number;
  since: number | null;
  claimed: boolean;
  /** When it was claimed; 0 for a claim taken before the column existed (stored as null). */
  claimedAt: number;
}

/**
 * Reference counts per blob, by compare-and-set on (refs, unreferenced_since): an int
 * column, not a Cassandra counter, because counters can be neither conditional nor share
 * a table with other columns. Ordering against crashes: an unreferenced entry is indexed
 * before the count reaches 0 and removed after it leaves 0, so a crash leaves a stale
 * entry (checked and dropped by listUnreferenced), never an unreferenced blob no
 * collector can find.
 */
export class BlobTable {
  private readonly unreferenced: TimeIndex;

  constructor(
    private readonly db: Cql,
    private readonly now: () => number,
  ) {
    this.unreferenced = new TimeIndex(db, 'unreferenced');
  }

  async ref(sha256: string): Promise<void> {
    const deadline = Date.now() + claimWaitMs;
    let b = await this.get(sha256);
    for (let race = 0; race < maxRaces; ) {
      if (b === null) {
        if ((await this.db.lwt(firstRefCql, [sha256])).applied) return;
        race++;
      } else if (b.claimed) {
        // A collector is deleting the objects: wait for dropBlob, then start over.
        if (Date.now() >= deadline) throw new ContentionError(`store: blob ${sha256} stayed claimed for deletion for ${claimWaitMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, claimPollMs));
      } else if ((await this.db.lwt(setRefsCql, [b.refs + 1, b.since, sha256, b.refs, b.since])).applied) {
        if (b.refs === 0 && b.since !== null) await this.unreferenced.remove(b.since, sha256);
        return;
      } else {
        race++;
      }
      b = await this.get(sha256);
    }
    throw new ContentionError(`store: blob ${sha256} kept changing under refBlob`);
  }

  /**
   * At zero, unreferenced_since is now, but always later than the previous time it reached
   * zero: a ref taken and released within one millisecond still changes it, so a claim
   * based on the old value fails.
   */
  async unref(sha256: string): Promise<void> {
    for (let race = 0; race < maxRaces; race++) {
      const b = await this.get(sha256);
      if (b === null || b.refs <= 0 || b.claimed) return;
      const refs = b.refs - 1;
      const since = refs > 0 ? b.since : Math.max(this.now(), (b.since ?? 0) + 1);
      if (refs === 0) await this.unreferenced.add(since as number, sha256);
      if ((await this.db.lwt(setRefsCql, [refs, since, sha256, b.refs, b.since])).applied) return;
      if (refs === 0) await this.unreferenced.remove(since as number, sha256);
    }
    throw new ContentionError(`store: blob ${sha256} kept changing under unrefBlob`);
  }

  async listUnreferenced(before: number, limit: number, claimedBefore: number): Promise<UnreferencedBlob[]> {
    const n = clampLimit(limit);
    const out: UnreferencedBlob[] = [];
    if (n === 0) return out;
    for await (const page of this.unreferenced.pages(before)) {
      const blobs = await Promise.all(page.map((e) => this.get(e.id)));
      for (let i = 0; i < page.length && out.length < n; i++) {
        const b = blobs[i];
        const e = page[i];
        if (b !== null && b.refs === 0 && b.since === e.at) {
          // A claimed blob is being deleted: not offered again until its claim is stale. Its
          // entry stays until dropBlob, so a collector dying before that leaves it findable.
          if (!b.claimed) out.push({ sha256: e.id, unreferenced_since: e.at, claimed_at: null });
          else if (b.claimedAt < claimedBefore) out.push({ sha256: e.id, unreferenced_since: e.at, claimed_at: b.claimedAt });
        } else {
          await this.unreferenced.remove(e.at, e.id);
        }
      }
      if (out.length >= n) break;
    }
    return out;
  }

  /** A take-over is timed after the claim it replaces, so a second take-over of that claim fails. */
  async claim(sha256: string, since: number, claimedAt: number | null): Promise<boolean> {
    if (claimedAt === null) return (await this.db.lwt(claimCql, [this.now(), sha256, since])).applied;
    const seen = claimedAt === 0 ? null : claimedAt;
    return (await this.db.lwt(reclaimCql, [Math.max(this.now(), claimedAt + 1), sha256, since, seen])).applied;
  }

  async drop(sha256: string): Promise<void> {
    const b = await this.get(sha256);
    if (b === null || !b.claimed) return;
    if ((await this.db.lwt(dropCql, [sha256])).applied && b.since !== null) await this.unreferenced.remove(b.since, sha256);
  }

  private async get(sha256: string): Promise<BlobRow | null> {
    const row = await this.db.first(blobCql, [sha256]);
    if (row === null) return null;
    return { refs: num(row, 'refs') ?? 0, since: num(row, 'unreferenced_since'), claimed: bool(row, 'claimed'), claimedAt: num(row, 'claimed_at') ?? 0 };
  }
}

function recordOf(r: Row): AttachmentRecord {
  const meta = str(r, 'meta');
  return {
    attachment_id: str(r, 'attachment_id') ?? '',
    owner_id: str(r, 'owner_id') ?? '',
    name: str(r, 'name') ?? '',
    declared_type: str(r, 'declared_type') ?? '',
    declared_size: num(r, 'declared_size') ?? 0,
    declared_sha256: str(r, 'declared_sha256') ?? '',
    created_at: num(r, 'created_at') ?? 0,
    state: str(r, 'state') === 'ready' ? 'ready' : 'pending',
    sha256: str(r, 'sha256'),
    meta: meta === null ? null : (JSON.parse(meta) as Attachment),
    conv_id: str(r, 'conv_id'),
    seq: num(r, 'seq'),
  };
}

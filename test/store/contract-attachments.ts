/**
 * Store contract, part 5: attachments and blobs. Records from upload slot to posted and
 * removed; attachment_ready folded into history and scrubbed by a delete; posting and
 * unsending inside the group commit; blob reference counts and the collector's claim.
 * The store may be shared between tests (Cassandra), so list results are filtered to
 * this test's own ids.
 */
import { randomBytes } from 'node:crypto';
import { newId } from '../../src/protocol';
import type { AttachmentRecord, NewAttachment, Store } from '../../src/store';
import { attachment, event, group, message, t0, targeted, type ContractContext } from './contract-fixtures';

/** A random blob name (lowercase hex sha256). */
function sha(): string {
  return randomBytes(32).toString('hex');
}

function slot(owner: string, createdAt = t0, id = newId('att')): NewAttachment {
  return {
    attachment_id: id,
    owner_id: owner,
    name: 'photo.jpg',
    declared_type: 'image/jpeg',
    declared_size: 123_456,
    declared_sha256: sha(),
    created_at: createdAt,
  };
}

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The claim lease these tests stand for: a claim taken during a test is fresh unless the cutoff says otherwise. */
const lease = 60_000;

export function attachmentsContract(ctx: ContractContext): void {
  let store: Store;
  beforeEach(() => {
    store = ctx.store();
  });

  const byId = async (id: string): Promise<AttachmentRecord | undefined> => (await store.getAttachments([id]))[0];
  /** This test's blobs at zero references; a claim is stale (listed) when taken before `claimedBefore`. */
  const unreferenced = async (shas: string[], claimedBefore = Date.now() - lease) =>
    (await store.listUnreferencedBlobs(Date.now() + 60_000, 10_000, claimedBefore)).filter((b) => shas.includes(b.sha256));
  /** Creates a ready record holding one reference to `blob`. */
  const ready = async (owner: string, blob: string): Promise<string> => {
    const s = slot(owner);
    await store.createAttachment(s);
    await store.refBlob(blob);
    expect(await store.completeAttachment(s.attachment_id, blob, attachment(s.attachment_id))).toBe(true);
    return s.attachment_id;
  };

  describe('attachment records', () => {
    it('go from pending to ready once, take meta updates only when ready, and read back exactly', async () => {
      const owner = newId('u');
      const s = slot(owner);
      await store.createAttachment(s);
      expect(await store.getAttachments([s.attachment_id, newId('att')])).toEqual([
        { ...s, state: 'pending', sha256: null, meta: null, conv_id: null, seq: null },
      ]);
      const meta = attachment(s.attachment_id);
      expect(await store.updateAttachmentMeta(s.attachment_id, meta)).toBe(false);
      const blob = sha();
      expect(await store.completeAttachment(s.attachment_id, blob, meta)).toBe(true);
      expect(await store.completeAttachment(s.attachment_id, sha(), attachment(s.attachment_id, { name: 'other' }))).toBe(false);
      expect(await store.completeAttachment(newId('att'), blob, meta)).toBe(false);
      expect(await byId(s.attachment_id)).toEqual({ ...s, state: 'ready', sha256: blob, meta, conv_id: null, seq: null });
      const display = { width: 1600, height: 1200, size: 200_000, content_type: 'image/webp' };
      expect(await store.updateAttachmentMeta(s.attachment_id, { ...meta, display })).toBe(true);
      expect((await byId(s.attachment_id))?.meta).toEqual({ ...meta, display });
      expect(await store.updateAttachmentMeta(newId('att'), meta)).toBe(false);
    });

    it('are removed once: a second delete returns nothing', async () => {
      const owner = newId('u');
      const [a, b] = [slot(owner), slot(owner)];
      await store.createAttachment(a);
      await store.createAttachment(b);
      const removed = await store.deleteAttachments([a.attachment_id, b.attachment_id, newId('att')]);
      expect(removed.map((r) => r.attachment_id).sort()).toEqual([a.attachment_id, b.attachment_id].sort());
      expect(removed.find((r) => r.attachment_id === a.attachment_id)).toMatchObject({ ...a, state: 'pending' });
      expect(await store.deleteAttachments([a.attachment_id, b.attachment_id])).toEqual([]);
      expect(await store.getAttachments([a.attachment_id, b.attachment_id])).toEqual([]);
    });

    it('lists the never-posted ones created before a time, oldest first, without posted ones', async () => {
      const owner = newId('u');
      const convId = await group(store, [owner]);
      const base = t0 - 10 * 86_400_000;
      const slots = [3, 1, 2, 4, 30].map((h) => slot(owner, base + h * 3_600_000));
      for (const s of slots) await store.createAttachment(s);
      const ids = slots.map((s) => s.attachment_id);
      const mine = async (before: number) =>
        (await store.listUnposted(before, 10_000)).filter((r) => ids.includes(r.attachment_id)).map((r) => r.attachment_id);
      // Created at +1 h, +2 h, +3 h, +4 h and +30 h (another day).
      expect(await mine(base + 5 * 3_600_000)).toEqual([ids[1], ids[2], ids[0], ids[3]]);
      expect(await mine(base + 2 * 3_600_000)).toEqual([ids[1]]);
      await store.appendEvents([message(convId, 1, owner, 'photo', { attachments: [attachment(ids[2])] })]);
      expect(await byId(ids[2])).toMatchObject({ conv_id: convId, seq: 1 });
      expect(await mine(base + 31 * 3_600_000)).toEqual([ids[1], ids[0], ids[3], ids[4]]);
      await store.deleteAttachments([ids[1]]);
      expect(await mine(base + 31 * 3_600_000)).toEqual([ids[0], ids[3], ids[4]]);
      expect((await store.listUnposted(base + 31 * 3_600_000, 10_000)).every((r) => r.conv_id === null)).toBe(true);
    });
  });

  describe('the inbox preview of a message of attachments only', () => {
    it('says what they are, and falls back to the newest live message when the previewed one is unsent', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      const preview = async () => (await store.listInbox(a, null, 50)).rows.find((r) => r.conv_id === convId)?.preview;
      await store.appendEvents([message(convId, 1, a, '', { attachments: [attachment('p1')] })]);
      expect(await preview()).toBe('📷 Photo');
      await store.appendEvents([message(convId, 2, a, '', { attachments: [attachment('p2'), attachment('p3')] })]);
      expect(await preview()).toBe('📷 2 photos');
      await store.appendEvents([message(convId, 3, a, '', { attachments: [attachment('f1', { kind: 'file', name: 'report.pdf', content_type: 'application/pdf' })] })]);
      expect(await preview()).toBe('📎 report.pdf');
      await store.appendEvents([message(convId, 4, a, 'look at this', { attachments: [attachment('p4')] })]);
      expect(await preview()).toBe('look at this');
      await store.appendEvents([targeted(convId, 5, a, 'delete', 4), targeted(convId, 6, a, 'delete', 3)]);
      expect(await preview()).toBe('📷 2 photos');
    });
  });

  describe('posting with the message', () => {
    it('sets conv_id and seq when the message commits, not on a duplicate, not on a failed batch', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      const [x, y, z] = [slot(a), slot(a), slot(a)];
      for (const s of [x, y, z]) await store.createAttachment(s);
      const send = message(convId, 1, a, 'two files', { attachments: [attachment(x.attachment_id), attachment(y.attachment_id)] });
      expect(await store.appendEvents([send])).toEqual([{ status: 'ok' }]);
      expect(await byId(x.attachment_id)).toMatchObject({ conv_id: convId, seq: 1 });
      expect(await byId(y.attachment_id)).toMatchObject({ conv_id: convId, seq: 1 });
      // A retry of the same key (even carrying another attachment) is a duplicate: it posts nothing.
      const retry = message(convId, 2, a, 'two files', { client_msg_id: send.event.client_msg_id, attachments: [attachment(z.attachment_id)] });
      expect(await store.appendEvents([retry])).toEqual([{ status: 'duplicate', seq: 1, ts: t0 + 1000, kind: 'message' }]);
      expect(await byId(z.attachment_id)).toMatchObject({ conv_id: null, seq: null });
      // A batch that fails (seq 1 is taken) writes nothing: its message posts nothing either.
      const failing = [message(convId, 3, a, 'z', { attachments: [attachment(z.attachment_id)] }), message(convId, 1, a, 'collides')];
      const outcome = await store.appendEvents(failing).then(
        (results) => ({ threw: false, results }),
        () => ({ threw: true, results: null }),
      );
      const seqs = (await store.readEvents(convId, 0, 10)).map((e) => `${e.seq}:${e.body}`);
      expect({ ...outcome, seqs }).toEqual({ threw: true, results: null, seqs: ['1:two files'] });
      expect(await byId(z.attachment_id)).toMatchObject({ conv_id: null, seq: null });
    });
  });

  describe('attachment_ready', () => {
    it('is folded into history by attachment id; the log keeps the message as sent and the event itself', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      const [p1, p2] = [attachment(newId('att')), attachment(newId('att'), { kind: 'file', name: 'notes.pdf', width: null, height: null, placeholder: null, thumbnail: null })];
      const display = { width: 1600, height: 1200, size: 200_000, content_type: 'image/webp' };
      const made = { ...p1, display };
      await store.appendEvents([
        message(convId, 1, a, 'root', { attachments: [p1, p2] }),
        message(convId, 2, b, 'reply', { reply_to: 1, thread_root: 1, attachments: [p1] }),
      ]);
      await store.appendEvents([
        { event: event(convId, 3, a, 'attachment_ready', { target_seq: 1, attachment: made, client_msg_id: `attachment_ready:1:${p1.id}` }) },
        { event: event(convId, 4, b, 'attachment_ready', { target_seq: 2, attachment: made }) },
        // An id the message does not carry changes nothing.
        { event: event(convId, 5, a, 'attachment_ready', { target_seq: 1, attachment: attachment(newId('att')) }) },
      ]);
      expect((await store.readMessages(convId, 100, 10)).map((m) => m.attachments)).toEqual([[made, p2], [made]]);
      expect((await store.readMessage(convId, 1))?.attachments).toEqual([made, p2]);
      expect((await store.readThreadReplies(convId, 1, 0, 10)).map((m) => m.attachments)).toEqual([[made]]);
      const events = await store.readEvents(convId, 0, 10);
      expect(events[0].attachments).toEqual([p1, p2]);
      expect(events[2]).toEqual({
        conv_id: convId,
        seq: 3,
        ts: t0 + 3000,
        sender_id: a,
        kind: 'attachment_ready',
        target_seq: 1,
        attachment: made,
        client_msg_id: `attachment_ready:1:${p1.id}`,
      });
      expect(events[3]).toMatchObject({ kind: 'attachment_ready', target_seq: 2, attachment: made });
    });

    it('loses its attachment when the message is deleted, and one aimed at a deleted message changes nothing', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      const p = attachment(newId('att'), { name: 'secret-plan.jpg' });
      const made = { ...p, display: { width: 1600, height: 1200, size: 1, content_type: 'image/webp' } };
      await store.appendEvents([message(convId, 1, a, 'look', { attachments: [p] }), message(convId, 2, a, 'kept', { attachments: [p] })]);
      await store.appendEvents([{ event: event(convId, 3, a, 'attachment_ready', { target_seq: 1, attachment: made }) }]);
      // The delete and a later attachment_ready in one batch, another in a later one.
      await store.appendEvents([
        targeted(convId, 4, a, 'delete', 1),
        { event: event(convId, 5, a, 'attachment_ready', { target_seq: 1, attachment: made }) },
      ]);
      await store.appendEvents([{ event: event(convId, 6, a, 'attachment_ready', { target_seq: 1, attachment: made }) }]);
      const events = await store.readEvents(convId, 0, 10);
      expect(JSON.stringify(events.filter((e) => e.seq !== 2))).not.toContain('secret-plan');
      for (const seq of [3, 5, 6]) {
        expect(events.find((e) => e.seq === seq)).toEqual({ conv_id: convId, seq, ts: t0 + seq * 1000, sender_id: a, kind: 'attachment_ready', target_seq: 1 });
      }
      expect(await store.readMessage(convId, 1)).toMatchObject({ deleted: true, attachments: [] });
      // The other message keeps its own attachment, unfolded.
      expect((await store.readMessage(convId, 2))?.attachments).toEqual([p]);
    });
  });

  describe('unsend', () => {
    it('removes the message attachment records and releases each blob reference once', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      const [shared, own] = [sha(), sha()];
      // Two uploads of the same bytes share a blob (two references); a third has its own.
      const [x1, x2, y] = [await ready(a, shared), await ready(a, shared), await ready(a, own)];
      const pending = slot(a);
      await store.createAttachment(pending);
      await store.appendEvents([
        message(convId, 1, a, 'one', { attachments: [attachment(x1), attachment(y), attachment(pending.attachment_id)] }),
        message(convId, 2, a, 'two', { attachments: [attachment(x2)] }),
      ]);
      expect(await unreferenced([shared, own])).toEqual([]);
      await store.appendEvents([targeted(convId, 3, a, 'delete', 1)]);
      expect(await store.getAttachments([x1, y, pending.attachment_id, x2])).toEqual([expect.objectContaining({ attachment_id: x2 })]);
      expect((await unreferenced([shared, own])).map((u) => u.sha256)).toEqual([own]);
      // Removing again (a collector, a second delete of the message) releases nothing more.
      expect(await store.deleteAttachments([x1, y])).toEqual([]);
      await store.appendEvents([targeted(convId, 4, a, 'delete', 1)]);
      expect((await unreferenced([shared, own])).map((u) => u.sha256)).toEqual([own]);
      await store.appendEvents([targeted(convId, 5, a, 'delete', 2)]);
      expect((await unreferenced([shared, own])).map((u) => u.sha256).sort()).toEqual([shared, own].sort());
    });

    it('removes the attachments of a message sent and deleted in one batch', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      const blob = sha();
      const x = await ready(a, blob);
      await store.appendEvents([message(convId, 1, a, 'oops', { attachments: [attachment(x)] }), targeted(convId, 2, a, 'delete', 1)]);
      expect(await store.getAttachments([x])).toEqual([]);
      expect((await unreferenced([blob])).map((u) => u.sha256)).toEqual([blob]);
    });
  });

  describe('blobs', () => {
    it('count references; at zero a blob is listed, oldest first, until referenced again', async () => {
      const [b1, b2] = [sha(), sha()];
      await store.refBlob(b1);
      await store.refBlob(b1);
      await store.refBlob(b2);
      await store.unrefBlob(b1);
      expect(await unreferenced([b1, b2])).toEqual([]);
      const before = Date.now();
      await store.unrefBlob(b1);
      await later(5);
      await store.unrefBlob(b2);
      const listed = await unreferenced([b1, b2]);
      expect(listed.map((u) => u.sha256)).toEqual([b1, b2]);
      expect(listed.map((u) => u.claimed_at)).toEqual([null, null]);
      expect(listed[0].unreferenced_since).toBeGreaterThanOrEqual(before);
      expect(listed[0].unreferenced_since).toBeLessThan(listed[1].unreferenced_since);
      // `before` is exclusive.
      const earlier = await store.listUnreferencedBlobs(listed[1].unreferenced_since, 10_000, Date.now() - lease);
      expect(earlier.map((u) => u.sha256)).toContain(b1);
      expect(earlier.map((u) => u.sha256)).not.toContain(b2);
      await store.refBlob(b1);
      expect((await unreferenced([b1, b2])).map((u) => u.sha256)).toEqual([b2]);
    });

    it('claims only an unreferenced blob still unreferenced since the time given', async () => {
      const blob = sha();
      expect(await store.claimBlob(blob, 1, null)).toBe(false);
      await store.refBlob(blob);
      await store.unrefBlob(blob);
      const [first] = await unreferenced([blob]);
      // Taken and released again meanwhile (even within the same millisecond): the old time no longer claims it.
      await store.refBlob(blob);
      expect(await store.claimBlob(blob, first.unreferenced_since, null)).toBe(false);
      await store.unrefBlob(blob);
      const [second] = await unreferenced([blob]);
      expect(second.unreferenced_since).not.toBe(first.unreferenced_since);
      expect(await store.claimBlob(blob, first.unreferenced_since, null)).toBe(false);
      expect(await store.claimBlob(blob, second.unreferenced_since, null)).toBe(true);
      expect(await store.claimBlob(blob, second.unreferenced_since, null)).toBe(false);
      // Claimed: no longer offered to collectors.
      expect(await unreferenced([blob])).toEqual([]);
    });

    it('makes refBlob of a claimed blob wait for dropBlob, then creates it anew with one reference', async () => {
      const blob = sha();
      await store.refBlob(blob);
      await store.unrefBlob(blob);
      const [u] = await unreferenced([blob]);
      expect(await store.claimBlob(blob, u.unreferenced_since, null)).toBe(true);
      let done = false;
      const waiting = store.refBlob(blob).then(() => {
        done = true;
      });
      await later(150);
      expect(done).toBe(false);
      await store.dropBlob(blob);
      await waiting;
      expect(done).toBe(true);
      // One reference: not listed; one release lists it again.
      expect(await unreferenced([blob])).toEqual([]);
      await store.unrefBlob(blob);
      expect((await unreferenced([blob])).map((b) => b.sha256)).toEqual([blob]);
    });

    it('lists a claim never dropped again once stale, for one take-over; dropBlob then lets refBlob create it anew', async () => {
      const blob = sha();
      await store.refBlob(blob);
      await store.unrefBlob(blob);
      const [u] = await unreferenced([blob]);
      const beforeClaim = Date.now();
      expect(await store.claimBlob(blob, u.unreferenced_since, null)).toBe(true);
      const afterClaim = Date.now();
      // The collector dies here. While the claim is fresh: not listed, not claimable.
      expect(await unreferenced([blob])).toEqual([]);
      expect(await store.claimBlob(blob, u.unreferenced_since, null)).toBe(false);
      // Once stale (the cutoff is past it): listed with the claim it would replace.
      const [stale] = await unreferenced([blob], afterClaim + 1);
      expect(stale).toEqual({ sha256: blob, unreferenced_since: u.unreferenced_since, claimed_at: expect.any(Number) });
      const claimedAt = stale.claimed_at as number;
      expect(claimedAt).toBeGreaterThanOrEqual(beforeClaim);
      expect(claimedAt).toBeLessThanOrEqual(afterClaim);
      // Only as listed: another time or no claim at all takes nothing over.
      expect(await store.claimBlob(blob, u.unreferenced_since, null)).toBe(false);
      expect(await store.claimBlob(blob, u.unreferenced_since, claimedAt - 1)).toBe(false);
      expect(await store.claimBlob(blob, u.unreferenced_since - 1, claimedAt)).toBe(false);
      // Two collectors take it over at once: one wins; a later try with the same claim fails.
      const won = await Promise.all([store.claimBlob(blob, u.unreferenced_since, claimedAt), store.claimBlob(blob, u.unreferenced_since, claimedAt)]);
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await store.claimBlob(blob, u.unreferenced_since, claimedAt)).toBe(false);
      // The new claim is later than the one it replaced, and fresh: not listed.
      expect(await unreferenced([blob], claimedAt + 1)).toEqual([]);
      const [renewed] = await unreferenced([blob], Date.now() + 1);
      expect(renewed.claimed_at).toBeGreaterThan(claimedAt);
      // A stale claim still makes refBlob wait (the objects may be half deleted) until dropBlob.
      let done = false;
      const waiting = store.refBlob(blob).then(() => {
        done = true;
      });
      await later(150);
      expect(done).toBe(false);
      await store.dropBlob(blob);
      await waiting;
      // Created anew: one reference, unclaimed.
      expect(await unreferenced([blob], Date.now() + 1)).toEqual([]);
      await store.unrefBlob(blob);
      expect(await unreferenced([blob], Date.now() + 1)).toEqual([{ sha256: blob, unreferenced_since: expect.any(Number), claimed_at: null }]);
    });

    it('drops only a claimed blob', async () => {
      const blob = sha();
      await store.refBlob(blob);
      await store.unrefBlob(blob);
      await store.dropBlob(blob);
      expect((await unreferenced([blob])).map((b) => b.sha256)).toEqual([blob]);
    });
  });
}

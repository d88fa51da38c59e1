/**
 * Store contract, part 4: what rich messages need from every engine: threads and their
 * reply counts, link previews folded into messages, deletes that remove content from
 * storage, mention counts, mutes and the "marked unread" flag.
 */
import { MUTED_FOREVER, newId, type ConvEvent } from '../../src/protocol';
import type { Store } from '../../src/store';
import { attachment, event, group, message, t0, targeted, type ContractContext } from './contract-fixtures';

export function richContract(ctx: ContractContext): void {
  let store: Store;
  beforeEach(() => {
    store = ctx.store();
  });

  const preview = (convId: string, seq: number, sender: string, target: number, fields: Partial<ConvEvent> = {}): ConvEvent =>
    event(convId, seq, sender, 'link_preview', {
      target_seq: target,
      url: 'https://example.com/a',
      title: 'A page',
      description: 'About it',
      image_url: 'https://example.com/a.png',
      site_name: 'Example',
      client_msg_id: `link_preview:${target}`,
      ...fields,
    });

  describe('threads', () => {
    it('keeps thread_root and a live reply count on the first message, read back per row and per thread', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      await store.appendEvents([
        message(convId, 1, a, 'root'),
        message(convId, 2, b, 'first reply', { reply_to: 1, thread_root: 1 }),
        message(convId, 3, a, 'unrelated'),
        message(convId, 4, a, 'reply to the reply', { reply_to: 2, thread_root: 1 }),
        message(convId, 5, b, 'third reply', { reply_to: 1, thread_root: 1 }),
      ]);
      const history = await store.readMessages(convId, 100, 10);
      expect(history.map((m) => [m.seq, m.reply_to, m.thread_root, m.reply_count])).toEqual([
        [1, null, null, 3],
        [2, 1, 1, 3],
        [3, null, null, 0],
        [4, 2, 1, 3],
        [5, 1, 1, 3],
      ]);
      expect((await store.readThreadReplies(convId, 1, 0, 10)).map((m) => m.seq)).toEqual([2, 4, 5]);
      expect((await store.readThreadReplies(convId, 1, 2, 1)).map((m) => m.seq)).toEqual([4]);
      expect(await store.readThreadReplies(convId, 3, 0, 10)).toEqual([]);
      // Deleting a reply takes it out of the count once, even if deleted twice.
      await store.appendEvents([targeted(convId, 6, b, 'delete', 2), targeted(convId, 7, b, 'delete', 2)]);
      expect((await store.readMessage(convId, 1))?.reply_count).toBe(2);
      expect(await store.readMessage(convId, 2)).toMatchObject({ deleted: true, body: '', thread_root: 1, reply_to: 1, reply_count: 2 });
      // readMessage answers messages only.
      expect(await store.readMessage(convId, 6)).toBeNull();
      expect(await store.readMessage(convId, 99)).toBeNull();
      expect((await store.readEvents(convId, 1, 1))[0]).toMatchObject({ seq: 2, kind: 'message', thread_root: 1 });
    });
  });

  describe('link previews', () => {
    it('stores the preview event and folds it into its message; a deleted message loses both', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      await store.appendEvents([message(convId, 1, a, 'see https://example.com/a'), { event: preview(convId, 2, a, 1) }]);
      const [msg] = await store.readMessages(convId, 100, 10);
      expect(msg.link_preview).toEqual({
        url: 'https://example.com/a',
        title: 'A page',
        description: 'About it',
        image_url: 'https://example.com/a.png',
        site_name: 'Example',
      });
      const events = await store.readEvents(convId, 0, 10);
      expect(events[1]).toEqual({
        conv_id: convId,
        seq: 2,
        ts: t0 + 2000,
        sender_id: a,
        kind: 'link_preview',
        target_seq: 1,
        url: 'https://example.com/a',
        title: 'A page',
        description: 'About it',
        image_url: 'https://example.com/a.png',
        site_name: 'Example',
        client_msg_id: 'link_preview:1',
      });
      // One preview per message: the idempotency key makes a second one a duplicate.
      const [again] = await store.appendEvents([{ event: preview(convId, 3, a, 1, { title: 'Other' }) }]);
      expect(again).toEqual({ status: 'duplicate', seq: 2, ts: t0 + 2000, kind: 'link_preview' });
      await store.appendEvents([targeted(convId, 4, a, 'delete', 1)]);
      expect((await store.readMessages(convId, 100, 10))[0]).toMatchObject({ deleted: true, link_preview: null, body: '' });
      expect((await store.readEvents(convId, 1, 1))[0]).toMatchObject({ kind: 'link_preview', url: '', title: null, image_url: null });
    });
  });

  describe('deletes', () => {
    it('remove body, attachments, mentions, reactions and edit bodies from storage, keeping the tombstone', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      await store.appendEvents([
        message(convId, 1, a, 'secret', { attachments: [attachment('att_1')], mentions: [b] }),
        targeted(convId, 2, b, 'reaction', 1, { emoji: '👍' }),
        targeted(convId, 3, a, 'edit', 1, { body: 'edited secret' }),
        targeted(convId, 4, a, 'delete', 1),
      ]);
      const [m] = await store.readMessages(convId, 100, 10);
      expect(m).toMatchObject({ seq: 1, sender_id: a, deleted: true, body: '', attachments: [], mentions: [], reactions: {}, link_preview: null });
      expect((await store.readEvents(convId, 2, 1))[0]).toMatchObject({ kind: 'edit', body: '' });
      // Unread and mention counts forget it.
      expect(await store.countUnread(convId, b, 0)).toEqual({ unread: 0, mentions: 0 });
    });

    it('remove the emoji of reactions to the message, from earlier batches and its own, keeping the reaction rows', async () => {
      const [a, b, c] = [newId('u'), newId('u'), newId('u')];
      const convId = await group(store, [a, b, c]);
      await store.appendEvents([
        message(convId, 1, a, 'doomed'),
        message(convId, 2, a, 'kept'),
        targeted(convId, 3, b, 'reaction', 1, { emoji: '😮' }),
      ]);
      await store.appendEvents([
        targeted(convId, 4, c, 'reaction', 1, { emoji: '🎉' }),
        targeted(convId, 5, b, 'reaction', 2, { emoji: '👍' }),
        targeted(convId, 6, b, 'reaction', 1, { emoji: null }),
      ]);
      await store.appendEvents([targeted(convId, 7, c, 'reaction', 1, { emoji: '🔥' }), targeted(convId, 8, a, 'delete', 1)]);
      // The log keeps its shape (seq, sender, target); only what the reactions said is gone.
      const reactions = (await store.readEvents(convId, 0, 100)).filter((e) => e.kind === 'reaction');
      expect(reactions.map((e) => [e.seq, e.sender_id, e.target_seq, e.emoji])).toEqual([
        [3, b, 1, null],
        [4, c, 1, null],
        [5, b, 2, '👍'],
        [6, b, 1, null],
        [7, c, 1, null],
      ]);
      expect((await store.readMessage(convId, 1))?.reactions).toEqual({});
      expect((await store.readMessage(convId, 2))?.reactions).toEqual({ [b]: '👍' });
    });
  });

  describe('mentions, mute and marked unread', () => {
    it('counts unread mentions among unread messages only', async () => {
      const [a, b, c] = [newId('u'), newId('u'), newId('u')];
      const convId = await group(store, [a, b, c]);
      await store.appendEvents([
        message(convId, 1, a, 'hi @b', { mentions: [b] }),
        message(convId, 2, a, 'hi @c', { mentions: [c] }),
        message(convId, 3, c, 'hi @b @a', { mentions: [b, a] }),
        message(convId, 4, b, 'me @b', { mentions: [b] }), // own messages never count
      ]);
      expect(await store.countUnread(convId, b, 0)).toEqual({ unread: 3, mentions: 2 });
      expect(await store.countUnread(convId, b, 1)).toEqual({ unread: 2, mentions: 1 });
      expect(await store.countUnread(convId, a, 0)).toEqual({ unread: 2, mentions: 1 });
      const row = (await store.listInbox(b, null, 10)).rows.find((r) => r.conv_id === convId);
      expect(row).toMatchObject({ unread: 3, unread_mentions: 2 });
    });

    it('stores mutes (a time, forever, none) and shows them on inbox rows and members', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      const future = Date.now() + 3_600_000;
      expect(await store.setMute(convId, a, future)).toBe(true);
      expect(await store.getMember(convId, a)).toMatchObject({ muted_until: future });
      let row = (await store.listInbox(a, null, 10)).rows[0];
      expect(row).toMatchObject({ muted_until: future, muted: true });
      await store.setMute(convId, a, MUTED_FOREVER);
      row = (await store.inboxChangedSince(a, 0, 10))[0];
      expect(row).toMatchObject({ muted_until: MUTED_FOREVER, muted: true });
      await store.setMute(convId, a, 1000); // long past: shown, but not in force
      expect((await store.listInbox(a, null, 10)).rows[0]).toMatchObject({ muted_until: 1000, muted: false });
      await store.setMute(convId, a, null);
      expect((await store.listInbox(a, null, 10)).rows[0]).toMatchObject({ muted_until: null, muted: false });
      // Only this member's row changed; a non-member cannot be muted.
      expect((await store.listInbox(b, null, 10)).rows[0]).toMatchObject({ muted_until: null, muted: false });
      expect(await store.setMute(convId, newId('u'), null)).toBe(false);
    });

    it('sets and clears the marked-unread flag with the markers, and reports the change since a time', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      await store.saveMarkers([{ conv_id: convId, user_id: a, marked_unread: true }]);
      expect(await store.getMember(convId, a)).toMatchObject({ marked_unread: true });
      expect((await store.listInbox(a, null, 10)).rows[0]).toMatchObject({ marked_unread: true });
      // Markers without the flag leave it alone; the flag alone leaves the markers alone.
      await store.saveMarkers([{ conv_id: convId, user_id: a, last_delivered_seq: 3 }]);
      expect(await store.getMember(convId, a)).toMatchObject({ marked_unread: true, last_delivered_seq: 3 });
      const before = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      await store.saveMarkers([{ conv_id: convId, user_id: a, marked_unread: false }]);
      expect(await store.getMember(convId, a)).toMatchObject({ marked_unread: false, last_delivered_seq: 3 });
      expect((await store.inboxChangedSince(a, before, 10)).map((r) => r.conv_id)).toEqual([convId]);
      expect(await store.getMember(convId, b)).toMatchObject({ marked_unread: false });
    });
  });
}

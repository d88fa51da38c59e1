/** Store contract, part 2: the log (append, read, idempotency, atomicity, folding, membership). */
import { newId, type ConvEvent, type EventKind } from '../../src/protocol';
import type { AppendItem, Store } from '../../src/store';
import { attachment, event, group, message, t0, targeted, type ContractContext } from './contract-fixtures';

/** Registers this part of the Store contract; the store comes from `ctx` per test. */
export function eventsContract(ctx: ContractContext): void {
  let store: Store;
  beforeEach(() => {
    store = ctx.store();
  });

  describe('appendEvents and readEvents', () => {
    it('finds nothing past the largest seq a client may claim to hold', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      await store.appendEvents([message(convId, 1, a)]);
      // Clients send MAX_SAFE_INTEGER for "I have everything"; engines must not fail on it.
      expect(await store.readEvents(convId, Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
      expect(await store.readMessage(convId, Number.MAX_SAFE_INTEGER)).toBeNull();
      expect(await store.countUnread(convId, newId('u'), Number.MAX_SAFE_INTEGER)).toEqual({ unread: 0, mentions: 0 });
      expect((await store.readMessages(convId, Number.MAX_SAFE_INTEGER, 10)).map((m) => m.seq)).toEqual([1]);
    });

    it('round-trips every kind with exactly the fields it carries', async () => {
      const [a, b, c] = [newId('u'), newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      const items: AppendItem[] = [
        message(convId, 1, a, 'hello', { reply_to: null, attachments: [attachment('att_1')], mentions: [b], client_msg_id: 'm1' }),
        message(convId, 2, b, 'reply', { reply_to: 1, client_msg_id: 'm2' }),
        targeted(convId, 3, b, 'reaction', 1, { emoji: '👍', client_msg_id: 'r1' }),
        targeted(convId, 4, b, 'reaction', 1, { emoji: null, client_msg_id: 'r2' }),
        targeted(convId, 5, a, 'edit', 1, { body: 'hello!', client_msg_id: 'e1' }),
        targeted(convId, 6, b, 'delete', 2, { client_msg_id: 'd1' }),
        { event: event(convId, 7, a, 'member_added', { user_ids: [c] }), members: { add: [{ user_id: c, role: 'member', last_read_seq: 0 }] } },
        { event: event(convId, 8, a, 'member_removed', { user_ids: [c] }), members: { remove: [c] } },
        { event: event(convId, 9, a, 'conversation_updated', { title: 'Renamed' }) },
      ];
      const results = await store.appendEvents(items);
      expect(results).toEqual(items.map(() => ({ status: 'ok' })));
      const ts = (seq: number) => t0 + seq * 1000;
      const base = (seq: number, sender: string, kind: EventKind) => ({ conv_id: convId, seq, ts: ts(seq), sender_id: sender, kind });
      expect(await store.readEvents(convId, 0, 100)).toEqual([
        // Message 1 reads back with its current (edited) body.
        { ...base(1, a, 'message'), body: 'hello!', reply_to: null, thread_root: null, attachments: [attachment('att_1')], mentions: [b], client_msg_id: 'm1' },
        // Message 2 was deleted: its body is gone, the fields stay present.
        { ...base(2, b, 'message'), body: '', reply_to: 1, thread_root: null, attachments: [], mentions: [], client_msg_id: 'm2' },
        { ...base(3, b, 'reaction'), target_seq: 1, emoji: '👍', client_msg_id: 'r1' },
        { ...base(4, b, 'reaction'), target_seq: 1, emoji: null, client_msg_id: 'r2' },
        { ...base(5, a, 'edit'), target_seq: 1, body: 'hello!', client_msg_id: 'e1' },
        { ...base(6, b, 'delete'), target_seq: 2, client_msg_id: 'd1' },
        { ...base(7, a, 'member_added'), user_ids: [c] },
        { ...base(8, a, 'member_removed'), user_ids: [c] },
        { ...base(9, a, 'conversation_updated'), title: 'Renamed' },
      ]);
    });

    it('fills defaults for a message sent without optional fields', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      const ev: ConvEvent = { conv_id: convId, seq: 1, ts: t0, sender_id: a, kind: 'message', body: 'plain', client_msg_id: 'x' };
      await store.appendEvents([{ event: ev }]);
      expect(await store.readEvents(convId, 0, 10)).toEqual([
        { ...ev, reply_to: null, thread_root: null, attachments: [], mentions: [] },
      ]);
    });

    it('reads events after a seq, ascending, at most limit', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      const other = await group(store, [a]);
      await store.appendEvents([3, 1, 5, 2, 4].map((seq) => message(convId, seq, a)));
      await store.appendEvents([message(other, 1, a)]);
      expect((await store.readEvents(convId, 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect((await store.readEvents(convId, 2, 2)).map((e) => e.seq)).toEqual([3, 4]);
      expect(await store.readEvents(convId, 5, 10)).toEqual([]);
      expect(await store.readEvents(convId, 0, 0)).toEqual([]);
      expect(await store.readEvents(newId('c'), 0, 10)).toEqual([]);
    });

    it('updates last_seq of each touched conversation', async () => {
      const a = newId('u');
      const [c1, c2] = [await group(store, [a]), await group(store, [a])];
      await store.appendEvents([message(c1, 1, a), message(c2, 1, a), message(c1, 2, a), message(c1, 3, a)]);
      expect((await store.getConversation(c1))?.last_seq).toBe(3);
      expect((await store.getConversation(c2))?.last_seq).toBe(1);
    });
  });

  describe('idempotency', () => {
    it('answers a duplicate within one batch with the original seq, ts and kind, writing nothing', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      const results = await store.appendEvents([
        message(convId, 1, a, 'first', { client_msg_id: 'same' }),
        message(convId, 2, a, 'retry', { client_msg_id: 'same' }),
        // The same key from another sender is another message.
        message(convId, 3, b, 'other sender', { client_msg_id: 'same' }),
      ]);
      expect(results).toEqual([{ status: 'ok' }, { status: 'duplicate', seq: 1, ts: t0 + 1000, kind: 'message' }, { status: 'ok' }]);
      const events = await store.readEvents(convId, 0, 10);
      expect(events.map((e) => [e.seq, e.body])).toEqual([
        [1, 'first'],
        [3, 'other sender'],
      ]);
    });

    it('answers a duplicate across batches and finds the original by its key', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      const other = await group(store, [a]);
      await store.appendEvents([message(convId, 1, a, 'first', { client_msg_id: 'k1' })]);
      const results = await store.appendEvents([
        message(convId, 2, a, 'retry', { client_msg_id: 'k1' }),
        // Keys are per conversation.
        message(other, 1, a, 'elsewhere', { client_msg_id: 'k1' }),
      ]);
      expect(results).toEqual([{ status: 'duplicate', seq: 1, ts: t0 + 1000, kind: 'message' }, { status: 'ok' }]);
      expect(await store.readEvents(convId, 0, 10)).toHaveLength(1);
      expect((await store.getConversation(convId))?.last_seq).toBe(1);
      expect(await store.findByClientMsgId(convId, a, 'k1')).toEqual({ seq: 1, ts: t0 + 1000, kind: 'message' });
      expect(await store.findByClientMsgId(other, a, 'k1')).toEqual({ seq: 1, ts: t0 + 1000, kind: 'message' });
      expect(await store.findByClientMsgId(convId, a, 'nope')).toBeNull();
      expect(await store.findByClientMsgId(convId, newId('u'), 'k1')).toBeNull();
    });

    it('deduplicates reactions, edits and deletes by their key too', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      await store.appendEvents([message(convId, 1, a), targeted(convId, 2, a, 'reaction', 1, { emoji: '❤️', client_msg_id: 'rk' })]);
      const res = await store.appendEvents([targeted(convId, 3, a, 'reaction', 1, { emoji: '😂', client_msg_id: 'rk' })]);
      expect(res).toEqual([{ status: 'duplicate', seq: 2, ts: t0 + 2000, kind: 'reaction' }]);
      const [view] = await store.readMessages(convId, 100, 10);
      expect(view.reactions).toEqual({ [a]: '❤️' });
      expect(await store.findByClientMsgId(convId, a, 'rk')).toEqual({ seq: 2, ts: t0 + 2000, kind: 'reaction' });
    });

    it('names the kind of the original when another kind reuses its key, in a later batch or the same one', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      await store.appendEvents([message(convId, 1, a, 'sent', { client_msg_id: 'reused' })]);
      // A REACT (and an EDIT in the same batch as a SEND) carrying a key a SEND already holds:
      // the caller needs the kind to answer a conflict instead of the SEND's ACK.
      const results = await store.appendEvents([
        targeted(convId, 2, a, 'reaction', 1, { emoji: '👍', client_msg_id: 'reused' }),
        message(convId, 3, a, 'second', { client_msg_id: 'shared' }),
        targeted(convId, 4, a, 'edit', 3, { body: 'edited', client_msg_id: 'shared' }),
      ]);
      expect(results).toEqual([
        { status: 'duplicate', seq: 1, ts: t0 + 1000, kind: 'message' },
        { status: 'ok' },
        { status: 'duplicate', seq: 3, ts: t0 + 3000, kind: 'message' },
      ]);
      expect(await store.findByClientMsgId(convId, a, 'reused')).toEqual({ seq: 1, ts: t0 + 1000, kind: 'message' });
      const [first, second] = await store.readMessages(convId, 100, 10);
      expect(first.reactions).toEqual({});
      expect(second).toMatchObject({ body: 'second', edited_at: null });
      expect((await store.readEvents(convId, 0, 10)).map((e) => e.seq)).toEqual([1, 3]);
    });
  });

  describe('atomicity', () => {
    it('writes nothing from a batch that fails', async () => {
      const a = newId('u');
      const [c1, c2] = [await group(store, [a]), await group(store, [a])];
      const bad = [
        message(c1, 1, a, 'one', { client_msg_id: 'a1' }),
        message(c2, 1, a, 'two', { client_msg_id: 'a2' }),
        message(c1, 1, a, 'same seq', { client_msg_id: 'a3' }),
      ];
      await expect(store.appendEvents(bad)).rejects.toBeDefined();
      expect(await store.readEvents(c1, 0, 10)).toEqual([]);
      expect(await store.readEvents(c2, 0, 10)).toEqual([]);
      expect((await store.getConversation(c1))?.last_seq).toBe(0);
      expect(await store.findByClientMsgId(c1, a, 'a1')).toBeNull();
      // The keys of the failed batch are free: a retry of it goes through.
      const retry = await store.appendEvents([bad[0], bad[1]]);
      expect(retry).toEqual([{ status: 'ok' }, { status: 'ok' }]);
    });

    it('rolls back folds and membership changes of a failed batch', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a]);
      await store.appendEvents([message(convId, 1, a, 'keep')]);
      await expect(
        store.appendEvents([
          targeted(convId, 2, a, 'edit', 1, { body: 'changed' }),
          { event: event(convId, 3, a, 'member_added', { user_ids: [b] }), members: { add: [{ user_id: b, role: 'member', last_read_seq: 0 }] } },
          message(convId, 1, a, 'collides'),
        ]),
      ).rejects.toBeDefined();
      const [view] = await store.readMessages(convId, 100, 10);
      expect(view.body).toBe('keep');
      expect(view.edited_at).toBeNull();
      expect(await store.getMember(convId, b)).toBeNull();
      expect((await store.getConversation(convId))?.member_count).toBe(1);
    });
  });

  describe('folding into readMessages', () => {
    it('shows reactions, edits and deletes on the message they target', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      await store.appendEvents([message(convId, 1, a, 'one'), message(convId, 2, b, 'two'), message(convId, 3, a, 'three')]);
      await store.appendEvents([
        targeted(convId, 4, a, 'reaction', 1, { emoji: '👍' }),
        targeted(convId, 5, b, 'reaction', 1, { emoji: '🎉' }),
        targeted(convId, 6, b, 'reaction', 1, { emoji: '❤️' }),
        targeted(convId, 7, a, 'reaction', 1, { emoji: null }),
        targeted(convId, 8, b, 'edit', 2, { body: 'two, edited' }),
        targeted(convId, 9, b, 'reaction', 3, { emoji: '😮' }),
        targeted(convId, 10, a, 'delete', 3),
      ]);
      const views = await store.readMessages(convId, 100, 10);
      expect(views.map((v) => v.seq)).toEqual([1, 2, 3]);
      expect(views[0]).toMatchObject({ body: 'one', reactions: { [b]: '❤️' }, edited_at: null, deleted: false });
      expect(views[1]).toMatchObject({ body: 'two, edited', reactions: {}, edited_at: t0 + 8000, deleted: false });
      expect(views[2]).toMatchObject({ body: '', attachments: [], deleted: true });
      // toMatchObject treats {} as "any object"; emptiness needs toEqual.
      expect(views.map((v) => v.reactions)).toEqual([{ [b]: '❤️' }, {}, {}]);
      expect(views[0]).toMatchObject({ kind: 'message', sender_id: a, ts: t0 + 1000, reply_to: null, mentions: [] });
    });

    it('returns the newest messages before a seq, ascending, skipping other kinds', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      await store.appendEvents([
        message(convId, 1, a),
        message(convId, 2, a),
        targeted(convId, 3, a, 'reaction', 1, { emoji: '👍' }),
        message(convId, 4, a),
        message(convId, 5, a),
        message(convId, 6, a),
      ]);
      expect((await store.readMessages(convId, 6, 3)).map((m) => m.seq)).toEqual([2, 4, 5]);
      expect((await store.readMessages(convId, 100, 2)).map((m) => m.seq)).toEqual([5, 6]);
      expect((await store.readMessages(convId, 1, 10)).map((m) => m.seq)).toEqual([]);
      expect(await store.readMessages(convId, 100, 0)).toEqual([]);
    });

    it('removes the text of a deleted message and of its edits from storage', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      await store.appendEvents([
        message(convId, 1, a, 'secret', { attachments: [attachment('att_secret')] }),
        targeted(convId, 2, a, 'edit', 1, { body: 'secret v2' }),
        targeted(convId, 3, a, 'edit', 1, { body: 'secret v3' }),
      ]);
      await store.appendEvents([targeted(convId, 4, a, 'delete', 1)]);
      const events = await store.readEvents(convId, 0, 10);
      expect(JSON.stringify(events)).not.toContain('secret');
      expect(events.map((e) => e.body)).toEqual(['', '', '', undefined]);
      expect(events[0].attachments).toEqual([]);
      // Neither an edit nor a reaction after the delete brings anything back.
      await store.appendEvents([
        targeted(convId, 5, a, 'edit', 1, { body: 'again' }),
        targeted(convId, 6, a, 'reaction', 1, { emoji: '👍' }),
      ]);
      const [view] = await store.readMessages(convId, 100, 10);
      expect(view).toMatchObject({ body: '', deleted: true, edited_at: t0 + 3000 });
      expect(view.reactions).toEqual({});
    });
  });

  describe('membership events', () => {
    it('applies member_added and member_removed with the member count', async () => {
      const [a, b, c] = [newId('u'), newId('u'), newId('u')];
      const convId = await group(store, [a]);
      await store.appendEvents([
        {
          event: event(convId, 1, a, 'member_added', { user_ids: [b, c] }),
          members: { add: [{ user_id: b, role: 'member', last_read_seq: 1 }, { user_id: c, role: 'admin', last_read_seq: 1 }] },
        },
      ]);
      expect((await store.getConversation(convId))?.member_count).toBe(3);
      expect(await store.getMember(convId, c)).toMatchObject({ role: 'admin', joined_at: t0 + 1000, last_read_seq: 1 });
      expect((await store.listInbox(b, null, 10)).rows.map((r) => r.conv_id)).toEqual([convId]);

      await store.appendEvents([
        { event: event(convId, 2, a, 'member_removed', { user_ids: [b] }), members: { remove: [b] } },
        // Adding an existing member or removing a stranger changes nothing.
        { event: event(convId, 3, a, 'member_added', { user_ids: [c] }), members: { add: [{ user_id: c, role: 'member', last_read_seq: 0 }] } },
        { event: event(convId, 4, a, 'member_removed', { user_ids: [newId('u')] }), members: { remove: [newId('u')] } },
      ]);
      expect((await store.getConversation(convId))?.member_count).toBe(2);
      expect(await store.getMember(convId, b)).toBeNull();
      expect((await store.getMember(convId, c))?.role).toBe('admin');
      expect((await store.getMembers(convId)).map((m) => m.user_id).sort()).toEqual([a, c].sort());
      expect((await store.listInbox(b, null, 10)).rows).toEqual([]);
    });

    it('applies conversation_updated to the title', async () => {
      const a = newId('u');
      const convId = await group(store, [a], t0, 'Old');
      await store.appendEvents([{ event: event(convId, 1, a, 'conversation_updated', { title: 'New' }) }]);
      expect((await store.getConversation(convId))?.title).toBe('New');
      await store.appendEvents([{ event: event(convId, 2, a, 'conversation_updated', { title: null }) }]);
      expect((await store.getConversation(convId))?.title).toBeNull();
      expect((await store.listInbox(a, null, 10)).rows[0].title).toBeNull();
    });
  });
}

/**
 * The Store contract suite (src/store/index.ts), written once and run against every
 * engine. It uses fresh random ids everywhere, so it passes whether the factory hands out
 * an empty store per test or one shared store.
 */
import { ProtocolError, newId, type ConvEvent, type EventKind } from '../../src/protocol';
import { defaultUserSettings, type AppendItem, type NewUser, type Store } from '../../src/store';

/** Builds a store for one test and tears it down afterwards. */
export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const t0 = 1_700_000_000_000;

function newUser(name = newId('name')): NewUser {
  return { user_id: newId('u'), username: name, display_name: `Display ${name}`, password_hash: 'hash', created_at: t0 };
}

function event(convId: string, seq: number, sender: string, kind: EventKind, fields: Partial<ConvEvent> = {}): ConvEvent {
  return { conv_id: convId, seq, ts: t0 + seq * 1000, sender_id: sender, kind, ...fields };
}

function message(convId: string, seq: number, sender: string, body = `message ${seq}`, fields: Partial<ConvEvent> = {}): AppendItem {
  return {
    event: event(convId, seq, sender, 'message', {
      body,
      reply_to: null,
      attachments: [],
      mentions: [],
      client_msg_id: newId('m'),
      ...fields,
    }),
  };
}

function targeted(convId: string, seq: number, sender: string, kind: 'reaction' | 'edit' | 'delete', target: number, fields: Partial<ConvEvent> = {}): AppendItem {
  return { event: event(convId, seq, sender, kind, { target_seq: target, client_msg_id: newId('m'), ...fields }) };
}

/** Registers the Store contract tests under `describe(name)`. */
export function runStoreContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
    });
    afterEach(async () => {
      await cleanup();
    });

    async function group(memberIds: string[], createdAt = t0, title: string | null = 'group'): Promise<string> {
      const convId = newId('c');
      const members = memberIds.map((user_id, i) => ({ user_id, role: i === 0 ? ('admin' as const) : ('member' as const) }));
      await store.createConversation({ conv_id: convId, type: 'group', title, created_at: createdAt, members });
      return convId;
    }

    describe('users', () => {
      it('creates a user with default settings and reads it back by id', async () => {
        const input = newUser();
        const created = await store.createUser(input);
        expect(created).toEqual({ ...input, username: input.username.toLowerCase(), settings: defaultUserSettings });
        expect(await store.getUser(input.user_id)).toEqual(created);
        expect(await store.getUser(newId('u'))).toBeNull();
      });

      it('stores usernames lowercased and finds them case-insensitively', async () => {
        const input = newUser(`MiXeD_${newId('n')}`);
        await store.createUser(input);
        const lower = input.username.toLowerCase();
        expect((await store.getUserByUsername(input.username.toUpperCase()))?.user_id).toBe(input.user_id);
        expect((await store.getUserByUsername(lower))?.username).toBe(lower);
        expect(await store.getUserByUsername(`${lower}_nobody`)).toBeNull();
      });

      it('rejects a taken username, whatever its case, with ProtocolError conflict', async () => {
        const first = newUser(`taken_${newId('n')}`);
        await store.createUser(first);
        const second = { ...newUser(), username: first.username.toUpperCase() };
        const err: unknown = await store.createUser(second).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProtocolError);
        expect((err as ProtocolError).code).toBe('conflict');
        expect(await store.getUser(second.user_id)).toBeNull();
      });

      it('getUsers returns only the users that exist', async () => {
        const a = await store.createUser(newUser());
        const b = await store.createUser(newUser());
        const found = await store.getUsers([a.user_id, newId('u'), b.user_id]);
        expect(found.map((u) => u.user_id).sort()).toEqual([a.user_id, b.user_id].sort());
        expect(await store.getUsers([])).toEqual([]);
      });

      it('updateUserSettings merges a partial update and persists it', async () => {
        const u = await store.createUser(newUser());
        const updated = await store.updateUserSettings(u.user_id, { show_presence: false });
        expect(updated?.settings).toEqual({ ...defaultUserSettings, show_presence: false });
        await store.updateUserSettings(u.user_id, { send_read_receipts: false });
        expect((await store.getUser(u.user_id))?.settings).toEqual({
          show_presence: false,
          show_last_seen: true,
          send_read_receipts: false,
        });
        expect(await store.updateUserSettings(newId('u'), { show_presence: false })).toBeNull();
      });
    });

    describe('conversations', () => {
      it('creates a group with its members, markers at 0', async () => {
        const [a, b, c] = [newId('u'), newId('u'), newId('u')];
        const convId = newId('c');
        const res = await store.createConversation({
          conv_id: convId,
          type: 'group',
          title: 'Team',
          created_at: t0,
          members: [
            { user_id: a, role: 'admin' },
            { user_id: b, role: 'member' },
            { user_id: c, role: 'member' },
          ],
        });
        const record = { conv_id: convId, type: 'group', title: 'Team', created_at: t0, last_seq: 0, member_count: 3 };
        expect(res).toEqual({ conversation: record, created: true });
        expect(await store.getConversation(convId)).toEqual(record);
        const members = await store.getMembers(convId);
        expect(members.map((m) => m.user_id).sort()).toEqual([a, b, c].sort());
        expect(await store.getMember(convId, a)).toEqual({
          conv_id: convId,
          user_id: a,
          role: 'admin',
          joined_at: t0,
          last_read_seq: 0,
          last_delivered_seq: 0,
          muted_until: null,
        });
        expect((await store.getMember(convId, b))?.role).toBe('member');
        expect(await store.getMember(convId, newId('u'))).toBeNull();
        expect(await store.getConversation(newId('c'))).toBeNull();
        expect(await store.getMembers(newId('c'))).toEqual([]);
      });

      it('returns the existing direct conversation for the same pair, in either order', async () => {
        const [a, b] = [newId('u'), newId('u')];
        const direct = (first: string, second: string) =>
          store.createConversation({
            conv_id: newId('c'),
            type: 'direct',
            title: null,
            created_at: t0,
            members: [
              { user_id: first, role: 'member' },
              { user_id: second, role: 'member' },
            ],
          });
        const one = await direct(a, b);
        expect(one.created).toBe(true);
        const two = await direct(b, a);
        const three = await direct(a, b);
        expect(two).toEqual({ conversation: one.conversation, created: false });
        expect(three).toEqual({ conversation: one.conversation, created: false });
        const other = await direct(a, newId('u'));
        expect(other.created).toBe(true);
        expect(other.conversation.conv_id).not.toBe(one.conversation.conv_id);
      });

      it('creates one direct conversation when the same pair is created concurrently', async () => {
        const [a, b] = [newId('u'), newId('u')];
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            store.createConversation({
              conv_id: newId('c'),
              type: 'direct',
              title: null,
              created_at: t0,
              members: [
                { user_id: i % 2 ? a : b, role: 'member' },
                { user_id: i % 2 ? b : a, role: 'member' },
              ],
            }),
          ),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(new Set(results.map((r) => r.conversation.conv_id)).size).toBe(1);
      });
    });

    describe('appendEvents and readEvents', () => {
      it('round-trips every kind with exactly the fields it carries', async () => {
        const [a, b, c] = [newId('u'), newId('u'), newId('u')];
        const convId = await group([a, b]);
        const items: AppendItem[] = [
          message(convId, 1, a, 'hello', { reply_to: null, attachments: ['att_1'], mentions: [b], client_msg_id: 'm1' }),
          message(convId, 2, b, 'reply', { reply_to: 1, client_msg_id: 'm2' }),
          targeted(convId, 3, b, 'reaction', 1, { emoji: '👍', client_msg_id: 'r1' }),
          targeted(convId, 4, b, 'reaction', 1, { emoji: null, client_msg_id: 'r2' }),
          targeted(convId, 5, a, 'edit', 1, { body: 'hello!', client_msg_id: 'e1' }),
          targeted(convId, 6, b, 'delete', 2, { client_msg_id: 'd1' }),
          { event: event(convId, 7, a, 'member_added', { user_ids: [c] }), members: { add: [{ user_id: c, role: 'member' }] } },
          { event: event(convId, 8, a, 'member_removed', { user_ids: [c] }), members: { remove: [c] } },
          { event: event(convId, 9, a, 'conversation_updated', { title: 'Renamed' }) },
        ];
        const results = await store.appendEvents(items);
        expect(results).toEqual(items.map(() => ({ status: 'ok' })));
        const ts = (seq: number) => t0 + seq * 1000;
        const base = (seq: number, sender: string, kind: EventKind) => ({ conv_id: convId, seq, ts: ts(seq), sender_id: sender, kind });
        expect(await store.readEvents(convId, 0, 100)).toEqual([
          // Message 1 reads back with its current (edited) body.
          { ...base(1, a, 'message'), body: 'hello!', reply_to: null, attachments: ['att_1'], mentions: [b], client_msg_id: 'm1' },
          // Message 2 was deleted: its body is gone, the fields stay present.
          { ...base(2, b, 'message'), body: '', reply_to: 1, attachments: [], mentions: [], client_msg_id: 'm2' },
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
        const convId = await group([a]);
        const ev: ConvEvent = { conv_id: convId, seq: 1, ts: t0, sender_id: a, kind: 'message', body: 'plain', client_msg_id: 'x' };
        await store.appendEvents([{ event: ev }]);
        expect(await store.readEvents(convId, 0, 10)).toEqual([
          { ...ev, reply_to: null, attachments: [], mentions: [] },
        ]);
      });

      it('reads events after a seq, ascending, at most limit', async () => {
        const a = newId('u');
        const convId = await group([a]);
        const other = await group([a]);
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
        const [c1, c2] = [await group([a]), await group([a])];
        await store.appendEvents([message(c1, 1, a), message(c2, 1, a), message(c1, 2, a), message(c1, 3, a)]);
        expect((await store.getConversation(c1))?.last_seq).toBe(3);
        expect((await store.getConversation(c2))?.last_seq).toBe(1);
      });
    });

    describe('idempotency', () => {
      it('answers a duplicate within one batch with the original seq and ts, writing nothing', async () => {
        const [a, b] = [newId('u'), newId('u')];
        const convId = await group([a, b]);
        const results = await store.appendEvents([
          message(convId, 1, a, 'first', { client_msg_id: 'same' }),
          message(convId, 2, a, 'retry', { client_msg_id: 'same' }),
          // The same key from another sender is another message.
          message(convId, 3, b, 'other sender', { client_msg_id: 'same' }),
        ]);
        expect(results).toEqual([{ status: 'ok' }, { status: 'duplicate', seq: 1, ts: t0 + 1000 }, { status: 'ok' }]);
        const events = await store.readEvents(convId, 0, 10);
        expect(events.map((e) => [e.seq, e.body])).toEqual([
          [1, 'first'],
          [3, 'other sender'],
        ]);
      });

      it('answers a duplicate across batches and finds the original by its key', async () => {
        const a = newId('u');
        const convId = await group([a]);
        const other = await group([a]);
        await store.appendEvents([message(convId, 1, a, 'first', { client_msg_id: 'k1' })]);
        const results = await store.appendEvents([
          message(convId, 2, a, 'retry', { client_msg_id: 'k1' }),
          // Keys are per conversation.
          message(other, 1, a, 'elsewhere', { client_msg_id: 'k1' }),
        ]);
        expect(results).toEqual([{ status: 'duplicate', seq: 1, ts: t0 + 1000 }, { status: 'ok' }]);
        expect(await store.readEvents(convId, 0, 10)).toHaveLength(1);
        expect((await store.getConversation(convId))?.last_seq).toBe(1);
        expect(await store.findByClientMsgId(convId, a, 'k1')).toEqual({ seq: 1, ts: t0 + 1000 });
        expect(await store.findByClientMsgId(other, a, 'k1')).toEqual({ seq: 1, ts: t0 + 1000 });
        expect(await store.findByClientMsgId(convId, a, 'nope')).toBeNull();
        expect(await store.findByClientMsgId(convId, newId('u'), 'k1')).toBeNull();
      });

      it('deduplicates reactions, edits and deletes by their key too', async () => {
        const a = newId('u');
        const convId = await group([a]);
        await store.appendEvents([message(convId, 1, a), targeted(convId, 2, a, 'reaction', 1, { emoji: '❤️', client_msg_id: 'rk' })]);
        const res = await store.appendEvents([targeted(convId, 3, a, 'reaction', 1, { emoji: '😂', client_msg_id: 'rk' })]);
        expect(res).toEqual([{ status: 'duplicate', seq: 2, ts: t0 + 2000 }]);
        const [view] = await store.readMessages(convId, 100, 10);
        expect(view.reactions).toEqual({ [a]: '❤️' });
      });
    });

    describe('atomicity', () => {
      it('writes nothing from a batch that fails', async () => {
        const a = newId('u');
        const [c1, c2] = [await group([a]), await group([a])];
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
        const convId = await group([a]);
        await store.appendEvents([message(convId, 1, a, 'keep')]);
        await expect(
          store.appendEvents([
            targeted(convId, 2, a, 'edit', 1, { body: 'changed' }),
            { event: event(convId, 3, a, 'member_added', { user_ids: [b] }), members: { add: [{ user_id: b, role: 'member' }] } },
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
        const convId = await group([a, b]);
        await store.appendEvents([message(convId, 1, a, 'one'), message(convId, 2, b, 'two'), message(convId, 3, a, 'three')]);
        await store.appendEvents([
          targeted(convId, 4, a, 'reaction', 1, { emoji: '👍' }),
          targeted(convId, 5, b, 'reaction', 1, { emoji: '🎉' }),
          targeted(convId, 6, b, 'reaction', 1, { emoji: '❤️' }),
          targeted(convId, 7, a, 'reaction', 1, { emoji: null }),
          targeted(convId, 8, b, 'edit', 2, { body: 'two, edited' }),
          targeted(convId, 9, a, 'delete', 3),
        ]);
        const views = await store.readMessages(convId, 100, 10);
        expect(views.map((v) => v.seq)).toEqual([1, 2, 3]);
        expect(views[0]).toMatchObject({ body: 'one', reactions: { [b]: '❤️' }, edited_at: null, deleted: false });
        expect(views[1]).toMatchObject({ body: 'two, edited', reactions: {}, edited_at: t0 + 8000, deleted: false });
        expect(views[2]).toMatchObject({ body: '', attachments: [], deleted: true });
        expect(views[0]).toMatchObject({ kind: 'message', sender_id: a, ts: t0 + 1000, reply_to: null, mentions: [] });
      });

      it('returns the newest messages before a seq, ascending, skipping other kinds', async () => {
        const a = newId('u');
        const convId = await group([a]);
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
        const convId = await group([a]);
        await store.appendEvents([
          message(convId, 1, a, 'secret', { attachments: ['att_secret'] }),
          targeted(convId, 2, a, 'edit', 1, { body: 'secret v2' }),
          targeted(convId, 3, a, 'edit', 1, { body: 'secret v3' }),
        ]);
        await store.appendEvents([targeted(convId, 4, a, 'delete', 1)]);
        const events = await store.readEvents(convId, 0, 10);
        expect(JSON.stringify(events)).not.toContain('secret');
        expect(events.map((e) => e.body)).toEqual(['', '', '', undefined]);
        expect(events[0].attachments).toEqual([]);
        // An edit after the delete does not bring the text back.
        await store.appendEvents([targeted(convId, 5, a, 'edit', 1, { body: 'again' })]);
        const [view] = await store.readMessages(convId, 100, 10);
        expect(view).toMatchObject({ body: '', deleted: true });
      });
    });

    describe('membership events', () => {
      it('applies member_added and member_removed with the member count', async () => {
        const [a, b, c] = [newId('u'), newId('u'), newId('u')];
        const convId = await group([a]);
        await store.appendEvents([
          {
            event: event(convId, 1, a, 'member_added', { user_ids: [b, c] }),
            members: { add: [{ user_id: b, role: 'member' }, { user_id: c, role: 'admin' }] },
          },
        ]);
        expect((await store.getConversation(convId))?.member_count).toBe(3);
        expect(await store.getMember(convId, c)).toMatchObject({ role: 'admin', joined_at: t0 + 1000, last_read_seq: 0 });
        expect((await store.listInbox(b, null, 10)).rows.map((r) => r.conv_id)).toEqual([convId]);

        await store.appendEvents([
          { event: event(convId, 2, a, 'member_removed', { user_ids: [b] }), members: { remove: [b] } },
          // Adding an existing member or removing a stranger changes nothing.
          { event: event(convId, 3, a, 'member_added', { user_ids: [c] }), members: { add: [{ user_id: c, role: 'member' }] } },
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
        const convId = await group([a], t0, 'Old');
        await store.appendEvents([{ event: event(convId, 1, a, 'conversation_updated', { title: 'New' }) }]);
        expect((await store.getConversation(convId))?.title).toBe('New');
        await store.appendEvents([{ event: event(convId, 2, a, 'conversation_updated', { title: null }) }]);
        expect((await store.getConversation(convId))?.title).toBeNull();
        expect((await store.listInbox(a, null, 10)).rows[0].title).toBeNull();
      });
    });

    describe('markers and unread', () => {
      it('moves markers only forward and leaves absent fields alone', async () => {
        const [a, b] = [newId('u'), newId('u')];
        const convId = await group([a, b]);
        await store.saveMarkers([{ conv_id: convId, user_id: a, last_read_seq: 5, last_delivered_seq: 7 }]);
        await store.saveMarkers([
          { conv_id: convId, user_id: a, last_read_seq: 3 },
          { conv_id: convId, user_id: a, last_delivered_seq: 6 },
          { conv_id: convId, user_id: b, last_delivered_seq: 2 },
        ]);
        expect(await store.getMember(convId, a)).toMatchObject({ last_read_seq: 5, last_delivered_seq: 7 });
        expect(await store.getMember(convId, b)).toMatchObject({ last_read_seq: 0, last_delivered_seq: 2 });
        await store.saveMarkers([{ conv_id: convId, user_id: a, last_read_seq: 9 }]);
        expect(await store.getMember(convId, a)).toMatchObject({ last_read_seq: 9, last_delivered_seq: 7 });
        await store.saveMarkers([]);
      });

      it('counts messages of others after a seq, excluding deleted ones and other kinds', async () => {
        const [a, b, c] = [newId('u'), newId('u'), newId('u')];
        const convId = await group([a, b, c]);
        await store.appendEvents([
          message(convId, 1, b),
          message(convId, 2, a),
          message(convId, 3, c),
          message(convId, 4, b),
          targeted(convId, 5, b, 'reaction', 2, { emoji: '👍' }),
          message(convId, 6, c),
          targeted(convId, 7, c, 'delete', 6),
        ]);
        expect(await store.countUnread(convId, a, 0)).toBe(3);
        expect(await store.countUnread(convId, a, 1)).toBe(2);
        expect(await store.countUnread(convId, a, 4)).toBe(0);
        expect(await store.countUnread(convId, b, 0)).toBe(2);
        expect(await store.countUnread(newId('c'), a, 0)).toBe(0);
      });
    });

    describe('inbox', () => {
      it('lists conversations newest activity first with unread, peer and preview', async () => {
        const [a, b, c] = [newId('u'), newId('u'), newId('u')];
        const g = await group([a, b, c], t0, 'G');
        const { conversation: d } = await store.createConversation({
          conv_id: newId('c'),
          type: 'direct',
          title: null,
          created_at: t0,
          members: [
            { user_id: a, role: 'member' },
            { user_id: b, role: 'member' },
          ],
        });
        await store.appendEvents([message(g, 1, b, 'in group'), message(g, 2, c, 'later in group')]);
        await store.appendEvents([message(d.conv_id, 3, b, 'direct hi')]);
        await store.saveMarkers([{ conv_id: g, user_id: a, last_read_seq: 1 }]);
        const page = await store.listInbox(a, null, 10);
        expect(page.next_cursor).toBeNull();
        expect(page.rows).toEqual([
          {
            conv_id: d.conv_id,
            type: 'direct',
            title: null,
            peer_id: b,
            last_seq: 3,
            preview: 'direct hi',
            updated_at: t0 + 3000,
            unread: 1,
            last_read_seq: 0,
          },
          {
            conv_id: g,
            type: 'group',
            title: 'G',
            peer_id: null,
            last_seq: 2,
            preview: 'later in group',
            updated_at: t0 + 2000,
            unread: 1,
            last_read_seq: 1,
          },
        ]);
        expect((await store.listInbox(b, null, 10)).rows[0]).toMatchObject({ conv_id: d.conv_id, peer_id: a, unread: 0 });
        expect(await store.listInbox(newId('u'), null, 10)).toEqual({ rows: [], next_cursor: null });
      });

      it('pages with an opaque cursor, ties broken by conv_id, without gaps or repeats', async () => {
        const a = newId('u');
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) {
          // Pairs of conversations share created_at, so the tie-break is exercised.
          ids.push(await group([a], t0 + Math.floor(i / 2) * 10));
        }
        const expected = [...ids].sort((x, y) => {
          const tx = t0 + Math.floor(ids.indexOf(x) / 2) * 10;
          const ty = t0 + Math.floor(ids.indexOf(y) / 2) * 10;
          return ty - tx || (x < y ? 1 : -1);
        });
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await store.listInbox(a, cursor, 3);
          expect(page.rows.length).toBeLessThanOrEqual(3);
          seen.push(...page.rows.map((r) => r.conv_id));
          cursor = page.next_cursor;
          pages++;
        } while (cursor !== null && pages < 10);
        expect(pages).toBe(3);
        expect(seen).toEqual(expected);
        // An exact fit ends with a null cursor instead of an empty page.
        const exact = await store.listInbox(a, null, 7);
        expect(exact.rows).toHaveLength(7);
        expect(exact.next_cursor).toBeNull();
      });

      it('moves a conversation to the top when it gets an event', async () => {
        const a = newId('u');
        const older = await group([a], t0);
        const newer = await group([a], t0 + 500);
        expect((await store.listInbox(a, null, 10)).rows.map((r) => r.conv_id)).toEqual([newer, older]);
        await store.appendEvents([message(older, 1, a)]);
        expect((await store.listInbox(a, null, 10)).rows.map((r) => r.conv_id)).toEqual([older, newer]);
      });

      it('reports rows changed since a time, by conversation or by member change', async () => {
        const [a, b] = [newId('u'), newId('u')];
        const now = Date.now();
        const quiet = await group([a, b], now - 60_000);
        const busy = await group([a, b], now - 60_000);
        const since = now - 30_000;
        expect(await store.inboxChangedSince(a, since, 10)).toEqual([]);
        await store.appendEvents([{ event: { ...message(busy, 1, b).event, ts: now - 1000 } }]);
        expect((await store.inboxChangedSince(a, since, 10)).map((r) => r.conv_id)).toEqual([busy]);
        // A read marker moving forward changes the reader's row (its unread count).
        await store.saveMarkers([{ conv_id: quiet, user_id: a, last_read_seq: 1 }]);
        const changed = await store.inboxChangedSince(a, since, 10);
        expect(changed.map((r) => r.conv_id).sort()).toEqual([busy, quiet].sort());
        expect(changed.find((r) => r.conv_id === busy)).toMatchObject({ unread: 1, last_seq: 1 });
        expect((await store.inboxChangedSince(b, since, 10)).map((r) => r.conv_id)).toEqual([busy]);
        expect(await store.inboxChangedSince(a, since, 1)).toHaveLength(1);
      });
    });

    describe('preview', () => {
      it('takes the first 100 characters of the newest message', async () => {
        const a = newId('u');
        const convId = await group([a]);
        const long = 'x'.repeat(150);
        await store.appendEvents([message(convId, 1, a, 'first'), message(convId, 2, a, long), targeted(convId, 3, a, 'reaction', 2, { emoji: '👍' })]);
        const [row] = (await store.listInbox(a, null, 10)).rows;
        expect(row.preview).toBe('x'.repeat(100));
        expect(row.updated_at).toBe(t0 + 3000);
        expect(row.last_seq).toBe(3);
      });

      it('follows an edit of the preview message and falls back when it is deleted', async () => {
        const a = newId('u');
        const convId = await group([a]);
        const preview = async () => (await store.listInbox(a, null, 10)).rows[0].preview;
        expect(await preview()).toBeNull();
        await store.appendEvents([message(convId, 1, a, 'one'), message(convId, 2, a, 'two')]);
        await store.appendEvents([targeted(convId, 3, a, 'edit', 2, { body: 'two edited' })]);
        expect(await preview()).toBe('two edited');
        // Editing an older message leaves the preview alone.
        await store.appendEvents([targeted(convId, 4, a, 'edit', 1, { body: 'one edited' })]);
        expect(await preview()).toBe('two edited');
        await store.appendEvents([targeted(convId, 5, a, 'delete', 2)]);
        expect(await preview()).toBe('one edited');
        await store.appendEvents([targeted(convId, 6, a, 'delete', 1)]);
        expect(await preview()).toBeNull();
        // A message deleted in the same batch that sent it never becomes the preview.
        await store.appendEvents([message(convId, 7, a, 'keep'), message(convId, 8, a, 'oops'), targeted(convId, 9, a, 'delete', 8)]);
        expect(await preview()).toBe('keep');
      });
    });
  });
}

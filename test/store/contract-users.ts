/** Store contract, part 1: users and conversation creation. */
import { ProtocolError, newId } from '../../src/protocol';
import { defaultUserSettings, type Store } from '../../src/store';
import { newUser, t0, type ContractContext } from './contract-fixtures';

/** Registers this part of the Store contract; the store comes from `ctx` per test. */
export function usersContract(ctx: ContractContext): void {
  let store: Store;
  beforeEach(() => {
    store = ctx.store();
  });

  describe('users', () => {
    it('creates a user with default settings and reads it back by id', async () => {
      const input = newUser();
      const created = await store.createUser(input);
      expect(created).toEqual({ ...input, username: input.username.toLowerCase(), settings: defaultUserSettings, deleted_at: null });
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
        push_previews: true,
        discoverable: true,
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
        marked_unread: false,
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
}

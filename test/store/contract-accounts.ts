/**
 * Store contract, part 7: accounts. Auth state (token generations, signed-out devices),
 * sign-out everywhere, sign-out of one device, and account deletion with its username
 * reservation. Times are the store's own clock (Date.now in both engines), so the waits
 * here are real.
 */
import { ProtocolError, newId } from '../../src/protocol';
import { deletedUserName, deletedUserSettings, type AuthState, type Store } from '../../src/store';
import { newUser, type ContractContext } from './contract-fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers this part of the Store contract; the store comes from `ctx` per test. */
export function accountsContract(ctx: ContractContext): void {
  let store: Store;
  beforeEach(() => {
    store = ctx.store();
  });

  const stateOf = async (userId: string): Promise<AuthState | undefined> => (await store.getAuthStates([userId]))[0];

  describe('accounts', () => {
    it('a new user has generation 0, nothing revoked; unknown users are left out', async () => {
      const u = await store.createUser(newUser());
      const fresh: AuthState = { user_id: u.user_id, deleted: false, token_gen: 0, valid_from_gen: 0, revoked_devices: {} };
      expect(await store.getAuthStates([u.user_id, newId('u')])).toEqual([fresh]);
      expect(await store.getAuthStates([])).toEqual([]);
      expect(u.deleted_at).toBeNull();
    });

    it('revokeTokens raises the generation and refuses everything issued before it', async () => {
      const u = await store.createUser(newUser());
      const once = await store.revokeTokens(u.user_id);
      expect(once).toEqual({ user_id: u.user_id, deleted: false, token_gen: 1, valid_from_gen: 1, revoked_devices: {} });
      const twice = await store.revokeTokens(u.user_id);
      expect(twice).toMatchObject({ token_gen: 2, valid_from_gen: 2 });
      expect(await stateOf(u.user_id)).toEqual(twice);
      expect(await store.revokeTokens(newId('u'))).toBeNull();
      expect(await store.getUser(newId('u'))).toBeNull();
    });

    it('revokeDevice records the device at the old generation and raises it; other devices keep theirs', async () => {
      const u = await store.createUser(newUser());
      const phone = await store.revokeDevice(u.user_id, 'phone', 3600_000);
      expect(phone).toEqual({ user_id: u.user_id, deleted: false, token_gen: 1, valid_from_gen: 0, revoked_devices: { phone: 0 } });
      const laptop = await store.revokeDevice(u.user_id, 'laptop', 3600_000);
      expect(laptop).toEqual({ user_id: u.user_id, deleted: false, token_gen: 2, valid_from_gen: 0, revoked_devices: { phone: 0, laptop: 1 } });
      expect(await stateOf(u.user_id)).toEqual(laptop);
      // Signed out again later: the entry moves to the newer generation.
      expect((await store.revokeDevice(u.user_id, 'phone', 3600_000))?.revoked_devices).toEqual({ phone: 2, laptop: 1 });
      expect(await store.revokeDevice(newId('u'), 'phone', 1000)).toBeNull();
      // Sign-out everywhere covers every device entry.
      const all = await store.revokeTokens(u.user_id);
      expect(all).toMatchObject({ token_gen: 4, valid_from_gen: 4 });
    });

    it('a device entry is forgotten once the tokens it refuses have expired', async () => {
      const u = await store.createUser(newUser());
      await store.revokeDevice(u.user_id, 'short', 1000);
      await store.revokeDevice(u.user_id, 'long', 3600_000);
      expect((await stateOf(u.user_id))?.revoked_devices).toEqual({ short: 0, long: 1 });
      await sleep(2100);
      expect(await stateOf(u.user_id)).toEqual({ user_id: u.user_id, deleted: false, token_gen: 2, valid_from_gen: 0, revoked_devices: { long: 1 } });
    });

    it('deleteUser keeps a tombstone: deleted, renamed, no password, presence hidden, every token refused', async () => {
      const input = newUser();
      const u = await store.createUser(input);
      await store.updateUserSettings(u.user_id, { show_presence: true });
      const before = Date.now();
      const state = await store.deleteUser(u.user_id, Date.now() + 3600_000);
      expect(state).toEqual({ user_id: u.user_id, deleted: true, token_gen: 1, valid_from_gen: 1, revoked_devices: {} });
      expect(await stateOf(u.user_id)).toEqual(state);
      const tomb = await store.getUser(u.user_id);
      expect(tomb).toEqual({
        user_id: u.user_id,
        username: '',
        display_name: deletedUserName,
        password_hash: '',
        created_at: input.created_at,
        settings: deletedUserSettings,
        deleted_at: expect.any(Number),
      });
      expect(tomb?.deleted_at).toBeGreaterThanOrEqual(before);
      // Still named among senders, never found by name.
      expect((await store.getUsers([u.user_id])).map((x) => x.display_name)).toEqual([deletedUserName]);
      expect(await store.getUserByUsername(input.username)).toBeNull();
      // Deleting again keeps the first deletion.
      expect(await store.deleteUser(u.user_id, Date.now())).toEqual(state);
      expect((await store.getUser(u.user_id))?.deleted_at).toBe(tomb?.deleted_at);
      expect(await store.deleteUser(newId('u'), Date.now())).toBeNull();
    });

    it('a reserved username stays taken until the reservation ends, then goes to the next registration', async () => {
      const input = newUser(`resv_${newId('n')}`);
      const u = await store.createUser(input);
      await store.deleteUser(u.user_id, Date.now() + 1500);
      const err: unknown = await store.createUser(newUser(input.username.toUpperCase())).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe('conflict');
      await sleep(1700);
      const next = await store.createUser(newUser(input.username));
      expect(next.username).toBe(input.username.toLowerCase());
      expect((await store.getUserByUsername(input.username))?.user_id).toBe(next.user_id);
      // Once taken over, the name is the new account's like any other.
      const again: unknown = await store.createUser(newUser(input.username)).catch((e: unknown) => e);
      expect((again as ProtocolError).code).toBe('conflict');
      expect((await store.getUser(u.user_id))?.display_name).toBe(deletedUserName);
    });

    it('a username reserved for no time is free at once', async () => {
      const input = newUser(`free_${newId('n')}`);
      const u = await store.createUser(input);
      await store.deleteUser(u.user_id, Date.now() - 1);
      const next = await store.createUser(newUser(input.username));
      expect((await store.getUserByUsername(input.username))?.user_id).toBe(next.user_id);
      expect(await stateOf(next.user_id)).toMatchObject({ deleted: false, token_gen: 0 });
    });
  });
}

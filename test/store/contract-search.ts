/**
 * Store contract: finding people by name (searchUsers, updateDisplayName). Every test
 * names its users under a fresh random tag, so a store shared between tests (one
 * Cassandra keyspace) answers only this test's users.
 */
import { randomBytes } from 'node:crypto';
import { ProtocolError, newId } from '../../src/protocol';
import type { Store, UserRecord, UserSearchCursor } from '../../src/store';
import { newUser, type ContractContext } from './contract-fixtures';

/** A fresh lowercase tag: letters first, so it is a valid username prefix. */
function tag(): string {
  return `q${randomBytes(5).toString('hex')}`;
}

/** Every page of a search, in order. */
async function allPages(store: Store, query: string, limit: number): Promise<UserRecord[][]> {
  const pages: UserRecord[][] = [];
  let cursor: UserSearchCursor | null = null;
  do {
    const page = await store.searchUsers(query, cursor, limit);
    pages.push(page.users);
    cursor = page.next_cursor;
  } while (cursor !== null && pages.length < 20);
  return pages;
}

/** Registers this part of the Store contract; the store comes from `ctx` per test. */
export function searchContract(ctx: ContractContext): void {
  let store: Store;
  beforeEach(() => {
    store = ctx.store();
  });

  describe('searchUsers', () => {
    it('finds users by a prefix of the username, the display name or a word of it, case-insensitively, each once', async () => {
      const t = tag();
      const ann = await store.createUser({ ...newUser(`${t}_ann`), display_name: `${t.toUpperCase()} Ann Lee` });
      const bob = await store.createUser({ ...newUser(`bob_${t}`), display_name: `Bob ${t}son` });
      const other = await store.createUser({ ...newUser(`x${t}`), display_name: 'Someone Else' });
      const page = await store.searchUsers(t.toUpperCase(), null, 10);
      // ann matches by username and display name but is listed once; bob by a word of his display name.
      expect(page.users.map((u) => u.user_id).sort()).toEqual([ann.user_id, bob.user_id].sort());
      expect(page.next_cursor).toBeNull();
      expect(page.users.find((u) => u.user_id === ann.user_id)).toEqual(ann);
      // A prefix, not a substring: `x<tag>` does not start with the tag.
      expect(page.users.some((u) => u.user_id === other.user_id)).toBe(false);
      expect((await store.searchUsers(`bob_${t}`, null, 10)).users.map((u) => u.user_id)).toEqual([bob.user_id]);
      expect((await store.searchUsers(`${t}_nobody`, null, 10)).users).toEqual([]);
    });

    it('orders by the matching name, then user id, and pages with the cursor without repeats', async () => {
      const t = tag();
      const made: UserRecord[] = [];
      for (const suffix of ['e', 'a', 'd', 'b', 'c']) made.push(await store.createUser({ ...newUser(`${t}${suffix}`), display_name: `Name ${suffix}` }));
      const pages = await allPages(store, t, 2);
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(pages.flat().map((u) => u.username)).toEqual(['a', 'b', 'c', 'd', 'e'].map((s) => `${t}${s}`));
      expect(new Set(pages.flat().map((u) => u.user_id)).size).toBe(made.length);
    });

    it('never lists a deleted user or one who is not discoverable', async () => {
      const t = tag();
      const shown = await store.createUser(newUser(`${t}_shown`));
      const hidden = await store.createUser(newUser(`${t}_hidden`));
      const gone = await store.createUser(newUser(`${t}_gone`));
      expect((await store.searchUsers(t, null, 10)).users).toHaveLength(3);
      expect((await store.updateUserSettings(hidden.user_id, { discoverable: false }))?.settings.discoverable).toBe(false);
      await store.deleteUser(gone.user_id, 0);
      expect((await store.searchUsers(t, null, 10)).users.map((u) => u.user_id)).toEqual([shown.user_id]);
      // Hidden from search only: an exact username still finds them.
      expect((await store.getUserByUsername(`${t}_hidden`))?.user_id).toBe(hidden.user_id);
      await store.updateUserSettings(hidden.user_id, { discoverable: true });
      expect((await store.searchUsers(t, null, 10)).users.map((u) => u.user_id).sort()).toEqual([shown.user_id, hidden.user_id].sort());
    });

    it('skips hidden users ahead of a match, whatever the page size', async () => {
      const t = tag();
      // Hidden users sort first ("a..."), the visible one last.
      for (let i = 0; i < 4; i++) {
        const u = await store.createUser(newUser(`${t}a${i}`));
        await store.updateUserSettings(u.user_id, { discoverable: false });
      }
      const last = await store.createUser(newUser(`${t}z`));
      const found = (await allPages(store, t, 1)).flat();
      expect(found.map((u) => u.user_id)).toEqual([last.user_id]);
    });

    it('finds a renamed user by the new name and no longer by the old one', async () => {
      const t = tag();
      const u = await store.createUser({ ...newUser(`u${t}`), display_name: `Old${t} Name` });
      expect((await store.searchUsers(`old${t}`, null, 10)).users.map((x) => x.user_id)).toEqual([u.user_id]);
      const renamed = await store.updateDisplayName(u.user_id, `New${t} Name`);
      expect(renamed).toEqual({ ...u, display_name: `New${t} Name` });
      expect((await store.getUser(u.user_id))?.display_name).toBe(`New${t} Name`);
      expect((await store.searchUsers(`old${t}`, null, 10)).users).toEqual([]);
      expect((await store.searchUsers(`new${t}`, null, 10)).users.map((x) => x.display_name)).toEqual([`New${t} Name`]);
      expect(await store.updateDisplayName(newId('u'), 'Nobody')).toBeNull();
      await store.deleteUser(u.user_id, 0);
      expect(await store.updateDisplayName(u.user_id, 'Back')).toBeNull();
    });

    it('rejects a query shorter than two characters with bad_request', async () => {
      for (const q of ['', 'a', '  b ']) {
        const err: unknown = await store.searchUsers(q, null, 10).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProtocolError);
        expect((err as ProtocolError).code).toBe('bad_request');
      }
    });
  });
}

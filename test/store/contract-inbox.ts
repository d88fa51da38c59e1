/** Store contract, part 3: markers, unread counts, the inbox and previews. */
import { ProtocolError, newId } from '../../src/protocol';
import type { AppendItem, InboxPage, MarkerUpdate, Store } from '../../src/store';
import { event, group, message, t0, targeted, type ContractContext } from './contract-fixtures';

/** Registers this part of the Store contract; the store comes from `ctx` per test. */
export function inboxContract(ctx: ContractContext): void {
  let store: Store;
  beforeEach(() => {
    store = ctx.store();
  });

  describe('markers and unread', () => {
    it('moves markers only forward and leaves absent fields alone', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
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
      const convId = await group(store, [a, b, c]);
      await store.appendEvents([
        message(convId, 1, b),
        message(convId, 2, a),
        message(convId, 3, c),
        message(convId, 4, b),
        targeted(convId, 5, b, 'reaction', 2, { emoji: '👍' }),
        message(convId, 6, c),
        targeted(convId, 7, c, 'delete', 6),
      ]);
      expect((await store.countUnread(convId, a, 0)).unread).toBe(3);
      expect((await store.countUnread(convId, a, 1)).unread).toBe(2);
      expect((await store.countUnread(convId, a, 4)).unread).toBe(0);
      expect((await store.countUnread(convId, b, 0)).unread).toBe(2);
      expect((await store.countUnread(newId('c'), a, 0)).unread).toBe(0);
    });
  });

  describe('inbox', () => {
    it('lists conversations newest activity first with unread, peer and preview', async () => {
      const [a, b, c] = [newId('u'), newId('u'), newId('u')];
      const g = await group(store, [a, b, c], t0, 'G');
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
          preview_sender_id: b,
          preview_ts: t0 + 3000,
          updated_at: t0 + 3000,
          unread: 1,
          unread_mentions: 0,
          last_read_seq: 0,
          marked_unread: false,
          muted_until: null,
          muted: false,
        },
        {
          conv_id: g,
          type: 'group',
          title: 'G',
          peer_id: null,
          last_seq: 2,
          preview: 'later in group',
          preview_sender_id: c,
          preview_ts: t0 + 2000,
          updated_at: t0 + 2000,
          unread: 1,
          unread_mentions: 0,
          last_read_seq: 1,
          marked_unread: false,
          muted_until: null,
          muted: false,
        },
      ]);
      expect((await store.listInbox(b, null, 10)).rows[0]).toMatchObject({ conv_id: d.conv_id, peer_id: a, unread: 0 });
      expect(await store.listInbox(newId('u'), null, 10)).toEqual({ rows: [], next_cursor: null });
    });

    it("names the preview's sender and gives the message's own time, which an edit or a reaction does not move", async () => {
      const [a, b] = [newId('u'), newId('u')];
      const g = await group(store, [a, b]);
      expect((await store.listInbox(a, null, 10)).rows[0]).toMatchObject({ preview: null, preview_sender_id: null, preview_ts: null });
      await store.appendEvents([message(g, 1, a, 'first'), message(g, 2, b, 'Nice')]);
      await store.appendEvents([targeted(g, 3, b, 'edit', 2, { body: 'Nice 👍' }), targeted(g, 4, a, 'reaction', 2, { emoji: '❤️' })]);
      const row = (await store.listInbox(a, null, 10)).rows[0];
      expect(row).toMatchObject({ preview: 'Nice 👍', preview_sender_id: b, preview_ts: t0 + 2000 });
      // The preview falls back to the message before when its source is deleted: its sender and time follow.
      await store.appendEvents([targeted(g, 5, b, 'delete', 2)]);
      expect((await store.listInbox(a, null, 10)).rows[0]).toMatchObject({ preview: 'first', preview_sender_id: a, preview_ts: t0 + 1000 });
      expect((await store.inboxChangedSince(a, 0, 10))[0]).toMatchObject({ preview: 'first', preview_sender_id: a, preview_ts: t0 + 1000 });
    });

    it('pages with an opaque cursor, ties broken by conv_id, without gaps or repeats', async () => {
      const a = newId('u');
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        // Pairs of conversations share created_at, so the tie-break is exercised.
        ids.push(await group(store, [a], t0 + Math.floor(i / 2) * 10));
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
      const err: unknown = await store.listInbox(a, 'not a cursor', 3).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe('bad_request');
    });

    it('moves a conversation to the top when it gets an event', async () => {
      const a = newId('u');
      const older = await group(store, [a], t0);
      const newer = await group(store, [a], t0 + 500);
      expect((await store.listInbox(a, null, 10)).rows.map((r) => r.conv_id)).toEqual([newer, older]);
      await store.appendEvents([message(older, 1, a)]);
      expect((await store.listInbox(a, null, 10)).rows.map((r) => r.conv_id)).toEqual([older, newer]);
    });

    it('reports rows changed since a time, by conversation or by member change', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const now = Date.now();
      const quiet = await group(store, [a, b], now - 60_000);
      const busy = await group(store, [a, b], now - 60_000);
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

  describe('unread conversations (the badge)', () => {
    const badge = (userId: string, except: string | null = null, limit = 100) => store.countUnreadConversations(userId, except, limit);

    it("counts others' messages, not the user's own", async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      await store.appendEvents([message(convId, 1, a), message(convId, 2, a)]);
      expect(await badge(a)).toBe(0);
      expect(await badge(b)).toBe(1);
      await store.appendEvents([message(convId, 3, b)]);
      expect(await badge(a)).toBe(1);
    });

    it('leaves out deleted messages and events that are not messages', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      await store.appendEvents([message(convId, 1, a), message(convId, 2, b), targeted(convId, 3, b, 'delete', 2), targeted(convId, 4, b, 'reaction', 1, { emoji: '👍' })]);
      expect(await badge(a)).toBe(0);
      await store.appendEvents([message(convId, 5, b)]);
      expect(await badge(a)).toBe(1);
    });

    it('leaves out a conversation read past its messages', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const convId = await group(store, [a, b]);
      await store.appendEvents([message(convId, 1, b), message(convId, 2, b)]);
      await store.saveMarkers([{ conv_id: convId, user_id: a, last_read_seq: 1 }]);
      expect(await badge(a)).toBe(1);
      await store.saveMarkers([{ conv_id: convId, user_id: a, last_read_seq: 2 }]);
      expect(await badge(a)).toBe(0);
      // Events after the marker that are not unread messages (own message, reaction) keep it out.
      await store.appendEvents([message(convId, 3, a), targeted(convId, 4, b, 'reaction', 3, { emoji: '👍' })]);
      expect(await badge(a)).toBe(0);
    });

    it('counts a conversation marked unread, even with nothing unread in it', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const empty = await group(store, [a, b]);
      const read = await group(store, [a, b]);
      await store.appendEvents([message(read, 1, b)]);
      await store.saveMarkers([{ conv_id: read, user_id: a, last_read_seq: 1 }]);
      expect(await badge(a)).toBe(0);
      await store.saveMarkers([
        { conv_id: empty, user_id: a, marked_unread: true },
        { conv_id: read, user_id: a, marked_unread: true },
      ]);
      expect(await badge(a)).toBe(2);
      // The flag is a's own.
      expect(await badge(b)).toBe(0);
      await store.saveMarkers([{ conv_id: empty, user_id: a, marked_unread: false }]);
      expect(await badge(a)).toBe(1);
    });

    it('leaves out the conversation given as except', async () => {
      const [a, b] = [newId('u'), newId('u')];
      const one = await group(store, [a, b]);
      const two = await group(store, [a, b]);
      await store.appendEvents([message(one, 1, b)]);
      await store.appendEvents([message(two, 1, b)]);
      await store.saveMarkers([{ conv_id: two, user_id: a, last_read_seq: 1, marked_unread: true }]);
      expect(await badge(a)).toBe(2);
      expect(await badge(a, one)).toBe(1);
      expect(await badge(a, two)).toBe(1);
      expect(await badge(a, newId('c'))).toBe(2);
    });

    it('counts at most limit', async () => {
      const [a, b] = [newId('u'), newId('u')];
      for (let i = 0; i < 3; i++) {
        const convId = await group(store, [a, b]);
        await store.appendEvents([message(convId, 1, b)]);
      }
      expect(await badge(a, null, 1)).toBe(1);
      expect(await badge(a, null, 2)).toBe(2);
      expect(await badge(a, null, 3)).toBe(3);
      expect(await badge(a, null, 1000)).toBe(3);
      expect(await badge(a, null, 0)).toBe(0);
      expect(await badge(newId('u'))).toBe(0);
    });

    it('gives what listInbox gives on a mixed inbox', async () => {
      const [a, b, c] = [newId('u'), newId('u'), newId('u')];
      const convs: string[] = [];
      const conv = async (members: string[], items: (convId: string) => AppendItem[], markers: Omit<MarkerUpdate, 'conv_id'>[] = []) => {
        const convId = await group(store, members, t0 + convs.length);
        const list = items(convId);
        if (list.length > 0) await store.appendEvents(list);
        if (markers.length > 0) await store.saveMarkers(markers.map((m) => ({ ...m, conv_id: convId })));
        convs.push(convId);
        return convId;
      };
      await conv([a, b], () => []); // empty
      await conv([a, b], (id) => [message(id, 1, a)]); // own message only
      await conv([a, b, c], (id) => [message(id, 1, b), message(id, 2, c)]); // unread
      await conv([a, b], (id) => [message(id, 1, b), message(id, 2, b)], [{ user_id: a, last_read_seq: 1 }]); // partly read
      await conv([a, b], (id) => [message(id, 1, b)], [{ user_id: a, last_read_seq: 1 }]); // read
      await conv([a, b], (id) => [message(id, 1, b)], [{ user_id: a, last_read_seq: 1, marked_unread: true }]); // read, marked
      await conv([a, b], () => [], [{ user_id: a, marked_unread: true }]); // empty, marked
      await conv([a, b], (id) => [message(id, 1, b), targeted(id, 2, b, 'delete', 1)]); // deleted
      await conv([a, b], (id) => [message(id, 1, a), targeted(id, 2, b, 'reaction', 1, { emoji: '👍' }), targeted(id, 3, b, 'edit', 1, { body: 'x' })]); // no message from others
      await conv([a, b], (id) => [message(id, 1, b), message(id, 2, a)], [{ user_id: a, last_read_seq: 2 }]); // read by sending
      // Left: a member no more, the unread message is not theirs to count.
      await conv([a, b], (id) => [
        message(id, 1, b),
        { event: event(id, 2, b, 'member_removed', { user_ids: [a] }), members: { remove: [a] } },
      ]);
      // Direct, with a message to a.
      const { conversation: d } = await store.createConversation({
        conv_id: newId('c'),
        type: 'direct',
        title: null,
        created_at: t0 + 100,
        members: [
          { user_id: a, role: 'member' },
          { user_id: c, role: 'member' },
        ],
      });
      await store.appendEvents([message(d.conv_id, 1, c)]);
      convs.push(d.conv_id);

      // The count push/service.ts made from inbox pages before this method existed.
      const listed = async (userId: string, except: string | null) => {
        let count = 0;
        let cursor: string | null = null;
        do {
          const page: InboxPage = await store.listInbox(userId, cursor, 3);
          count += page.rows.filter((r) => r.conv_id !== except && (r.unread > 0 || r.marked_unread)).length;
          cursor = page.next_cursor;
        } while (cursor !== null);
        return count;
      };
      for (const user of [a, b, c]) {
        for (const except of [null, ...convs]) {
          expect([user, except, await badge(user, except)]).toEqual([user, except, await listed(user, except)]);
        }
      }
      // The fixture is mixed enough to tell: 5 of a's conversations count (unread, partly read, read and marked, empty and marked, direct).
      expect(await badge(a)).toBe(5);
      expect(await badge(a, null, 4)).toBe(4);
    });
  });

  describe('preview', () => {
    it('takes the first 100 characters of the newest message', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
      const long = 'x'.repeat(150);
      await store.appendEvents([message(convId, 1, a, 'first'), message(convId, 2, a, long), targeted(convId, 3, a, 'reaction', 2, { emoji: '👍' })]);
      const [row] = (await store.listInbox(a, null, 10)).rows;
      expect(row.preview).toBe('x'.repeat(100));
      expect(row.updated_at).toBe(t0 + 3000);
      expect(row.last_seq).toBe(3);
    });

    it('follows an edit of the preview message and falls back when it is deleted', async () => {
      const a = newId('u');
      const convId = await group(store, [a]);
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
}

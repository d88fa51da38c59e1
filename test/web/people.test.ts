/** The web client's pure parts of items people meet: presence labels, avatar colours, recent-contact matching, list rows. */
import type { ConvEvent, InboxRow, User } from '../../src/client';
import { avatarColour } from '../../src/web/colour';
import { Inbox } from '../../src/web/inbox';
import { matchesName, recentContacts } from '../../src/web/people';
import { presenceLabel } from '../../src/web/presence';

const minute = 60_000;
const hour = 60 * minute;

describe('presenceLabel', () => {
  // Noon local time, so "yesterday" is unambiguous.
  const now = new Date(2026, 5, 10, 12, 0, 0).getTime();

  it.each([
    [{ state: 'online' as const, last_seen: null }, 'Active now'],
    [{ state: 'offline' as const, last_seen: now - 20_000 }, 'Active just now'],
    [{ state: 'offline' as const, last_seen: now - 61_000 }, 'Active 1m ago'],
    [{ state: 'offline' as const, last_seen: now - 5 * minute }, 'Active 5m ago'],
    [{ state: 'offline' as const, last_seen: now - 59 * minute }, 'Active 59m ago'],
    [{ state: 'offline' as const, last_seen: now - 3 * hour }, 'Active 3h ago'],
    [{ state: 'offline' as const, last_seen: new Date(2026, 5, 9, 8, 0).getTime() }, 'Active yesterday'],
    [{ state: 'offline' as const, last_seen: now - 3 * 24 * hour }, 'Active 3d ago'],
    [{ state: 'offline' as const, last_seen: now - 30 * 24 * hour }, ''],
    // Hidden by the user's privacy settings: nothing is said.
    [{ state: 'offline' as const, last_seen: null }, ''],
    [null, ''],
  ])('%j -> %p', (seen, label) => {
    expect(presenceLabel(seen, now)).toBe(label);
  });
});

describe('avatarColour', () => {
  it('is the same for an id wherever it is computed, and differs across ids', () => {
    expect(avatarColour('u_alice')).toBe(avatarColour('u_alice'));
    const colours = new Set(Array.from({ length: 40 }, (_, i) => avatarColour(`u_${i}`)));
    expect(colours.size).toBeGreaterThan(8);
    // Pinned: a change of hash or palette would recolour everyone for everyone.
    expect(avatarColour('u_alice')).toMatchInlineSnapshot(`"#006064"`);
  });
});

describe('recent contacts', () => {
  const ann: User = { user_id: 'u_ann', username: 'ann', display_name: 'Ann Lee' };
  const dave: User = { user_id: 'u_dave', username: 'dave_s', display_name: 'Dave Stone' };
  const gone: User = { user_id: 'u_gone', username: '', display_name: 'Deleted user', deleted: true };
  const row = (conv: string, peer: string | null, type: 'direct' | 'group' = 'direct'): InboxRow => ({
    conv_id: conv,
    type,
    title: null,
    peer_id: peer,
    last_seq: 1,
    preview: null,
    preview_sender_id: null,
    preview_ts: null,
    updated_at: 1,
    unread: 0,
    unread_mentions: 0,
    last_read_seq: 0,
    marked_unread: false,
    muted_until: null,
    muted: false,
  });
  const users = new Map([ann, dave, gone].map((u) => [u.user_id, u]));

  it('matches the start of the username, the display name or a word of it, case-insensitively', () => {
    expect(matchesName(dave, 'DA')).toBe(true);
    expect(matchesName(dave, 'sto')).toBe(true);
    expect(matchesName(dave, 'ave')).toBe(false);
    expect(matchesName(dave, ' ')).toBe(false);
  });

  it('lists direct-chat peers in inbox order, skipping groups, unknown and deleted users', () => {
    const rows = [row('c1', 'u_dave'), row('c2', null, 'group'), row('c3', 'u_unknown'), row('c4', 'u_gone'), row('c5', 'u_ann')];
    expect(recentContacts(rows, (id) => users.get(id), 'a', 5).map((u) => u.username)).toEqual(['ann']);
    expect(recentContacts(rows, (id) => users.get(id), 'd', 5).map((u) => u.username)).toEqual(['dave_s']);
    expect(recentContacts(rows, (id) => users.get(id), 'e', 1)).toEqual([]);
    expect(recentContacts([row('c1', 'u_ann'), row('c2', 'u_dave')], (id) => users.get(id), 's', 1).map((u) => u.username)).toEqual(['dave_s']);
  });
});

describe('inbox rows keep the preview sender and the message time', () => {
  const msg = (seq: number, sender: string, ts: number, body: string): ConvEvent => ({ conv_id: 'c1', seq, ts, sender_id: sender, kind: 'message', body });

  it('a message sets both; an edit of it changes the text only; an older message arriving late changes nothing', () => {
    const inbox = new Inbox();
    inbox.add('c1', 'group', 'G', null, 100);
    inbox.applyEvent(msg(2, 'u_dave', 2000, 'Nice'), false);
    inbox.applyEvent({ conv_id: 'c1', seq: 3, ts: 9000, sender_id: 'u_dave', kind: 'edit', target_seq: 2, body: 'Nice 👍' }, true);
    expect(inbox.get('c1')).toMatchObject({ preview: 'Nice 👍', preview_sender_id: 'u_dave', preview_ts: 2000 });
    inbox.applyEvent(msg(1, 'u_ann', 1000, 'older'), false);
    expect(inbox.get('c1')).toMatchObject({ preview: 'Nice 👍', preview_sender_id: 'u_dave', preview_ts: 2000 });
  });

  it('a row saved by an older version reads as having no sender and time', () => {
    const inbox = new Inbox();
    const old = { conv_id: 'c9', type: 'group', title: 'G', peer_id: null, last_seq: 4, preview: 'hi', updated_at: 5, unread: 0, unread_mentions: 0, last_read_seq: 0, marked_unread: false, muted_until: null, muted: false };
    inbox.restore(old as unknown as InboxRow);
    expect(inbox.get('c9')).toMatchObject({ preview_sender_id: null, preview_ts: null });
  });
});

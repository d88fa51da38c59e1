/**
 * The rules of event-producing commands as pure functions (src/conversations/rules.ts):
 * state + command + stamp -> event, or a ProtocolError. No store, no actor, no clock.
 */
import { ProtocolError, defaultLimits, type ConvEvent } from '../../src/protocol';
import type { AttachmentRecord, MemberRecord } from '../../src/store';
import * as rules from '../../src/conversations/rules';
import { ConversationState } from '../../src/conversations/state';

const t0 = 1_700_000_000_000;

function member(user_id: string, role: 'admin' | 'member' = 'member'): MemberRecord {
  return { conv_id: 'c1', user_id, role, joined_at: t0, last_read_seq: 0, last_delivered_seq: 0, muted_until: null, marked_unread: false };
}

/** A group of alice (admin), bob and carol with messages at seqs 1 (alice) and 2 (bob, a reply to 1). */
function group(): ConversationState {
  const s = new ConversationState(
    { conv_id: 'c1', type: 'group', title: 'g', created_at: t0, last_seq: 2, member_count: 3 },
    [member('alice', 'admin'), member('bob'), member('carol')],
  );
  s.sequenced(message(1, 'alice'));
  s.sequenced(message(2, 'bob', { reply_to: 1, thread_root: 1 }));
  return s;
}

function message(seq: number, sender: string, fields: Partial<ConvEvent> = {}): ConvEvent {
  return { conv_id: 'c1', seq, ts: t0 + seq, sender_id: sender, kind: 'message', body: `m${seq}`, ...fields };
}

const stamp = (seq = 10, ts = t0 + 1000): rules.Stamp => ({ seq, ts, limits: { ...defaultLimits, maxGroupMembers: 4 }, editWindowMs: 5000 });

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('the rule accepted the command');
}

const base = { conv_id: 'c1', session_id: null };

describe('send', () => {
  test('builds the message event at the stamp; a reply to a reply joins the first message\'s thread', () => {
    const item = rules.send(group(), { ...base, op: 'send', user_id: 'carol', client_msg_id: 'k', body: 'hi', reply_to: 2, mentions: ['bob', 'bob'] }, stamp());
    expect(item.event).toEqual({
      conv_id: 'c1', seq: 10, ts: t0 + 1000, sender_id: 'carol', kind: 'message', body: 'hi',
      reply_to: 2, thread_root: 1, attachments: [], mentions: ['bob'], client_msg_id: 'k',
    });
  });

  test.each([
    ['a non-member (as an unknown conversation)', { user_id: 'dave' }, 'not_found'],
    ['an empty body', { body: '  ' }, 'bad_request'],
    ['an unknown attachment id', { attachments: ['a1'] }, 'bad_request'],
    ['a reply to an unknown seq', { reply_to: 7 }, 'bad_request'],
    ['a mention of a non-member', { mentions: ['dave'] }, 'bad_request'],
  ])('refuses %s', (_name, fields, code) => {
    expect(refusal(() => rules.send(group(), { ...base, op: 'send', user_id: 'alice', client_msg_id: 'k', body: 'x', ...fields }, stamp())).code).toBe(code);
  });

  describe('attachments', () => {
    const att = (id: string, over: Partial<AttachmentRecord> = {}): AttachmentRecord => ({
      attachment_id: id, owner_id: 'alice', name: 'p.jpg', declared_type: 'image/jpeg', declared_size: 10, declared_sha256: 'ab'.repeat(32),
      created_at: t0, state: 'ready', sha256: 'ab'.repeat(32), conv_id: null, seq: null,
      meta: { id, kind: 'image', content_type: 'image/jpeg', size: 10, name: 'p.jpg', width: 4, height: 3, placeholder: 'xx', thumbnail: null, display: null },
      ...over,
    });
    const sendWith = (ids: string[], found: AttachmentRecord[], st = stamp()) =>
      rules.send(group(), { ...base, op: 'send', user_id: 'alice', client_msg_id: 'k', body: '', attachments: ids }, st, found);

    test('carries each attachment as sent, in the order named; the body may be empty', () => {
      const event = sendWith(['a2', 'a1'], [att('a1'), att('a2')]).event;
      expect(event.attachments?.map((a) => a.id)).toEqual(['a2', 'a1']);
      expect(event.attachments?.[0]).toMatchObject({ kind: 'image', width: 4, placeholder: 'xx' });
    });

    test.each([
      ['missing', [], /unknown attachment a1/],
      ['another user\'s, answered as unknown', [att('a1', { owner_id: 'bob' })], /unknown attachment a1/],
      ['not completed', [att('a1', { state: 'pending', meta: null })], /not completed/],
      ['already sent', [att('a1', { conv_id: 'c9', seq: 4 })], /already sent/],
    ])('refuses an attachment %s', (_name, found, message) => {
      expect(refusal(() => sendWith(['a1'], found as AttachmentRecord[]))).toMatchObject({ code: 'bad_request', message: expect.stringMatching(message) });
    });

    test('refuses one named twice, and one about to be collected', () => {
      expect(refusal(() => sendWith(['a1', 'a1'], [att('a1')])).message).toMatch(/named twice/);
      const late = { ...stamp(), ts: t0 + 5000, attachmentSendWindowMs: 4000 };
      expect(refusal(() => sendWith(['a1'], [att('a1')], late)).message).toMatch(/expired unsent/);
      expect(sendWith(['a1'], [att('a1')], { ...late, attachmentSendWindowMs: 6000 }).event.attachments).toHaveLength(1);
    });
  });

  test('a reply to a deleted message is refused', () => {
    const s = group();
    s.sequenced({ ...message(3, 'alice'), kind: 'delete', target_seq: 1 });
    expect(refusal(() => rules.send(s, { ...base, op: 'send', user_id: 'bob', client_msg_id: 'k', body: 'x', reply_to: 1 }, stamp())).code).toBe('bad_request');
  });
});

describe('attachment_ready', () => {
  const attachment = { id: 'a1', kind: 'image' as const, content_type: 'image/jpeg', size: 10, name: 'p.jpg', width: 4, height: 3, placeholder: 'xx', thumbnail: null, display: { width: 4, height: 3, size: 5, content_type: 'image/jpeg' } };
  test('is an event of its own on the message, keyed once per attachment', () => {
    const item = rules.attachmentReady(group(), { conv_id: 'c1', op: 'attachment_ready', user_id: 'alice', target_seq: 1, attachment }, stamp()) as { event: ConvEvent };
    expect(item.event).toMatchObject({ kind: 'attachment_ready', seq: 10, target_seq: 1, attachment, client_msg_id: 'attachment_ready:a1' });
  });
  test('is nothing for an unsent message', () => {
    const s = group();
    s.sequenced({ ...message(3, 'alice'), kind: 'delete', target_seq: 1 });
    expect(rules.attachmentReady(s, { conv_id: 'c1', op: 'attachment_ready', user_id: 'alice', target_seq: 1, attachment }, stamp())).toBeNull();
  });
});

/** Everything a rule could read or change, as plain data. */
function snapshot(s: ConversationState): unknown {
  return JSON.parse(JSON.stringify({ conv: s.conv, members: [...s.members], messages: [0, 1, 2, 3].map((q) => s.message(q) ?? null), tail: [...s.tail], by: [...s.lastMessageBy] }));
}

test('no rule changes the state, whether it accepts or refuses', () => {
  const s = group();
  const before = snapshot(s);
  const st = stamp();
  const tries: (() => unknown)[] = [
    () => rules.send(s, { ...base, op: 'send', user_id: 'carol', client_msg_id: 'k', body: 'hi', reply_to: 2, mentions: ['bob'] }, st),
    () => rules.send(s, { ...base, op: 'send', user_id: 'dave', client_msg_id: 'k', body: 'hi' }, st),
    () => rules.react(s, { ...base, op: 'react', user_id: 'bob', client_msg_id: 'r', target_seq: 1, emoji: '👍' }, st),
    () => rules.edit(s, { ...base, op: 'edit', user_id: 'alice', client_msg_id: 'e', target_seq: 1, body: 'new' }, st),
    () => rules.remove(s, { ...base, op: 'delete', user_id: 'alice', client_msg_id: 'd', target_seq: 2 }, st),
    () => rules.remove(s, { ...base, op: 'delete', user_id: 'carol', client_msg_id: 'd', target_seq: 2 }, st),
    () => rules.addMembers(s, { conv_id: 'c1', op: 'add_members', user_id: 'alice', user_ids: ['dave'] }, st),
    () => rules.removeMember(s, { conv_id: 'c1', op: 'remove_member', user_id: 'alice', target_id: 'bob' }, st),
    () => rules.announce(s, { conv_id: 'c1', op: 'announce', user_id: 'alice' }, st),
  ];
  for (const t of tries) {
    try {
      t();
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
    }
  }
  expect(snapshot(s)).toEqual(before);
});

describe('react, edit, delete', () => {
  test('react: one emoji on a live message; null removes', () => {
    expect(rules.react(group(), { ...base, op: 'react', user_id: 'bob', client_msg_id: 'r', target_seq: 1, emoji: '👍' }, stamp()).event).toMatchObject({ kind: 'reaction', target_seq: 1, emoji: '👍' });
    expect(rules.react(group(), { ...base, op: 'react', user_id: 'bob', client_msg_id: 'r', target_seq: 1, emoji: null }, stamp()).event.emoji).toBeNull();
    expect(refusal(() => rules.react(group(), { ...base, op: 'react', user_id: 'bob', client_msg_id: 'r', target_seq: 1, emoji: 'ab' }, stamp())).code).toBe('bad_request');
    expect(refusal(() => rules.react(group(), { ...base, op: 'react', user_id: 'bob', client_msg_id: 'r', target_seq: 9, emoji: '👍' }, stamp())).code).toBe('not_found');
  });

  test('edit: the author only, within the edit window measured from the stamp', () => {
    const cmd = { ...base, op: 'edit' as const, user_id: 'alice', client_msg_id: 'e', target_seq: 1, body: 'new' };
    expect(rules.edit(group(), cmd, stamp(10, t0 + 1 + 5000)).event).toMatchObject({ kind: 'edit', target_seq: 1, body: 'new' });
    expect(refusal(() => rules.edit(group(), cmd, stamp(10, t0 + 1 + 5001)))).toEqual({ code: 'forbidden', message: 'the edit window of this message has passed' });
    expect(refusal(() => rules.edit(group(), { ...cmd, user_id: 'bob' }, stamp())).code).toBe('forbidden');
    expect(refusal(() => rules.edit(group(), { ...cmd, body: ' ' }, stamp())).code).toBe('bad_request');
  });

  test('delete: the author or a group admin; nobody else', () => {
    const cmd = { ...base, op: 'delete' as const, client_msg_id: 'd', target_seq: 2 };
    expect(rules.remove(group(), { ...cmd, user_id: 'bob' }, stamp()).event).toMatchObject({ kind: 'delete', target_seq: 2 });
    expect(rules.remove(group(), { ...cmd, user_id: 'alice' }, stamp()).event.sender_id).toBe('alice');
    expect(refusal(() => rules.remove(group(), { ...cmd, user_id: 'carol' }, stamp())).code).toBe('forbidden');
  });
});

describe('members', () => {
  test('add: admins only, new users only, within the group limit; nothing new is null', () => {
    const add = (user_id: string, user_ids: string[]) => rules.addMembers(group(), { conv_id: 'c1', op: 'add_members', user_id, user_ids }, stamp());
    expect(add('alice', ['dave'])).toEqual({
      event: expect.objectContaining({ kind: 'member_added', user_ids: ['dave'], seq: 10 }),
      members: { add: [{ user_id: 'dave', role: 'member', last_read_seq: 10 }] },
    });
    expect(add('alice', ['bob'])).toBeNull();
    expect(refusal(() => add('bob', ['dave'])).code).toBe('forbidden');
    expect(refusal(() => add('alice', ['dave', 'erin'])).code).toBe('bad_request'); // 5 > 4
  });

  test('remove: an admin removes anyone, a member only themself', () => {
    const remove = (user_id: string, target_id: string) => rules.removeMember(group(), { conv_id: 'c1', op: 'remove_member', user_id, target_id }, stamp());
    expect(remove('alice', 'bob').members).toEqual({ remove: ['bob'] });
    expect(remove('carol', 'carol').members).toEqual({ remove: ['carol'] });
    expect(refusal(() => remove('carol', 'bob')).code).toBe('forbidden');
    expect(refusal(() => remove('alice', 'dave')).code).toBe('not_found');
  });
});

test('a link preview of a deleted message is dropped (null), of a live one becomes its event', () => {
  const s = group();
  const preview = { url: 'http://x', title: 't', description: null, image_url: null, site_name: null };
  expect(rules.linkPreview(s, { conv_id: 'c1', op: 'link_preview', user_id: 'alice', target_seq: 1, preview }, stamp())?.event).toMatchObject({
    kind: 'link_preview', target_seq: 1, client_msg_id: 'link_preview:1', title: 't',
  });
  s.sequenced({ ...message(3, 'alice'), kind: 'delete', target_seq: 1 });
  expect(rules.linkPreview(s, { conv_id: 'c1', op: 'link_preview', user_id: 'alice', target_seq: 1, preview }, stamp())).toBeNull();
});

/**
 * The rules of the commands that add an event to a conversation's log, as pure functions:
 * (state, command, stamp) -> the event to append, or a ProtocolError thrown. No I/O, no
 * clock, no change to the state: the actor has loaded what a rule needs (the target
 * message) before calling it, applies the event's effects after, and decides duplicates
 * before any refusal here is answered (dedup.ts). Tests call these without a store.
 */
import { ProtocolError, reservedIdPrefixes, type Attachment, type ConvEvent, type EventKind, type Limits } from '../protocol';
import type { AppendItem, AttachmentRecord } from '../store';
import type {
  AddMembersCommand,
  AnnounceCommand,
  AttachmentReadyCommand,
  DeleteCommand,
  EditCommand,
  LinkPreviewCommand,
  ReactCommand,
  RemoveMemberCommand,
  SendCommand,
} from './commands';
import { isReactionEmoji } from './emoji';
import type { ConversationState, MemberState, MessageMeta } from './state';

/** The seq and time the event gets if the rule accepts it, and the settings rules read. */
export interface Stamp {
  seq: number;
  ts: number;
  limits: Limits;
  /** How long after sending its author may edit a message. */
  editWindowMs: number;
  /**
   * How old (by created_at) an attachment may be when sent; older ones are refused so a
   * SEND never races the collector of unsent uploads. Unlimited when absent.
   */
  attachmentSendWindowMs?: number;
}

/**
 * The one refusal for a conversation the caller may not see. A conversation they are not
 * in answers exactly like one that does not exist (code and message), or an outsider
 * could probe which ids exist; `forbidden` is for members lacking a role.
 */
export function noSuchConversation(): ProtocolError {
  return new ProtocolError('not_found', 'conversation not found');
}

/** The member on whose behalf a command runs; anyone else is told there is no such conversation. */
export function requireMember(state: ConversationState, userId: string): MemberState {
  const member = state.members.get(userId);
  if (!member) throw noSuchConversation();
  return member;
}

function newEvent(state: ConversationState, stamp: Stamp, senderId: string, kind: EventKind, fields: Partial<ConvEvent>): ConvEvent {
  return { conv_id: state.convId, seq: stamp.seq, ts: stamp.ts, sender_id: senderId, kind, ...fields };
}

/** The live message at `seq`, or the error that refuses a command aimed at it. */
function liveMessage(state: ConversationState, seq: number, error: ProtocolError): MessageMeta {
  const meta = state.message(seq);
  if (!meta || meta.deleted) throw error;
  return meta;
}

const noSuchMessage = (): ProtocolError => new ProtocolError('not_found', 'no such message');

/**
 * A new message. `found` holds the attachment records the SEND names that exist (the actor
 * read them); each must be the sender's, completed and never sent.
 */
export function send(state: ConversationState, cmd: SendCommand, stamp: Stamp, found: readonly AttachmentRecord[] = []): AppendItem {
  requireMember(state, cmd.user_id);
  if (cmd.body.trim() === '' && !cmd.attachments?.length) throw new ProtocolError('bad_request', 'body must not be empty');
  const attachments = sendable(cmd, found, stamp);
  let threadRoot: number | null = null;
  if (cmd.reply_to !== undefined) {
    const target = liveMessage(state, cmd.reply_to, new ProtocolError('bad_request', 'reply_to names no live message of this conversation'));
    // A reply to a reply joins the thread of the first message.
    threadRoot = target.threadRoot ?? cmd.reply_to;
  }
  if (cmd.mentions?.some((u) => !state.members.has(u))) {
    throw new ProtocolError('bad_request', 'mentions must be members of the conversation');
  }
  const event = newEvent(state, stamp, cmd.user_id, 'message', {
    body: cmd.body,
    reply_to: cmd.reply_to ?? null,
    thread_root: threadRoot,
    attachments,
    mentions: [...new Set(cmd.mentions ?? [])],
    client_msg_id: cmd.client_msg_id,
  });
  return { event };
}

export function react(state: ConversationState, cmd: ReactCommand, stamp: Stamp): AppendItem {
  requireMember(state, cmd.user_id);
  if (cmd.emoji !== null && !isReactionEmoji(cmd.emoji, stamp.limits.maxEmojiChars)) {
    throw new ProtocolError('bad_request', 'emoji must be a single emoji');
  }
  liveMessage(state, cmd.target_seq, noSuchMessage());
  return { event: newEvent(state, stamp, cmd.user_id, 'reaction', { target_seq: cmd.target_seq, emoji: cmd.emoji, client_msg_id: cmd.client_msg_id }) };
}

export function edit(state: ConversationState, cmd: EditCommand, stamp: Stamp): AppendItem {
  requireMember(state, cmd.user_id);
  if (cmd.body.trim() === '') throw new ProtocolError('bad_request', 'body must not be empty');
  const target = liveMessage(state, cmd.target_seq, noSuchMessage());
  if (target.sender !== cmd.user_id) throw new ProtocolError('forbidden', 'only the author edits a message');
  if (stamp.ts - target.ts > stamp.editWindowMs) throw new ProtocolError('forbidden', 'the edit window of this message has passed');
  return { event: newEvent(state, stamp, cmd.user_id, 'edit', { target_seq: cmd.target_seq, body: cmd.body, client_msg_id: cmd.client_msg_id }) };
}

/** DELETE ("unsend"): the author, or an admin of a group. */
export function remove(state: ConversationState, cmd: DeleteCommand, stamp: Stamp): AppendItem {
  const member = requireMember(state, cmd.user_id);
  const target = liveMessage(state, cmd.target_seq, noSuchMessage());
  const admin = state.conv.type === 'group' && member.role === 'admin';
  if (target.sender !== cmd.user_id && !admin) throw new ProtocolError('forbidden', 'only the author or a group admin deletes a message');
  return { event: newEvent(state, stamp, cmd.user_id, 'delete', { target_seq: cmd.target_seq, client_msg_id: cmd.client_msg_id }) };
}

/** The fetched preview of a link; null when the message was unsent (or is none) meanwhile. */
export function linkPreview(state: ConversationState, cmd: LinkPreviewCommand, stamp: Stamp): AppendItem | null {
  requireMember(state, cmd.user_id);
  const target = state.message(cmd.target_seq);
  if (!target || target.deleted) return null;
  const p = cmd.preview;
  const event = newEvent(state, stamp, cmd.user_id, 'link_preview', {
    target_seq: cmd.target_seq,
    url: p.url,
    title: p.title,
    description: p.description,
    image_url: p.image_url,
    site_name: p.site_name,
    // One preview per message: a repeat is a duplicate of the store's idempotency key.
    client_msg_id: reservedIdPrefixes.linkPreview + cmd.target_seq,
  });
  return { event };
}

/** An attachment's display size was made; null when its message was unsent meanwhile. */
export function attachmentReady(state: ConversationState, cmd: AttachmentReadyCommand, stamp: Stamp): AppendItem | null {
  const target = state.message(cmd.target_seq);
  if (!target || target.deleted) return null;
  const event = newEvent(state, stamp, cmd.user_id, 'attachment_ready', {
    target_seq: cmd.target_seq,
    attachment: cmd.attachment,
    // Once per attachment: a second announcement is a duplicate of the store's key.
    client_msg_id: reservedIdPrefixes.attachmentReady + cmd.attachment.id,
  });
  return { event };
}

/** The attachments of a SEND as its message carries them, in the order named. */
function sendable(cmd: SendCommand, found: readonly AttachmentRecord[], stamp: Stamp): Attachment[] {
  const ids = cmd.attachments ?? [];
  if (new Set(ids).size !== ids.length) throw new ProtocolError('bad_request', 'an attachment is named twice');
  const byId = new Map(found.map((r) => [r.attachment_id, r]));
  return ids.map((id) => {
    const rec = byId.get(id);
    // Another user's attachment is as unknown as a missing one: ids are not probed.
    if (!rec || rec.owner_id !== cmd.user_id) throw new ProtocolError('bad_request', `unknown attachment ${id}`);
    if (rec.state !== 'ready' || rec.meta === null) throw new ProtocolError('bad_request', `attachment ${id} is not completed`);
    if (rec.conv_id !== null) throw new ProtocolError('bad_request', `attachment ${id} was already sent`);
    if (stamp.ts - rec.created_at > (stamp.attachmentSendWindowMs ?? Infinity)) {
      throw new ProtocolError('bad_request', `attachment ${id} expired unsent; upload it again`);
    }
    return rec.meta;
  });
}

/** Adds members to a group (admins only); null when every named user is a member already. */
export function addMembers(state: ConversationState, cmd: AddMembersCommand, stamp: Stamp): AppendItem | null {
  const member = requireMember(state, cmd.user_id);
  if (state.conv.type !== 'group') throw new ProtocolError('bad_request', 'members of a direct conversation are fixed');
  if (member.role !== 'admin') throw new ProtocolError('forbidden', 'only admins add members');
  const fresh = [...new Set(cmd.user_ids)].filter((u) => !state.members.has(u));
  if (state.members.size + fresh.length > stamp.limits.maxGroupMembers) {
    throw new ProtocolError('bad_request', `a group has at most ${stamp.limits.maxGroupMembers} members`);
  }
  if (fresh.length === 0) return null;
  // Joiners have nothing unread: history before their join event counts as read.
  const add = fresh.map((user_id) => ({ user_id, role: 'member' as const, last_read_seq: stamp.seq }));
  return { event: newEvent(state, stamp, cmd.user_id, 'member_added', { user_ids: fresh }), members: { add } };
}

/** Removes a member of a group: an admin removes anyone, a member only themself (leaving). */
export function removeMember(state: ConversationState, cmd: RemoveMemberCommand, stamp: Stamp): AppendItem {
  const member = requireMember(state, cmd.user_id);
  if (state.conv.type !== 'group') throw new ProtocolError('bad_request', 'members of a direct conversation are fixed');
  if (cmd.target_id !== cmd.user_id && member.role !== 'admin') throw new ProtocolError('forbidden', 'only admins remove other members');
  if (!state.members.has(cmd.target_id)) throw new ProtocolError('not_found', 'not a member');
  return {
    event: newEvent(state, stamp, cmd.user_id, 'member_removed', { user_ids: [cmd.target_id] }),
    members: { remove: [cmd.target_id] },
  };
}

/** Announces a new conversation: a member_added event naming every member. */
export function announce(state: ConversationState, cmd: AnnounceCommand, stamp: Stamp): AppendItem {
  requireMember(state, cmd.user_id);
  return { event: newEvent(state, stamp, cmd.user_id, 'member_added', { user_ids: [...state.members.keys()] }) };
}

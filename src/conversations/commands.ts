/**
 * Commands a conversation actor accepts, and what each answers. They are plain data so
 * the cluster router can carry them between shards unchanged.
 */
import type { ConversationRecord, MemberRecord } from '../store';
import type { Attachment, LinkPreview, TypingState } from '../protocol';

interface Base {
  conv_id: string;
  /** The user on whose behalf the command runs; membership is checked against it. */
  user_id: string;
}

/** A new message (SEND or REST POST). */
export interface SendCommand extends Base {
  op: 'send';
  client_msg_id: string;
  /** The session that sent it, excluded from its DELIVER; null for REST. */
  session_id: string | null;
  body: string;
  reply_to?: number;
  /** Ids of completed attachments the sender uploaded and has not sent yet. */
  attachments?: string[];
  mentions?: string[];
}
/** REACT: sets, changes or (emoji null) removes the user's reaction to a message. */
export interface ReactCommand extends Base {
  op: 'react';
  client_msg_id: string;
  session_id: string | null;
  target_seq: number;
  emoji: string | null;
}
/** EDIT: replaces the body of the user's own message. */
export interface EditCommand extends Base {
  op: 'edit';
  client_msg_id: string;
  session_id: string | null;
  target_seq: number;
  body: string;
}
/** DELETE: unsends a message (its author, or a group admin). */
export interface DeleteCommand extends Base {
  op: 'delete';
  client_msg_id: string;
  session_id: string | null;
  target_seq: number;
}
/** The fetched preview of a link in a message; `user_id` is the message's author. */
export interface LinkPreviewCommand extends Base {
  op: 'link_preview';
  target_seq: number;
  preview: LinkPreview;
}
/** An attachment of message `target_seq` got its display size; `user_id` is the message's author. */
export interface AttachmentReadyCommand extends Base {
  op: 'attachment_ready';
  target_seq: number;
  attachment: Attachment;
}
/** Mutes until a time in ms, MUTED_FOREVER, or unmutes (null). */
export interface MuteCommand extends Base {
  op: 'mute';
  until: number | null;
}
/** Marks the conversation unread for the user until their next READ. */
export interface MarkUnreadCommand extends Base {
  op: 'mark_unread';
}
export interface ReadCommand extends Base {
  op: 'read';
  seq: number;
  /** False when the reader hides read receipts. */
  receipts: boolean;
}
export interface DeliveredCommand extends Base {
  op: 'delivered';
  seq: number;
}
export interface TypingCommand extends Base {
  op: 'typing';
  state: TypingState;
}
export interface AddMembersCommand extends Base {
  op: 'add_members';
  user_ids: string[];
}
export interface RemoveMemberCommand extends Base {
  op: 'remove_member';
  target_id: string;
}
/** Announces a newly created conversation to its members (a member_added event at seq 1). */
export interface AnnounceCommand extends Base {
  op: 'announce';
}

export type Command =
  | SendCommand
  | ReactCommand
  | EditCommand
  | DeleteCommand
  | LinkPreviewCommand
  | AttachmentReadyCommand
  | MuteCommand
  | MarkUnreadCommand
  | ReadCommand
  | DeliveredCommand
  | TypingCommand
  | AddMembersCommand
  | RemoveMemberCommand
  | AnnounceCommand;

/** The ACK of a durable event. */
export interface AckResult {
  seq: number;
  ts: number;
  duplicate: boolean;
}

export interface MembersResult {
  conversation: ConversationRecord;
  members: MemberRecord[];
  /** seq of the member event, or null when nothing changed. */
  seq: number | null;
}

/** What dispatch() resolves with, per command. */
export interface MuteResult {
  muted_until: number | null;
  muted: boolean;
}

/** How many members a TYPING was relayed to (0 when coalesced away): its sender pays for them. */
export interface TypingResult {
  relayed: number;
}

export interface ResultMap {
  send: AckResult;
  react: AckResult;
  edit: AckResult;
  delete: AckResult;
  /** null when the message is gone (or its preview was already stored). */
  link_preview: AckResult | null;
  /** null when the message is gone (or this attachment was already announced). */
  attachment_ready: AckResult | null;
  mute: MuteResult;
  mark_unread: { marked_unread: boolean };
  read: { last_read_seq: number };
  delivered: void;
  typing: TypingResult;
  add_members: MembersResult;
  remove_member: MembersResult;
  announce: AckResult;
}

export type ResultOf<C extends Command> = ResultMap[C['op']];

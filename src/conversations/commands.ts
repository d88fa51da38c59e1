/**
 * Commands a conversation actor accepts, and what each answers. They are plain data so
 * the cluster router can carry them between shards unchanged.
 */
import type { ConversationRecord, MemberRecord } from '../store';
import type { TypingState } from '../protocol';

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
  attachments?: string[];
  mentions?: string[];
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
export interface ResultMap {
  send: AckResult;
  read: { last_read_seq: number };
  delivered: void;
  typing: void;
  add_members: MembersResult;
  remove_member: MembersResult;
  announce: AckResult;
}

export type ResultOf<C extends Command> = ResultMap[C['op']];

/**
 * What a conversation's actor knows of it in memory: the conversation row, its members'
 * live state, and the recent messages the rules need (targets of replies, reactions,
 * edits and deletes; authors for delivered receipts). Plain data with small, synchronous
 * updates; the rules read it, the actor and the read state change it.
 */
import type { ConvEvent, MemberRole } from '../protocol';
import type { AppendItem, ConversationRecord, MemberRecord, MessageView } from '../store';
import type { MembersResult } from './commands';

/** How many recent message authors are remembered for delivered receipts. */
const tailSize = 256;
/** Messages whose state is kept for replies, reactions, edits and deletes. */
const messageCacheSize = 2048;

export interface MemberState {
  role: MemberRole;
  joinedAt: number;
  lastRead: number;
  lastDelivered: number;
  markedUnread: boolean;
}

/** What the rules of replies, reactions, edits and deletes need to know of a message. */
export interface MessageMeta {
  sender: string;
  ts: number;
  deleted: boolean;
  /** The thread the message is a reply in; null when it is not a reply. */
  threadRoot: number | null;
}

/** One conversation's in-memory state, owned by its actor; never shared between actors. */
export class ConversationState {
  readonly members = new Map<string, MemberState>();
  /**
   * seq -> message state. Filled when a message is sequenced (so a target still in group
   * commit is known) or loaded from the store before a command that names it; null records
   * a committed seq that is no message. Map order is insertion order: oldest dropped first.
   */
  private readonly messages = new Map<number, MessageMeta | null>();
  /** seq -> sender of recent messages, for routing delivered receipts in groups. */
  readonly tail = new Map<number, string>();
  /** sender -> seq of their newest message seen since load, to know whether a send clears others' unread. */
  readonly lastMessageBy = new Map<string, number>();
  /** member -> when their "started" was last relayed; absent once "stopped" was (signals.ts coalesces on it). */
  readonly typingSince = new Map<string, number>();
  /** Messages up to this seq were committed before the actor loaded: lastMessageBy does not know their senders. */
  private readonly knownAfter: number;

  constructor(
    readonly conv: ConversationRecord,
    members: readonly MemberRecord[],
  ) {
    this.knownAfter = conv.last_seq;
    for (const m of members) {
      this.members.set(m.user_id, {
        role: m.role,
        joinedAt: m.joined_at,
        lastRead: m.last_read_seq,
        lastDelivered: m.last_delivered_seq,
        markedUnread: m.marked_unread,
      });
    }
  }

  get convId(): string {
    return this.conv.conv_id;
  }

  /** Whether the state of the message at `seq` (or that it is none) is known here. */
  knowsMessage(seq: number): boolean {
    return this.messages.has(seq);
  }

  /** The message at `seq`, null when that seq is no message, undefined when unknown. */
  message(seq: number): MessageMeta | null | undefined {
    return this.messages.get(seq);
  }

  /** Records a message read from the store (null: the seq holds no message). */
  rememberStored(seq: number, m: MessageView | null): void {
    this.remember(seq, m === null ? null : { sender: m.sender_id, ts: m.ts, deleted: m.deleted, threadRoot: m.thread_root });
  }

  private remember(seq: number, meta: MessageMeta | null): void {
    this.messages.delete(seq);
    this.messages.set(seq, meta);
    if (this.messages.size > messageCacheSize) this.messages.delete(this.messages.keys().next().value as number);
  }

  /** A committed event found in the log at load: its author counts for delivered receipts. */
  loaded(ev: ConvEvent): void {
    this.conv.last_seq = Math.max(this.conv.last_seq, ev.seq);
    if (ev.kind !== 'message') return;
    this.addTail(ev.seq, ev.sender_id);
    if (ev.seq > this.knownAfter) this.lastMessageBy.set(ev.sender_id, ev.seq);
  }

  /** An event was sequenced (not yet durable): later commands see its effect at once. */
  sequenced(ev: ConvEvent): void {
    if (ev.kind === 'message') {
      this.remember(ev.seq, { sender: ev.sender_id, ts: ev.ts, deleted: false, threadRoot: ev.thread_root ?? null });
    } else if (ev.kind === 'delete' && ev.target_seq !== undefined) {
      const target = this.messages.get(ev.target_seq);
      if (target) target.deleted = true;
    }
  }

  /** Undoes what sequenced() assumed, for an event that did not become durable. */
  uncommitted(ev: ConvEvent): void {
    if (ev.kind === 'message') this.messages.delete(ev.seq);
    else if (ev.kind === 'delete' && ev.target_seq !== undefined) {
      const target = this.messages.get(ev.target_seq);
      if (target) target.deleted = false;
    }
  }

  /** Applies a durable event: last_seq, membership, and recent authors. */
  committed(item: AppendItem): void {
    const ev = item.event;
    this.conv.last_seq = Math.max(this.conv.last_seq, ev.seq);
    for (const m of item.members?.add ?? []) {
      this.members.set(m.user_id, { role: m.role, joinedAt: ev.ts, lastRead: m.last_read_seq, lastDelivered: 0, markedUnread: false });
    }
    for (const userId of item.members?.remove ?? []) this.members.delete(userId);
    this.conv.member_count = this.members.size;
    if (ev.kind !== 'message') return;
    this.addTail(ev.seq, ev.sender_id);
    this.lastMessageBy.set(ev.sender_id, ev.seq);
  }

  private addTail(seq: number, sender: string): void {
    this.tail.set(seq, sender);
    if (this.tail.size > tailSize) this.tail.delete(this.tail.keys().next().value as number);
  }

  /**
   * Whether anyone but `userId` sent a message after `seq`. Messages from before the load
   * are not known here: a seq below them answers yes (a READ_SYNC too many costs nothing;
   * one too few leaves another device showing unread messages).
   */
  othersSentAfter(userId: string, seq: number): boolean {
    if (seq < this.knownAfter) return true;
    for (const [sender, last] of this.lastMessageBy) if (sender !== userId && last > seq) return true;
    return false;
  }

  /** Members other than `userId`. */
  others(userId: string): string[] {
    const out: string[] = [];
    for (const u of this.members.keys()) if (u !== userId) out.push(u);
    return out;
  }

  /** The conversation and its members as add/remove member commands answer them. */
  membersResult(seq: number | null): MembersResult {
    const members = [...this.members].map(([user_id, m]) => ({
      conv_id: this.convId,
      user_id,
      role: m.role,
      joined_at: m.joinedAt,
      last_read_seq: m.lastRead,
      last_delivered_seq: m.lastDelivered,
      muted_until: null,
      marked_unread: m.markedUnread,
    }));
    return { conversation: { ...this.conv }, members, seq };
  }
}

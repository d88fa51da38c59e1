/**
 * Read paths (inbox, details, history, sync) straight from the store, which every shard
 * shares, so they need no actor. Membership is checked on every call.
 */
import { ProtocolError, type ConvEvent, type InboxRow } from '../protocol';
import type { ConversationRecord, InboxPage, MemberRecord, MessageView, Store } from '../store';
import { noSuchConversation } from './rules';

/** Margin subtracted from inbox cursors: an event sequenced before a sync but committed
 * after it carries an older timestamp, and shards' clocks differ a little. Rows are
 * idempotent, so sending a few twice is harmless; missing one is not. */
const cursorMarginMs = 10_000;

export interface Thread {
  root: MessageView;
  replies: MessageView[];
  more: boolean;
}

export interface Replay {
  events: ConvEvent[];
  more: boolean;
}

export class ConversationReads {
  constructor(
    private readonly store: Store,
    private readonly beforeRead: () => Promise<void>,
  ) {}

  /** Throws not_found unless `userId` is a member: an unknown conversation and someone else's answer alike. */
  async requireMember(userId: string, convId: string): Promise<MemberRecord> {
    const member = await this.store.getMember(convId, userId);
    if (member) return member;
    throw noSuchConversation();
  }

  async inbox(userId: string, cursor: string | null, limit: number): Promise<InboxPage> {
    await this.beforeRead();
    return this.store.listInbox(userId, cursor, limit);
  }

  async details(userId: string, convId: string): Promise<{ conversation: ConversationRecord; members: MemberRecord[] }> {
    await this.requireMember(userId, convId);
    await this.beforeRead(); // members' markers are part of the answer
    const [conversation, members] = await Promise.all([this.store.getConversation(convId), this.store.getMembers(convId)]);
    if (!conversation) throw noSuchConversation();
    return { conversation, members };
  }

  async messages(userId: string, convId: string, before: number, limit: number): Promise<MessageView[]> {
    await this.requireMember(userId, convId);
    return this.store.readMessages(convId, before, limit);
  }

  /**
   * A thread: its first message and the replies after `after`, ascending. `seq` may name
   * any message of the thread; a message that starts none is a thread of its own.
   */
  async thread(userId: string, convId: string, seq: number, after: number, limit: number): Promise<Thread> {
    await this.requireMember(userId, convId);
    const named = await this.store.readMessage(convId, seq);
    if (!named) throw new ProtocolError('not_found', 'no such message');
    const rootSeq = named.thread_root ?? named.seq;
    const root = rootSeq === named.seq ? named : await this.store.readMessage(convId, rootSeq);
    if (!root) throw new ProtocolError('not_found', 'no such thread');
    const replies = await this.store.readThreadReplies(convId, rootSeq, after, limit + 1);
    const more = replies.length > limit;
    if (more) replies.length = limit;
    return { root, replies, more };
  }

  /** Events after `after`, plus whether more remain. */
  async events(userId: string, convId: string, after: number, limit: number): Promise<Replay> {
    await this.requireMember(userId, convId);
    const events = await this.store.readEvents(convId, after, limit + 1);
    const more = events.length > limit;
    if (more) events.length = limit;
    return { events, more };
  }

  /** CONNACK replay: events after each given seq, conversations the user left skipped. */
  async replay(userId: string, convs: Record<string, number>, perConv: number): Promise<Replay> {
    const out: ConvEvent[] = [];
    let more = false;
    await Promise.all(
      Object.entries(convs).map(async ([convId, after]) => {
        const member = await this.store.getMember(convId, userId);
        if (!member) return;
        const events = await this.store.readEvents(convId, after, perConv + 1);
        if (events.length > perConv) {
          more = true;
          events.length = perConv;
        }
        for (const e of events) out.push(e);
      }),
    );
    // Grouped by conversation, ascending seq within each (Promise.all keeps each group whole).
    return { events: out, more };
  }

  /** Inbox rows changed since the device's cursor, and the cursor to keep. */
  async inboxSince(userId: string, cursor: string | undefined, limit: number): Promise<{ rows: InboxRow[]; cursor: string }> {
    await this.beforeRead();
    const now = Date.now();
    const since = cursor && /^\d{1,15}$/.test(cursor) ? Number(cursor) : 0;
    const rows = await this.store.inboxChangedSince(userId, since, limit);
    return { rows, cursor: String(Math.max(0, now - cursorMarginMs)) };
  }
}

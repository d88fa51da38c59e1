/**
 * Members' read state of one conversation: READ and DELIVERED markers (forward only,
 * written by the coalescing MarkerWriter), "marked unread", and the frames that tell
 * about them: READ_SYNC to the member's own sessions (with counts from the store),
 * RECEIPT to the others. Runs inside the actor's mailbox, so markers change in command
 * order; frames leave through the actor's ordered fan-out, after the events they follow.
 */
import { encodeFrame, type ConvEvent } from '../protocol';
import type { Store } from '../store';
import type { DeliveredCommand, MarkUnreadCommand, ReadCommand } from './commands';
import type { OrderedFanout } from './fanout';
import type { MarkerWriter } from './markers';
import type { ConversationState, MemberState } from './state';

/** The read state of one conversation's members; one per loaded actor. */
export class ReadState {
  constructor(
    private readonly state: ConversationState,
    private readonly store: Store,
    private readonly markers: MarkerWriter,
    private readonly out: OrderedFanout,
  ) {}

  private get convId(): string {
    return this.state.convId;
  }

  /** READ: the marker moves forward only; any READ clears "marked unread". */
  read(cmd: ReadCommand, member: MemberState): { last_read_seq: number } {
    const seq = Math.min(cmd.seq, this.state.conv.last_seq);
    const wasMarked = member.markedUnread;
    if (wasMarked) this.setMarked(cmd.user_id, member, false);
    if (seq <= member.lastRead) {
      if (wasMarked) this.sync(cmd.user_id, member.lastRead, false);
      return { last_read_seq: member.lastRead };
    }
    member.lastRead = seq;
    this.markers.update(this.convId, cmd.user_id, 'last_read_seq', seq);
    if (cmd.receipts) {
      this.out.publish(this.state.others(cmd.user_id), encodeFrame({ type: 'RECEIPT', conv_id: this.convId, user_id: cmd.user_id, seq, kind: 'read' }));
    }
    this.sync(cmd.user_id, seq, false);
    return { last_read_seq: seq };
  }

  /**
   * DELIVERED: the marker moves forward only. Delivered ticks matter to the authors of the
   * messages just delivered; telling every member of a 250-member group about every
   * device's DELIVERED would cost O(n²) frames.
   */
  delivered(cmd: DeliveredCommand, member: MemberState): void {
    const seq = Math.min(cmd.seq, this.state.conv.last_seq);
    if (seq <= member.lastDelivered) return;
    const previous = member.lastDelivered;
    member.lastDelivered = seq;
    this.markers.update(this.convId, cmd.user_id, 'last_delivered_seq', seq);
    const authors = new Set<string>();
    if (this.state.conv.type === 'direct') {
      for (const u of this.state.others(cmd.user_id)) authors.add(u);
    } else {
      for (const [s, sender] of this.state.tail) if (s > previous && s <= seq && sender !== cmd.user_id) authors.add(sender);
    }
    if (authors.size > 0) {
      this.out.publish([...authors], encodeFrame({ type: 'RECEIPT', conv_id: this.convId, user_id: cmd.user_id, seq, kind: 'delivered' }));
    }
  }

  /** MARK_UNREAD: on every device of the member until their next READ (or send). */
  markUnread(cmd: MarkUnreadCommand, member: MemberState): { marked_unread: boolean } {
    this.setMarked(cmd.user_id, member, true);
    this.sync(cmd.user_id, member.lastRead, true);
    return { marked_unread: true };
  }

  /** A message became durable: sending implies having read everything before it. */
  sent(event: ConvEvent): void {
    const sender = this.state.members.get(event.sender_id);
    if (!sender || sender.lastRead >= event.seq) return;
    const clearsUnread = this.state.othersSentAfter(event.sender_id, sender.lastRead) || sender.markedUnread;
    sender.lastRead = event.seq;
    this.markers.update(this.convId, event.sender_id, 'last_read_seq', event.seq);
    if (sender.markedUnread) this.setMarked(event.sender_id, sender, false);
    if (clearsUnread) {
      this.out.publish([event.sender_id], readSyncFrame(this.convId, event.seq, 0, 0, false));
    }
  }

  /** A deleted message no longer counts as unread (or as a mention) for those who had not read it. */
  deleted(event: ConvEvent, author: string | undefined): void {
    const target = event.target_seq ?? 0;
    for (const [userId, m] of this.state.members) {
      if (m.lastRead < target && userId !== author) this.sync(userId, m.lastRead, m.markedUnread);
    }
  }

  private setMarked(userId: string, member: MemberState, value: boolean): void {
    member.markedUnread = value;
    this.markers.setMarkedUnread(this.convId, userId, value);
  }

  /** READ_SYNC to every session of `userId`, counts from the store, in actor order. */
  private sync(userId: string, lastRead: number, markedUnread: boolean): void {
    this.out.after(async (fanout) => {
      const counts = await this.store.countUnread(this.convId, userId, lastRead);
      await fanout.publish([userId], readSyncFrame(this.convId, lastRead, counts.unread, counts.mentions, markedUnread), null);
    });
  }
}

function readSyncFrame(convId: string, lastRead: number, unread: number, mentions: number, markedUnread: boolean) {
  return encodeFrame({ type: 'READ_SYNC', conv_id: convId, last_read_seq: lastRead, unread, unread_mentions: mentions, marked_unread: markedUnread });
}

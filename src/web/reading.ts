/**
 * The conversation on screen and read marking: the open conversation is read up to its
 * newest message while the page is visible, and each READ goes out once per seq (a
 * marker already sent, or learned from another device, is not sent again).
 */
import type { ChatClient } from '../client';
import type { Inbox } from './inbox';
import type { MessageStore } from './messages';

export class ReadMarker {
  private open: string | null = null;
  /** conv id -> the highest seq this device sent (or learned) a read marker for. */
  private readonly sent = new Map<string, number>();

  constructor(
    private readonly client: Pick<ChatClient, 'markRead'>,
    private readonly inbox: Inbox,
    private readonly msgs: MessageStore,
    /** Told of each conversation seen on screen here (its notifications in this browser are closed). */
    private readonly onRead: (convId: string) => void = () => undefined,
  ) {}

  /** The conversation on screen, or null (the list). */
  get openConvId(): string | null {
    return this.open;
  }

  /** Records the conversation on screen; false when it was already the one. */
  setOpen(convId: string | null): boolean {
    if (this.open === convId) return false;
    this.open = convId;
    return true;
  }

  /** Reads the open conversation up to its newest message while the page is visible. */
  markReadIfVisible(convId: string): void {
    if (document.visibilityState !== 'visible' || convId !== this.open) return;
    // On screen: its notifications here go, whether this device reads it now or it was read
    // elsewhere (Safari gets no retraction pushes).
    this.onRead(convId);
    const row = this.inbox.get(convId);
    const newest = Math.max(row?.last_seq ?? 0, this.msgs.newestSeq(convId));
    if (newest <= 0) return;
    const unreadHere = (row?.unread ?? 0) > 0 || row?.marked_unread === true || (row?.last_read_seq ?? 0) < newest;
    if (!unreadHere || (this.sent.get(convId) ?? 0) >= newest) return;
    this.sent.set(convId, newest);
    this.client.markRead(convId, newest);
  }

  /** Reads the open conversation, if any (page shown again, list refreshed, catch-up done). */
  markOpenRead(): void {
    if (this.open) this.markReadIfVisible(this.open);
  }

  /** A read marker set elsewhere (another device): no need to send it from here. */
  noteRead(convId: string, lastReadSeq: number): void {
    this.sent.set(convId, Math.max(this.sent.get(convId) ?? 0, lastReadSeq));
  }

  /** Marked unread: the next visit reads it again. */
  forget(convId: string): void {
    this.sent.delete(convId);
  }
}

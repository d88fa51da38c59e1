/**
 * What a device knows about its conversations: the per-conversation high-water seq (the
 * sync state it persists and sends in CONNECT), the inbox cursor, and unread counts.
 * Pure bookkeeping, no I/O: ChatClient feeds it frames and forwards what it reports.
 */
import type { ConvEvent, InboxRow, SyncState } from '../protocol/frames';

export interface SyncHooks {
  /** A new event, in seq order within its conversation, never twice. */
  event(ev: ConvEvent): void;
  /** A conversation's unread count changed. */
  unread(convId: string, count: number): void;
}

/** Per-conversation unread bookkeeping. */
interface Unread {
  count: number;
  /** The read marker; messages at or below it are read. */
  lastRead: number;
  /** Highest seq already reflected in `count` (by an inbox row or a counted event). */
  counted: number;
}

export class SyncTracker {
  /** conv_id -> highest seq applied. Everything at or below it is dropped as a duplicate. */
  private readonly convs = new Map<string, number>();
  private inboxCursor: string | undefined;
  private readonly unread = new Map<string, Unread>();
  /** Conversations being paged over REST: their live events wait here, unsorted. */
  private readonly held = new Map<string, ConvEvent[]>();
  /** The connected user; their own messages never count as unread. */
  userId: string | null = null;

  constructor(
    initial: SyncState | undefined,
    private readonly hooks: SyncHooks,
  ) {
    for (const [conv, seq] of Object.entries(initial?.convs ?? {})) {
      if (Number.isSafeInteger(seq)) this.convs.set(conv, seq);
    }
    this.inboxCursor = initial?.inbox_cursor;
  }

  /** A serialisable copy of the sync state, fit for CONNECT and for persisting. */
  snapshot(): SyncState {
    const state: SyncState = { convs: Object.fromEntries(this.convs) };
    if (this.inboxCursor !== undefined) state.inbox_cursor = this.inboxCursor;
    return state;
  }

  setInboxCursor(cursor: string): void {
    this.inboxCursor = cursor;
  }

  /** The highest seq applied for `convId`, or undefined when the device holds none. */
  highWater(convId: string): number | undefined {
    return this.convs.get(convId);
  }

  /** Current unread count (0 when unknown). */
  unreadCount(convId: string): number {
    return this.unread.get(convId)?.count ?? 0;
  }

  /** Every known unread count. */
  unreadCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [conv, u] of this.unread) out[conv] = u.count;
    return out;
  }

  /** Takes an event from a live DELIVER: held while its conversation is being paged. */
  offer(ev: ConvEvent): void {
    const held = this.held.get(ev.conv_id);
    if (held) held.push(ev);
    else this.apply(ev);
  }

  /** Applies an event unless it is at or below the high-water seq. Returns whether it was new. */
  apply(ev: ConvEvent): boolean {
    const high = this.convs.get(ev.conv_id);
    if (high !== undefined && ev.seq <= high) return false;
    this.convs.set(ev.conv_id, ev.seq);
    this.count(ev);
    this.hooks.event(ev);
    return true;
  }

  /** Starts holding live events for these conversations (while they are paged). */
  hold(convIds: Iterable<string>): void {
    for (const conv of convIds) if (!this.held.has(conv)) this.held.set(conv, []);
  }

  /** Stops holding `convId` and applies what was held, in seq order, dropping duplicates. */
  release(convId: string): void {
    const held = this.held.get(convId);
    if (!held) return;
    this.held.delete(convId);
    held.sort((a, b) => a.seq - b.seq);
    for (const ev of held) this.apply(ev);
  }

  /**
   * Forgets held events without applying them (the connection they came on is gone).
   * Nothing is lost: the high-water seq did not move, so the next CONNECT asks again.
   */
  dropHeld(): void {
    this.held.clear();
  }

  /** An inbox row is authoritative for its conversation's unread count and read marker. */
  applyInboxRow(row: InboxRow): void {
    const u = this.entry(row.conv_id);
    u.lastRead = row.last_read_seq;
    u.counted = row.last_seq;
    this.setCount(row.conv_id, u, row.unread);
  }

  /** READ_SYNC: the marker moves forward only; the count is set absolutely. */
  applyReadSync(convId: string, lastReadSeq: number, unread: number): void {
    const u = this.entry(convId);
    u.lastRead = Math.max(u.lastRead, lastReadSeq);
    this.setCount(convId, u, unread);
  }

  /**
   * The user read up to `seq` here. When that covers everything the device holds, the
   * count is 0 at once; otherwise only the server knows, and its READ_SYNC will tell.
   */
  markRead(convId: string, seq: number): void {
    const u = this.entry(convId);
    u.lastRead = Math.max(u.lastRead, seq);
    const high = this.convs.get(convId);
    if (high === undefined || seq >= high) this.setCount(convId, u, 0);
  }

  /** Counts a new message from another user above both the read marker and what a row already counted. */
  private count(ev: ConvEvent): void {
    const u = this.entry(ev.conv_id);
    const fresh = ev.seq > u.counted;
    u.counted = Math.max(u.counted, ev.seq);
    if (!fresh || ev.kind !== 'message' || ev.sender_id === this.userId || ev.seq <= u.lastRead) return;
    this.setCount(ev.conv_id, u, u.count + 1);
  }

  private entry(convId: string): Unread {
    let u = this.unread.get(convId);
    if (!u) {
      u = { count: 0, lastRead: -1, counted: -1 };
      this.unread.set(convId, u);
    }
    return u;
  }

  private setCount(convId: string, u: Unread, count: number): void {
    if (u.count === count) return;
    u.count = count;
    this.hooks.unread(convId, count);
  }
}

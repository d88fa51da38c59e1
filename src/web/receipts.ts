/**
 * Receipts: how far each other member of a conversation has received and read, and what
 * that shows: the ticks on this user's messages and "Seen by" under the message a
 * member read up to. Markers only move forward, whatever order RECEIPT frames and
 * conversation details arrive in, so a stale source never takes a tick back.
 */
import type { Member, ReceiptKind } from '../client';
import type { Msg } from './messages';

/** Another member's progress in a conversation: the seqs of their delivered and read markers. */
export interface Progress {
  delivered: number;
  read: number;
}

/** pending: not acknowledged yet; sent: durable (ACK); delivered / read: by every other member. */
export type Tick = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

/** Every conversation's member progress, by conversation id then user id. */
export class Receipts {
  private readonly byConv = new Map<string, Map<string, Progress>>();

  /** A RECEIPT frame: a read marker implies delivery up to the same seq. */
  applyReceipt(r: { conv_id: string; user_id: string; seq: number; kind: ReceiptKind }): void {
    this.advance(r.conv_id, r.user_id, r.seq, r.kind === 'read' ? r.seq : 0);
  }

  /**
   * The markers of conversation details (`GET /conversations/:id`), which a device that was
   * offline or is new has no RECEIPTs for. `read_seq` is null for a member hiding read
   * receipts: their delivery still counts. Returns whether anything moved.
   */
  mergeMembers(convId: string, members: Member[], me: string): boolean {
    let moved = false;
    for (const m of members) {
      if (m.user_id === me) continue;
      const read = typeof m.read_seq === 'number' ? m.read_seq : 0;
      const delivered = Math.max(typeof m.delivered_seq === 'number' ? m.delivered_seq : 0, read);
      // Nothing to say (never received anything): no entry, as if no RECEIPT came.
      if (delivered <= 0) continue;
      if (this.advance(convId, m.user_id, delivered, read)) moved = true;
    }
    return moved;
  }

  /** Moves one member's markers forward (never back); returns whether either moved. */
  private advance(convId: string, userId: string, delivered: number, read: number): boolean {
    let conv = this.byConv.get(convId);
    if (!conv) this.byConv.set(convId, (conv = new Map()));
    const p = conv.get(userId);
    if (p && p.delivered >= delivered && p.read >= read) return false;
    conv.set(userId, { delivered: Math.max(p?.delivered ?? 0, delivered), read: Math.max(p?.read ?? 0, read) });
    return true;
  }

  /** The tick of this user's message `m`, given the conversation's other members. */
  tick(convId: string, others: string[], m: Msg): Tick {
    if (m.failed) return 'failed';
    if (m.seq === null) return 'pending';
    const progress = this.byConv.get(convId);
    if (!others.length || !progress) return 'sent';
    const all = (f: (p: Progress) => boolean) =>
      others.every((id) => {
        const p = progress.get(id);
        return p !== undefined && f(p);
      });
    const seq = m.seq;
    if (all((p) => p.read >= seq)) return 'read';
    if (all((p) => p.delivered >= seq)) return 'delivered';
    return 'sent';
  }

  /**
   * seq -> the other members whose read marker's last visible message is that one ("Seen by"):
   * the newest message in `list` (confirmed ones, ascending) at or below their marker that
   * they did not send themselves.
   */
  seenBy(convId: string, me: string, list: readonly Msg[]): Map<number, string[]> {
    const out = new Map<number, string[]>();
    const progress = this.byConv.get(convId);
    if (!progress) return out;
    for (const [userId, p] of progress) {
      if (userId === me || p.read <= 0) continue;
      let at: number | null = null;
      for (const m of list) if ((m.seq as number) <= p.read && m.sender_id !== userId) at = m.seq;
      if (at === null) continue;
      const names = out.get(at) ?? [];
      names.push(userId);
      out.set(at, names);
    }
    return out;
  }

  /** For the persisted record: conversation id -> user id -> progress. */
  toRecord(): Record<string, Record<string, Progress>> {
    const out: Record<string, Record<string, Progress>> = {};
    for (const [conv, byUser] of this.byConv) out[conv] = Object.fromEntries(byUser);
    return out;
  }

  /** Restores what `toRecord` saved (at start, before any RECEIPT). */
  restore(saved: Record<string, Record<string, Progress>>): void {
    for (const [conv, byUser] of Object.entries(saved)) this.byConv.set(conv, new Map(Object.entries(byUser)));
  }
}

/**
 * What the server must hear again after every reconnect, besides the outbox: READ markers
 * not yet confirmed by READ_SYNC, DELIVERED markers not yet written, and the presence
 * subscription. Pure bookkeeping; frames go out through the `FrameWriter` handed in.
 */
import type { ClientFrame } from '../protocol/frames';

/** Writes a frame on the live connection; false when there is none. */
export interface FrameWriter {
  write(frame: ClientFrame): boolean;
}

export class PendingMarkers {
  /** READ markers not yet confirmed by READ_SYNC; resent after a reconnect. */
  private readonly reads = new Map<string, number>();
  /** DELIVERED markers not yet written. */
  private readonly deliveries = new Map<string, number>();
  private presence: string[] = [];

  /** Records a READ of `seq` (forward only) until `readSynced` confirms it. */
  read(convId: string, seq: number): void {
    this.reads.set(convId, Math.max(seq, this.reads.get(convId) ?? seq));
  }

  /** READ_SYNC moved the marker to `lastReadSeq`: a READ at or below it is confirmed. */
  readSynced(convId: string, lastReadSeq: number): void {
    const pending = this.reads.get(convId);
    if (pending !== undefined && lastReadSeq >= pending) this.reads.delete(convId);
  }

  /** Stops resending the READ of `convId` (MARK_UNREAD went out after it). */
  forgetRead(convId: string): void {
    this.reads.delete(convId);
  }

  /** Records a DELIVERED of `seq` (forward only) until `flushDelivered` writes it. */
  delivered(convId: string, seq: number): void {
    this.deliveries.set(convId, Math.max(seq, this.deliveries.get(convId) ?? seq));
  }

  /** Replaces the presence subscription; returns it, for the PRESENCE_SUB frame. */
  subscribe(userIds: string[]): string[] {
    this.presence = [...userIds];
    return this.presence;
  }

  /** Writes every pending DELIVERED; those written are forgotten. */
  flushDelivered(out: FrameWriter): void {
    for (const [conv_id, seq] of this.deliveries) {
      if (out.write({ type: 'DELIVERED', conv_id, seq })) this.deliveries.delete(conv_id);
    }
  }

  /** Resends everything after CONNACK: read markers, delivered markers, presence subscription. */
  flush(out: FrameWriter): void {
    for (const [conv_id, seq] of this.reads) out.write({ type: 'READ', conv_id, seq });
    this.flushDelivered(out);
    if (this.presence.length) out.write({ type: 'PRESENCE_SUB', user_ids: this.presence });
  }
}

/**
 * Frames not yet acknowledged. Each keeps its frame, so after a reconnect the very same
 * `client_msg_id` goes out again and the server's dedup makes the retry exactly-once.
 */
import type { AckFrame, DeleteFrame, EditFrame, Limits, ReactFrame, SendFrame } from '../protocol/frames';
import { newSortableId } from '../protocol/ids';
import { ChatError } from './errors';
import type { SendResult } from './rest';

/** The frames that carry a `client_msg_id` and are answered by ACK (or an ERROR whose ref is that id). */
export type OutboxFrame = SendFrame | ReactFrame | EditFrame | DeleteFrame;

interface Pending {
  frame: OutboxFrame;
  resolve(ack: SendResult): void;
  reject(err: Error): void;
}

/**
 * A new `client_msg_id`. One prefix for every kind: the server's idempotency index is
 * ordered by these ids per sender, and one prefix keeps each sender's keys appending
 * at a single point.
 */
export function newMsgId(): string {
  return newSortableId('m');
}

export class Outbox {
  /** Insertion-ordered, so resends keep the order the app sent in. */
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly limits: Pick<Limits, 'maxBodyChars' | 'maxFrameBytes'>) {}

  /**
   * Why `frame` (whose text is `body`, if any) may not be queued, or null. Refused: a
   * second frame with a pending id, and what the server would refuse without a `ref`
   * (ERROR too_large for an oversized frame, close 1009 beyond that), which would
   * otherwise be resent forever.
   */
  refusal(frame: OutboxFrame, body?: string): ChatError | null {
    const id = frame.client_msg_id;
    if (this.pending.has(id)) return new ChatError('bad_request', 'a frame with this client_msg_id is already pending', id);
    if ((body !== undefined && body.length > this.limits.maxBodyChars) || utf8Length(JSON.stringify(frame)) > this.limits.maxFrameBytes) {
      return new ChatError('too_large', 'message too large', id);
    }
    return null;
  }

  /** Queues `frame` (check `refusal` first); the promise settles on its ACK or its ERROR. */
  add(frame: OutboxFrame): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(frame.client_msg_id, { frame, resolve, reject });
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /** Every unacknowledged frame, oldest first. */
  frames(): OutboxFrame[] {
    return [...this.pending.values()].map((p) => p.frame);
  }

  /** Resolves the frame `ack` answers. Returns false when none was pending. */
  ack(ack: AckFrame): boolean {
    const p = this.pending.get(ack.client_msg_id);
    if (!p) return false;
    this.pending.delete(ack.client_msg_id);
    const result: SendResult = { client_msg_id: ack.client_msg_id, conv_id: ack.conv_id, seq: ack.seq, ts: ack.ts };
    if (ack.duplicate) result.duplicate = true;
    p.resolve(result);
    return true;
  }

  /** Rejects the frame `clientMsgId`. Returns false when none was pending. */
  fail(clientMsgId: string, err: Error): boolean {
    const p = this.pending.get(clientMsgId);
    if (!p) return false;
    this.pending.delete(clientMsgId);
    p.reject(err);
    return true;
  }

  /** Rejects everything pending. */
  failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

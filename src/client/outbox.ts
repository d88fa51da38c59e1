/**
 * Sends not yet acknowledged. Each keeps its frame, so after a reconnect the very same
 * `client_msg_id` goes out again and the server's dedup makes the retry exactly-once.
 */
import type { AckFrame, SendFrame } from '../protocol/frames';
import type { SendResult } from './rest';

interface Pending {
  frame: SendFrame;
  resolve(ack: SendResult): void;
  reject(err: Error): void;
}

export class Outbox {
  /** Insertion-ordered, so resends keep the order the app sent in. */
  private readonly pending = new Map<string, Pending>();

  /** Queues `frame`; the promise settles on its ACK or its ERROR. */
  add(frame: SendFrame): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      this.pending.set(frame.client_msg_id, { frame, resolve, reject });
    });
  }

  has(clientMsgId: string): boolean {
    return this.pending.has(clientMsgId);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Every unacknowledged frame, oldest first. */
  frames(): SendFrame[] {
    return [...this.pending.values()].map((p) => p.frame);
  }

  /** Resolves the send `ack` answers. Returns false when none was pending. */
  ack(ack: AckFrame): boolean {
    const p = this.pending.get(ack.client_msg_id);
    if (!p) return false;
    this.pending.delete(ack.client_msg_id);
    const result: SendResult = { client_msg_id: ack.client_msg_id, conv_id: ack.conv_id, seq: ack.seq, ts: ack.ts };
    if (ack.duplicate) result.duplicate = true;
    p.resolve(result);
    return true;
  }

  /** Rejects the send `clientMsgId`. Returns false when none was pending. */
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

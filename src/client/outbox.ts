/**
 * Frames not yet acknowledged. Each keeps its frame, so after a reconnect the very same
 * `client_msg_id` goes out again and the server's dedup makes the retry exactly-once.
 * The frames are plain JSON, so an app can persist them (`ChatClient.pendingFrames()`)
 * and hand them to the next run, which restores them here (`restore`).
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

/** Where the outcome of a restored frame goes, since no caller awaits its promise. */
export interface RestoredOutcome {
  ack(result: SendResult, frame: OutboxFrame): void;
  /** A final failure: the server's ERROR, or a frame refused when restored. Not called for `abandon`. */
  error(err: ChatError, frame: OutboxFrame): void;
}

const outboxTypes: ReadonlySet<string> = new Set<OutboxFrame['type']>(['SEND', 'REACT', 'EDIT', 'DELETE']);

export class Outbox {
  /** Insertion-ordered, so resends keep the order the app sent in. */
  private readonly pending = new Map<string, Pending>();
  /** What `abandon` left unsent; `frames()` keeps answering it once the client is closed. */
  private abandoned: OutboxFrame[] | null = null;

  /** `changed` runs whenever the set of pending frames changes (add, ack, fail; not `abandon`). */
  constructor(
    private readonly limits: Pick<Limits, 'maxBodyChars' | 'maxFrameBytes'>,
    private readonly changed: () => void = () => {},
  ) {}

  /**
   * Queues frames persisted by a previous run, oldest first, ahead of anything sent later.
   * Their outcomes go to `outcome` (a rejection is never left unhandled); frames this
   * outbox would refuse, or that are not outbox frames at all, fail on a microtask, so
   * listeners added right after construction hear of them, followed by `changed`.
   */
  restore(frames: readonly OutboxFrame[], outcome: RestoredOutcome): void {
    const refused: [ChatError, OutboxFrame][] = [];
    for (const frame of frames) {
      const err = this.restoreRefusal(frame);
      if (err) {
        refused.push([err, frame]);
        continue;
      }
      this.add(frame, false).then(
        (result) => outcome.ack(result, frame),
        (e: unknown) => {
          if (e instanceof ChatError) outcome.error(e, frame);
        },
      );
    }
    if (refused.length === 0) return;
    queueMicrotask(() => {
      for (const [err, frame] of refused) outcome.error(err, frame);
      this.changed();
    });
  }

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
  add(frame: OutboxFrame, notify = true): Promise<SendResult> {
    const result = new Promise<SendResult>((resolve, reject) => {
      this.pending.set(frame.client_msg_id, { frame, resolve, reject });
    });
    if (notify) this.changed();
    return result;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Every unacknowledged frame, oldest first (after `abandon`, the ones it left unsent). Fresh copies. */
  frames(): OutboxFrame[] {
    const frames = this.abandoned ?? [...this.pending.values()].map((p) => p.frame);
    return frames.map((f) => ({ ...f }));
  }

  /** Resolves the frame `ack` answers. Returns false when none was pending. */
  ack(ack: AckFrame): boolean {
    const p = this.pending.get(ack.client_msg_id);
    if (!p) return false;
    this.pending.delete(ack.client_msg_id);
    this.changed();
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
    this.changed();
    p.reject(err);
    return true;
  }

  /**
   * Rejects every pending promise with `err` (the client is closing) without calling
   * `changed`: the frames were not answered, only left unsent, so `frames()` keeps
   * returning them for the app to persist and restore next run.
   */
  abandon(err: Error): void {
    const all = [...this.pending.values()];
    this.abandoned = all.map((p) => p.frame);
    this.pending.clear();
    for (const p of all) p.reject(err);
  }

  /** `refusal` for a frame read back from storage, which may be anything. */
  private restoreRefusal(frame: OutboxFrame): ChatError | null {
    const f = frame as Partial<OutboxFrame> | null;
    if (typeof f !== 'object' || f === null || !outboxTypes.has(f.type as string) || typeof f.client_msg_id !== 'string') {
      return new ChatError('bad_request', 'not an outbox frame', typeof f?.client_msg_id === 'string' ? f.client_msg_id : null);
    }
    return this.refusal(frame, frame.type === 'SEND' || frame.type === 'EDIT' ? frame.body : undefined);
  }
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/**
 * The long-poll carrier: the frames written to one long-poll session, numbered 1, 2, 3, ...
 * in write order, kept until a poll's cursor acknowledges them (docs/protocol.md,
 * "Long-poll"). It implements the session's Carrier, so the gateway writes to it exactly
 * as to a WebSocket; the HTTP side (longpoll.ts) only polls it.
 */
import type { Carrier, Session } from './session';

/** How a session ended, as a poll reports it. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** Receives one poll answer: the JSON body, ready to write. */
export type Respond = (body: Buffer) => void;

/** Why a poll was refused (answered 400). */
export class CursorError extends Error {}

/** Told once when the queue closes (the gateway's closed()); called on a later turn. */
export type OnQueueClosed = (queue: PollQueue) => void;

/** Close code reported for a session dropped by the heartbeat (no close frame on WS either). */
const terminatedCode = 1006;

const frameSep = Buffer.from(',');

/** A poll waiting for frames. */
interface Waiter {
  respond: Respond;
  timer: NodeJS.Timeout | null;
}

export class PollQueue implements Carrier {
  /** Frames after `acked`, oldest first: frame number acked + 1 + i. */
  private frames: Buffer[] = [];
  /** The highest frame number a cursor has acknowledged (those frames are gone). */
  private acked = 0;
  /** Bytes of `frames`: the "socket buffer" the slow-consumer limit applies to. */
  bufferedAmount = 0;
  /** Set once; later frames are dropped, polls report it after the remaining frames. */
  closedWith: CloseInfo | null = null;
  closedAt = 0;
  /**
   * True from a server-side close until a poll answer carried it: shutdown waits for this
   * (as it waits for WebSocket close handshakes) so clients learn 1012 rather than seeing
   * the connection reset.
   */
  closeUnreported = false;
  /** The session this queue carries; set right after the gateway accepts it. */
  session: Session | null = null;
  private waiter: Waiter | null = null;
  private wakeScheduled = false;

  constructor(
    /** The opaque id in the URL: the only credential of the session after CONNECT. */
    readonly sid: string,
    readonly onClosed: OnQueueClosed,
  ) {}

  /** Number of the last frame written (0 before any). */
  get written(): number {
    return this.acked + this.frames.length;
  }

  /** True while a poll is waiting on this queue. */
  get polling(): boolean {
    return this.waiter !== null;
  }

  /** True once the record of a close has been kept `keepMs` (a poll had time to learn the code). */
  expired(now: number, keepMs: number): boolean {
    return this.closedWith !== null && now - this.closedAt > keepMs;
  }

  send(data: string | Buffer): void {
    if (this.closedWith) return;
    // Fan-out hands every session the same Buffer; keep it rather than copy.
    const frame = typeof data === 'string' ? Buffer.from(data) : data;
    this.frames.push(frame);
    this.bufferedAmount += frame.length;
    // One turn's frames go out in one answer (the long-poll counterpart of WriteBatch).
    if (this.waiter && !this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(flushTurn, this);
    }
  }

  close(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    this.closedAt = Date.now();
    this.closeUnreported = code !== terminatedCode; // a dropped peer is not waited for
    // The waiting poll learns at once (drain answers every poll with 1012 before stopping).
    this.answer();
    setImmediate(notifyClosed, this);
  }

  terminate(): void {
    this.close(terminatedCode, 'terminated');
  }

  /** A waiting poll is the long-poll "pong": the client is there. */
  ping(): void {
    if (this.waiter && this.session) this.session.alive = true;
  }

  /**
   * Takes a poll: discards the frames up to `cursor`, answers a poll already waiting with
   * no frames, then answers at once when frames (or the close) are there or `waitMs` is 0,
   * else waits up to `waitMs` for the first frame. Throws CursorError for a cursor beyond
   * the last frame written or behind the last one acknowledged.
   */
  poll(cursor: number, waitMs: number, respond: Respond): void {
    if (cursor > this.written) throw new CursorError(`cursor ${cursor} is beyond the last frame (${this.written})`);
    if (cursor < this.acked) throw new CursorError(`cursor ${cursor} is behind frames already acknowledged (${this.acked})`);
    const earlier = this.waiter;
    if (earlier) {
      this.clearWaiter(earlier);
      earlier.respond(answerBody([], this.acked, null));
    }
    const drop = cursor - this.acked;
    if (drop > 0) {
      for (let i = 0; i < drop; i++) this.bufferedAmount -= this.frames[i].length;
      this.frames.splice(0, drop);
      this.acked = cursor;
    }
    this.waiter = { respond, timer: null };
    if (this.frames.length > 0 || this.closedWith || waitMs <= 0) {
      this.answer();
      return;
    }
    this.waiter.timer = setTimeout(timeUp, waitMs, this);
  }

  /** Forgets a waiting poll whose HTTP request went away (its answer would go nowhere). */
  cancel(respond: Respond): void {
    if (this.waiter?.respond === respond) this.clearWaiter(this.waiter);
  }

  /** Answers the waiting poll, if any, with every frame kept (all after its cursor). */
  answer(): void {
    const w = this.waiter;
    if (!w) return;
    this.clearWaiter(w);
    if (this.closedWith) this.closeUnreported = false;
    w.respond(answerBody(this.frames, this.written, this.closedWith));
  }

  private clearWaiter(w: Waiter): void {
    if (w.timer) clearTimeout(w.timer);
    if (this.waiter === w) this.waiter = null;
  }

  /** End of the turn that wrote the first frame for a waiting poll: answer with the burst. */
  flushTurn(): void {
    this.wakeScheduled = false;
    if (this.frames.length > 0) this.answer();
  }
}

// Module-level callbacks with the queue as argument: no closure per session or per write.
function flushTurn(queue: PollQueue): void {
  queue.flushTurn();
}

function timeUp(queue: PollQueue): void {
  queue.answer();
}

function notifyClosed(queue: PollQueue): void {
  queue.onClosed(queue);
}

/**
 * `{"frames":[f1,f2],"cursor":M,"closed":null}` by concatenation: the frames are the exact
 * JSON text the gateway wrote, never parsed again.
 */
export function answerBody(frames: readonly Buffer[], cursor: number, closed: CloseInfo | null): Buffer {
  const parts: Buffer[] = [Buffer.from('{"frames":[')];
  for (let i = 0; i < frames.length; i++) {
    if (i > 0) parts.push(frameSep);
    parts.push(frames[i]);
  }
  parts.push(Buffer.from(`],"cursor":${cursor},"closed":${closed ? JSON.stringify(closed) : 'null'}}`));
  return Buffer.concat(parts);
}

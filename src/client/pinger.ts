/**
 * App-level PING/PONG. PONG carries no reference, so answers match pings in order.
 * The optional interval ping drops a connection whose previous PING got no PONG, which
 * is how a browser (blind to WebSocket-level pings) notices a dead connection.
 */

interface PendingPing {
  resolve(ts: number): void;
  reject(err: Error): void;
}

const ignore = (): void => undefined;

export class Pinger {
  private pending: PendingPing[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private overdue = false;

  constructor(
    /** Writes a PING frame; false when it could not. */
    private readonly sendPing: () => boolean,
    /** Called when an interval PING went unanswered for a whole interval. */
    private readonly timedOut: () => void,
  ) {}

  /** Sends PING; resolves with the PONG's server time. */
  ping(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      if (!this.sendPing()) this.pending.pop()?.reject(new Error('not connected'));
    });
  }

  /** A PONG arrived: answers the oldest ping and proves the connection alive. */
  pong(ts: number): void {
    this.overdue = false;
    this.pending.shift()?.resolve(ts);
  }

  /** Pings every `everyMs` (0 or less: never) until `stop`. */
  start(everyMs: number): void {
    this.stop();
    if (everyMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.overdue) {
        this.timedOut();
        return;
      }
      this.overdue = true;
      this.pending.push({ resolve: ignore, reject: ignore });
      this.sendPing();
    }, everyMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.overdue = false;
  }

  /** Rejects every unanswered ping (its connection is gone). */
  failAll(err: Error): void {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) p.reject(err);
  }
}

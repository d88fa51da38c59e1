/**
 * Group commit: events appended by every actor during one event-loop turn are written
 * in one store call. One batch is in flight at a time, so batches (and with them ACKs
 * and fan-out) complete in the order their events were sequenced.
 */
import type { AppendItem, AppendResult, Store } from '../store';
import type { Metrics } from '../observability';

/** Called with the item's result, or the error that failed its whole batch. */
export type CommitCallback = (result: AppendResult | Error) => void;

const maxBatch = 256;

export class CommitQueue {
  private items: AppendItem[] = [];
  private callbacks: CommitCallback[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly metrics: Metrics,
  ) {}

  /** Queues one item; the callback runs after its batch is durable (or failed). */
  add(item: AppendItem, callback: CommitCallback): void {
    this.items.push(item);
    this.callbacks.push(callback);
    if (!this.scheduled && !this.inFlight) {
      this.scheduled = true;
      // setImmediate, not a microtask: every frame read in this turn joins the batch.
      setImmediate(this.flush);
    }
  }

  /** Resolves when everything queued so far is committed (used at shutdown). */
  async drain(): Promise<void> {
    while (this.inFlight || this.items.length > 0) {
      if (this.inFlight) await this.inFlight;
      else await this.runBatch();
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (!this.inFlight && this.items.length > 0) void this.runBatch();
  };

  private runBatch(): Promise<void> {
    const n = Math.min(this.items.length, maxBatch);
    const items = this.items.splice(0, n);
    const callbacks = this.callbacks.splice(0, n);
    this.inFlight = this.commit(items, callbacks).finally(() => {
      this.inFlight = null;
      if (this.items.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
    return this.inFlight;
  }

  private async commit(items: AppendItem[], callbacks: CommitCallback[]): Promise<void> {
    let results: AppendResult[];
    try {
      results = await this.store.appendEvents(items);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const cb of callbacks) cb(error);
      return;
    }
    this.metrics.commitBatch.observe(items.length);
    let written = 0;
    for (let i = 0; i < callbacks.length; i++) {
      if (results[i].status === 'ok') written++;
      callbacks[i](results[i]);
    }
    this.metrics.events.inc(written);
  }
}

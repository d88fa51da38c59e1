/**
 * The actor's in-memory dedup window for (sender, client_msg_id). It answers retries
 * that arrive while the original is still committing (they wait for its ACK) and fast
 * retries of recent sends without touching the store. Older duplicates are caught by the
 * store's unique key at commit, so the window can stay small.
 */
import type { AckResult } from './commands';

const capacity = 1024;

interface Pending {
  waiters: ((ack: AckResult) => void)[];
  failers: ((err: unknown) => void)[];
}

export class DedupWindow {
  private readonly done_ = new Map<string, AckResult>();
  private readonly pending = new Map<string, Pending>();

  /**
   * If `key` is known, arranges for `resolve` to get the original ACK marked duplicate
   * and returns true; returns false for a key never seen here.
   */
  answer(key: string, resolve: (ack: AckResult) => void, reject?: (err: unknown) => void): boolean {
    const ack = this.done_.get(key);
    if (ack) {
      resolve({ ...ack, duplicate: true });
      return true;
    }
    const p = this.pending.get(key);
    if (!p) return false;
    p.waiters.push((a) => resolve({ ...a, duplicate: true }));
    if (reject) p.failers.push(reject);
    return true;
  }

  /** Whether `key` is committing or was committed recently. */
  knows(key: string): boolean {
    return this.done_.has(key) || this.pending.has(key);
  }

  begin(key: string): void {
    this.pending.set(key, { waiters: [], failers: [] });
  }

  done(key: string, ack: AckResult): void {
    const p = this.pending.get(key);
    this.pending.delete(key);
    this.done_.set(key, { seq: ack.seq, ts: ack.ts, duplicate: false });
    if (this.done_.size > capacity) this.done_.delete(this.done_.keys().next().value as string);
    for (const w of p?.waiters ?? []) w(ack);
  }

  fail(key: string, err: unknown): void {
    const p = this.pending.get(key);
    this.pending.delete(key);
    for (const f of p?.failers ?? []) f(err);
  }
}

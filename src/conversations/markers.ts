/**
 * Coalesced read/delivered marker writes. READ and DELIVERED arrive far more often than
 * they need to be stored; actors keep the live value in memory and this writer stores
 * the highest value per (conversation, user) every `intervalMs`. Losing the last
 * interval in a crash only lowers a marker that the client re-sends anyway.
 */
import type { MarkerUpdate, Store } from '../store';
import type { Logger } from '../observability';

export class MarkerWriter {
  private pending = new Map<string, MarkerUpdate>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Records a forward-only marker; the larger of pending and new wins. */
  update(convId: string, userId: string, field: 'last_read_seq' | 'last_delivered_seq', seq: number): void {
    const entry = this.entry(convId, userId);
    const current = entry[field];
    if (current === undefined || seq > current) entry[field] = seq;
  }

  /** Records the "marked unread" flag; unlike the seqs, the latest value wins. */
  setMarkedUnread(convId: string, userId: string, value: boolean): void {
    this.entry(convId, userId).marked_unread = value;
  }

  private entry(convId: string, userId: string): MarkerUpdate {
    const key = convId + '\u0000' + userId;
    let entry = this.pending.get(key);
    if (!entry) this.pending.set(key, (entry = { conv_id: convId, user_id: userId }));
    return entry;
  }

  /** Writes everything pending; resolves when it is stored. Calls are serialised. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.store.saveMarkers(batch);
      } catch (err) {
        this.logger.error('marker flush failed; will retry', { err });
        // Put them back unless newer values arrived meanwhile (forward-only anyway).
        for (const u of batch) {
          if (u.last_read_seq !== undefined) this.update(u.conv_id, u.user_id, 'last_read_seq', u.last_read_seq);
          if (u.last_delivered_seq !== undefined) this.update(u.conv_id, u.user_id, 'last_delivered_seq', u.last_delivered_seq);
          // A flag set again since is newer than the one that failed to store.
          const now = this.entry(u.conv_id, u.user_id);
          if (u.marked_unread !== undefined && now.marked_unread === undefined) now.marked_unread = u.marked_unread;
        }
      }
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}

/**
 * Which users this shard knows cannot be pushed (no device registered for a provider this
 * server sends to), so a message among them opens no push window.
 *
 * Every notifying event of a conversation whose window is closed opened one: a job that
 * read the members and their registrations, five times a second per busy conversation,
 * even when nobody had registered a device (most web users). Here a window's job tells
 * what it found, and while that is fresh the next messages cost a map lookup.
 *
 * Only "none" is remembered; a user with devices is always left to the job. A stale "none"
 * would lose pushes, so it is forgotten when the user registers a device (on this shard at
 * once, on the others through the bus: `push_registered`), after `ttlMs` (which bounds a
 * lost bus message), and altogether after a bus outage. A job's read that began before the
 * last registration does not count.
 */

export interface PushReachOptions {
  /** How long a "no device" finding is trusted. */
  ttlMs: number;
  /** Most users remembered; the oldest findings go first. */
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  /** When the finding was read (or the registration seen): newer readings replace older ones. */
  at: number;
  /** True: no device as of `at`. False: a device was registered at `at` (a tombstone). */
  none: boolean;
}

export class PushReach {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly opts: PushReachOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** True when every one of `userIds` is freshly known to have no device; false if any may have one. */
  noneOf(userIds: readonly string[]): boolean {
    const cutoff = this.now() - this.opts.ttlMs;
    for (const id of userIds) {
      const e = this.entries.get(id);
      if (e === undefined || !e.none || e.at < cutoff) return false;
    }
    return true;
  }

  /** What a job read, starting at `readAt`: `withDevices` among `userIds` have devices, the rest none. */
  learn(userIds: readonly string[], withDevices: ReadonlySet<string>, readAt: number): void {
    for (const id of userIds) {
      const e = this.entries.get(id);
      // A registration seen after the read began: the read may have missed it.
      if (e !== undefined && e.at >= readAt) continue;
      if (withDevices.has(id)) this.entries.delete(id);
      else this.set(id, { at: readAt, none: true });
    }
  }

  /** The user registered a device: whatever was known of them no longer holds. */
  registered(userId: string): void {
    this.set(userId, { at: this.now(), none: false });
  }

  /** Forgets everything (after a bus outage: registrations on other shards may have gone unheard). */
  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private set(userId: string, entry: Entry): void {
    this.entries.delete(userId);
    this.entries.set(userId, entry);
    if (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}

/**
 * Conversation ids the store said do not exist, remembered briefly so that a client
 * repeating a bad id costs a map lookup, not a store read. Bounded in both size and age:
 * anyone can send any number of random ids, and a conversation created after its id was
 * looked up must not stay hidden (the service forgets the id when it learns of the creation;
 * the TTL covers what it cannot learn of).
 */

export interface MissingConversationsOptions {
  /** Most ids kept; the oldest are dropped first. */
  maxEntries: number;
  /** How long an answer of the store is trusted, in ms. */
  ttlMs: number;
}

export const defaultMissingConversations: Readonly<MissingConversationsOptions> = { maxEntries: 10_000, ttlMs: 10_000 };

export class MissingConversations {
  /** id -> when the entry expires. Map order is insertion order, so also expiry order (one TTL for all). */
  private readonly entries = new Map<string, number>();

  constructor(private readonly opts: MissingConversationsOptions = defaultMissingConversations) {}

  has(convId: string): boolean {
    const expires = this.entries.get(convId);
    if (expires === undefined) return false;
    if (expires > Date.now()) return true;
    this.entries.delete(convId);
    return false;
  }

  add(convId: string): void {
    // Re-inserting moves the id to the end, keeping the map in expiry order.
    this.entries.delete(convId);
    this.entries.set(convId, Date.now() + this.opts.ttlMs);
    const now = Date.now();
    for (const [id, expires] of this.entries) {
      if (this.entries.size <= this.opts.maxEntries && expires > now) break;
      this.entries.delete(id);
    }
  }

  /** The conversation was created: the store's earlier answer is wrong now. */
  forget(convId: string): void {
    this.entries.delete(convId);
  }

  get size(): number {
    return this.entries.size;
  }
}

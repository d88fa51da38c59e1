/**
 * Consistent-hash ring of shards with virtual nodes. Every shard builds the ring from the
 * same member list, so all agree on each conversation's owner once they agree on the
 * list; `version` names the list (a hash of the sorted ids), so shards can tell whether a
 * peer routed with the same ring. Pure: no I/O, cheap to rebuild on every change.
 */
import { createHash } from 'node:crypto';

/** Virtual nodes per shard: with 128, three shards own within a few percent of a third each. */
export const defaultVnodes = 128;

export class Ring {
  readonly version: string;
  readonly shards: readonly string[];
  /** Sorted positions and the shard at each. */
  private readonly points: Uint32Array;
  private readonly owners: string[];

  constructor(shardIds: Iterable<string>, vnodes = defaultVnodes) {
    this.shards = [...new Set(shardIds)].sort();
    this.version = createHash('sha1').update(this.shards.join('\n')).digest('hex').slice(0, 16);
    const entries: [number, string][] = [];
    for (const shard of this.shards) {
      for (let i = 0; i < vnodes; i++) entries.push([hash32(`${shard}#${i}`), shard]);
    }
    // Ties (two vnodes on one point) break by shard id, the same way on every shard.
    entries.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    this.points = Uint32Array.from(entries.map((e) => e[0]));
    this.owners = entries.map((e) => e[1]);
  }

  get empty(): boolean {
    return this.shards.length === 0;
  }

  /** The fraction of the hash space (so of conversations, on average) `shard` owns: 0 to 1. */
  share(shard: string): number {
    const n = this.points.length;
    if (n === 0) return 0;
    let owned = 0;
    // A vnode owns the arc from the previous point (exclusive) up to itself; the first
    // one also owns the wrap-around from the last point past 2^32.
    for (let i = 0; i < n; i++) {
      if (this.owners[i] !== shard) continue;
      owned += i === 0 ? this.points[0] + (2 ** 32 - this.points[n - 1]) : this.points[i] - this.points[i - 1];
    }
    return owned / 2 ** 32;
  }

  /** The shard owning `key`: the first vnode clockwise from the key's hash. */
  owner(key: string): string {
    if (this.owners.length === 0) throw new Error('ring: no shards');
    const h = hash32(key);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.points.length ? 0 : lo];
  }
}

/** First 32 bits of SHA-1: uniform, stable across processes and versions of Node. */
function hash32(text: string): number {
  return createHash('sha1').update(text).digest().readUInt32BE(0);
}

/**
 * Shard membership in Redis: each shard keeps a key with its address alive by heartbeat
 * (it expires `ttlMs` after the last one, so a crashed shard leaves within that time) and
 * its id in a set. Every shard polls the same keys and builds the same Ring from the
 * shards alive, so all converge on one ring version within a heartbeat or two.
 */
import { EventEmitter } from 'node:events';
import { Ring } from './ring';

/** The Redis calls Membership makes: set reads and writes, and MULTI for heartbeat and leave. */
export interface MembershipRedis {
  smembers(key: string): Promise<string[]>;
  /** One value per key, null where the key does not exist. */
  mget(keys: string[]): Promise<(string | null)[]>;
  srem(key: string, ...members: string[]): Promise<number>;
  multi(): MembershipTransaction;
}

/** Commands queued in MULTI, run atomically by exec(). */
export interface MembershipTransaction {
  set(key: string, value: string, px: 'PX', milliseconds: number): MembershipTransaction;
  sadd(key: string, member: string): MembershipTransaction;
  srem(key: string, member: string): MembershipTransaction;
  del(key: string): MembershipTransaction;
  /** One [error, reply] per command, in order; null if the transaction was aborted. */
  exec(): Promise<[error: Error | null, reply: unknown][] | null>;
}

export interface ShardInfo {
  id: string;
  /** Base URL peers use for the shard link (http://host:port). */
  url: string;
  since: number;
}

export interface MembershipOptions {
  redis: MembershipRedis;
  prefix: string;
  self: ShardInfo;
  heartbeatMs: number;
  /** A shard silent this long is gone; a few heartbeats. */
  ttlMs: number;
}

/** Emits 'change' (ring, previous ring) whenever the set of live shards changes. */
export class Membership extends EventEmitter {
  private current: Ring = new Ring([]);
  private infos = new Map<string, ShardInfo>();
  /** Peers of the ring missing from Redis, and since when (this shard's clock). */
  private readonly absentSince = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: MembershipOptions) {
    super();
  }

  /** This shard's record; its url may be set until start(). */
  get self(): ShardInfo {
    return this.opts.self;
  }

  get ring(): Ring {
    return this.current;
  }

  info(shardId: string): ShardInfo | undefined {
    return this.infos.get(shardId);
  }

  private get setKey(): string {
    return `${this.opts.prefix}shards`;
  }

  private shardKey(id: string): string {
    return `${this.opts.prefix}shard:${id}`;
  }

  /** Set by a shard that stops gracefully, so peers drop it at once instead of after the grace. */
  private leftKey(id: string): string {
    return `${this.opts.prefix}left:${id}`;
  }

  /** Announces this shard, reads the others, and keeps both up to date. */
  async start(): Promise<void> {
    await this.beat();
    await this.poll();
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.beat().then(() => this.poll())).catch(() => undefined);
    }, this.opts.heartbeatMs);
    this.timer.unref();
  }

  /** Polls now (after a peer said our ring is stale) and resolves when done. */
  refresh(): Promise<void> {
    this.polling = this.polling.then(() => this.poll()).catch(() => undefined);
    return this.polling;
  }

  /** Leaves the ring at once (graceful stop) instead of waiting for the key to expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.polling;
    const { redis: r, self, ttlMs } = this.opts;
    await r.multi().del(this.shardKey(self.id)).srem(this.setKey, self.id).set(this.leftKey(self.id), '1', 'PX', 2 * ttlMs).exec();
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    const { redis, self, ttlMs } = this.opts;
    await redis.multi().set(this.shardKey(self.id), JSON.stringify(self), 'PX', ttlMs).sadd(this.setKey, self.id).exec();
  }

  private async poll(): Promise<void> {
    const { redis } = this.opts;
    const ids = await redis.smembers(this.setKey);
    const values = ids.length === 0 ? [] : await redis.mget(ids.map((id) => this.shardKey(id)));
    const infos = new Map<string, ShardInfo>();
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const raw = values[i];
      if (raw === null || raw === undefined) gone.push(id);
      else infos.set(id, JSON.parse(raw) as ShardInfo);
    });
    // Expired members leave the set too, so it does not grow with every crashed shard.
    if (gone.length > 0) await redis.srem(this.setKey, ...gone);
    if (this.stopped) return;
    // A peer of the ring that is missing from Redis stays in the ring for another ttlMs
    // unless it said it left. Its key expiring already means ttlMs of silence, so a crash
    // is noticed within 2 x ttlMs; but a Redis restart empties every key at once, and
    // without this grace each shard would see a ring of itself until the others beat
    // again: two owners per conversation, and events out of order.
    const now = Date.now();
    const missing = this.current.shards.filter((id) => !infos.has(id) && id !== this.opts.self.id);
    const left = missing.length === 0 ? [] : await redis.mget(missing.map((id) => this.leftKey(id)));
    missing.forEach((id, i) => {
      const since = this.absentSince.get(id) ?? now;
      this.absentSince.set(id, since);
      const previous = this.infos.get(id);
      if (left[i] === null && now - since < this.opts.ttlMs && previous) infos.set(id, previous);
    });
    for (const id of [...this.absentSince.keys()]) if (!missing.includes(id)) this.absentSince.delete(id);
    // This shard is always in its own ring while it runs (its key may be lost with Redis).
    if (!infos.has(this.opts.self.id)) infos.set(this.opts.self.id, this.opts.self);
    const ring = new Ring(infos.keys());
    this.infos = infos;
    if (ring.version === this.current.version) return;
    const previous = this.current;
    this.current = ring;
    this.emit('change', ring, previous);
  }
}

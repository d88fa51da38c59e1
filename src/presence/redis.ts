import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { HeartbeatResult, Presence, PresenceInfo } from './index';

/**
 * The Redis calls RedisPresence makes: its three Lua scripts (EVALSHA, EVAL once when the
 * server lacks the script) and the pipelined reads of locate() and get().
 */
export interface PresenceRedis {
  evalsha(sha1: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  pipeline(): PresenceReads;
}

/** Commands queued on a pipeline, sent in one round trip by exec(). */
export interface PresenceReads {
  zrangebyscore(key: string, min: string, max: string): PresenceReads;
  hkeys(key: string): PresenceReads;
  hgetall(key: string): PresenceReads;
  /** One [error, reply] per command, in order; null if the pipeline was discarded. */
  exec(): Promise<[error: Error | null, reply: unknown][] | null>;
}

export interface RedisPresenceOptions {
  /** Prepended to every key (e.g. "relay:"), so several deployments or test runs can share one Redis. */
  prefix?: string;
  /**
   * How long a gateway's registration lasts without a heartbeat (ms). Its sessions stop
   * counting when it lapses, and the next heartbeat of any gateway reaps them. Gateways
   * must heartbeat several times per ttl.
   */
  ttlMs?: number;
  /** How long an offline user's last_seen is kept (ms). */
  lastSeenTtlMs?: number;
  /** ms since epoch; tests may substitute it. Shards' clocks are assumed in sync to well under ttlMs. */
  clock?: () => number;
}

const defaults = { prefix: '', ttlMs: 15_000, lastSeenTtlMs: 30 * 24 * 3600 * 1000 };
// Reaping is one script; bounding the gateways per call bounds how long it blocks Redis.
const maxReapedPerHeartbeat = 4;

/**
 * Presence and socket map in Redis (see the contract in index.ts). Keys, under the prefix:
 *
 * - `gateways`: sorted set, gateway id -> deadline of its registration (last heartbeat + ttl).
 * - `user:<id>`: hash of the user's sessions, field `<gateway>/<session>`; plus `online` (set
 *   while the user's announced state is online) and `seen` (last_seen). Expires
 *   `lastSeenTtlMs` after the user went offline.
 * - `gw:<id>`: set of users with sessions on that gateway, so a reaper finds them.
 *
 * A session counts while its gateway's registration is fresh, so a crashed gateway's users
 * read as offline within ttl. The next heartbeat of any gateway reaps it: removes its
 * sessions and reports the users that went offline, for the caller to announce. Every
 * transition is one Lua script flipping the `online` field, so concurrent calls from any
 * number of gateways see each transition exactly once. Needs a single Redis (no Cluster:
 * the reaper names keys itself). The Redis connection is borrowed: close() leaves it open.
 */
export class RedisPresence implements Presence {
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly lastSeenTtlMs: number;
  private readonly clock: () => number;
  private readonly gatewaysKey: string;

  constructor(
    private readonly redis: PresenceRedis,
    opts: RedisPresenceOptions = {},
  ) {
    this.prefix = opts.prefix ?? defaults.prefix;
    this.ttlMs = opts.ttlMs ?? defaults.ttlMs;
    this.lastSeenTtlMs = opts.lastSeenTtlMs ?? defaults.lastSeenTtlMs;
    this.clock = opts.clock ?? Date.now;
    this.gatewaysKey = `${this.prefix}gateways`;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs < 1) throw new RangeError(`presence: ttlMs must be a positive integer, got ${this.ttlMs}`);
  }

  async addSession(userId: string, gatewayId: string, sessionId: string, deviceId = ''): Promise<{ becameOnline: boolean }> {
    const flipped = await this.run(addSession, [this.gatewaysKey, this.userKey(userId), this.gatewayKey(gatewayId)], [
      checkGatewayId(gatewayId),
      `${gatewayId}/${sessionId}`,
      userId,
      this.clock(),
      // The field's value: its device ('1' for none, as fields were before devices were kept).
      deviceId === '' ? '1' : `d:${deviceId}`,
    ]);
    return { becameOnline: flipped === 1 };
  }

  async removeSession(userId: string, gatewayId: string, sessionId: string, now: number): Promise<{ becameOffline: boolean }> {
    const flipped = await this.run(removeSession, [this.gatewaysKey, this.userKey(userId), this.gatewayKey(gatewayId)], [
      checkGatewayId(gatewayId),
      `${gatewayId}/${sessionId}`,
      userId,
      this.clock(),
      now,
      this.lastSeenTtlMs,
    ]);
    return { becameOffline: flipped === 1 };
  }

  async heartbeat(gatewayId: string): Promise<HeartbeatResult> {
    const reply = (await this.run(heartbeat, [this.gatewaysKey], [
      checkGatewayId(gatewayId),
      this.clock(),
      this.ttlMs,
      this.prefix,
      this.lastSeenTtlMs,
      maxReapedPerHeartbeat,
    ])) as (number | string)[];
    const wentOffline: HeartbeatResult['wentOffline'] = [];
    for (let i = 1; i < reply.length; i += 2) wentOffline.push({ user_id: String(reply[i]), last_seen: Number(reply[i + 1]) });
    return { lapsed: reply[0] === 1, wentOffline };
  }

  /** One round trip: the live gateways and every user's session fields, pipelined. */
  async locate(userIds: Iterable<string>): Promise<Map<string, string[]>> {
    const users = [...userIds];
    const out = new Map<string, string[]>();
    if (users.length === 0) return out;
    const pipeline = this.redis.pipeline().zrangebyscore(this.gatewaysKey, `(${this.clock()}`, '+inf');
    for (const userId of users) pipeline.hkeys(this.userKey(userId));
    const replies = await execPipeline(pipeline);
    const live = new Set(replies[0] as string[]);
    for (let i = 0; i < users.length; i++) {
      const seen = new Set<string>();
      for (const field of replies[i + 1] as string[]) {
        const slash = field.indexOf('/');
        if (slash < 0) continue;
        const gatewayId = field.slice(0, slash);
        if (!live.has(gatewayId) || seen.has(gatewayId)) continue;
        seen.add(gatewayId);
        const list = out.get(gatewayId);
        if (list) list.push(users[i]);
        else out.set(gatewayId, [users[i]]);
      }
    }
    return out;
  }

  /** One round trip, like locate: session fields of live gateways, their values naming the device. */
  async liveDevices(userIds: readonly string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    if (userIds.length === 0) return out;
    const pipeline = this.redis.pipeline().zrangebyscore(this.gatewaysKey, `(${this.clock()}`, '+inf');
    for (const userId of userIds) pipeline.hgetall(this.userKey(userId));
    const replies = await execPipeline(pipeline);
    const live = new Set(replies[0] as string[]);
    userIds.forEach((userId, i) => {
      const devices = new Set<string>();
      for (const [field, value] of Object.entries(replies[i + 1] as Record<string, string>)) {
        const slash = field.indexOf('/');
        if (slash >= 0 && live.has(field.slice(0, slash)) && value.startsWith('d:')) devices.add(value.slice(2));
      }
      if (devices.size > 0) out.set(userId, devices);
    });
    return out;
  }

  async get(userIds: readonly string[]): Promise<PresenceInfo[]> {
    if (userIds.length === 0) return [];
    const pipeline = this.redis.pipeline().zrangebyscore(this.gatewaysKey, `(${this.clock()}`, '+inf');
    for (const userId of userIds) pipeline.hgetall(this.userKey(userId));
    const replies = await execPipeline(pipeline);
    const live = new Set(replies[0] as string[]);
    return userIds.map((user_id, i) => {
      const hash = replies[i + 1] as Record<string, string>;
      const online = Object.keys(hash).some((field) => {
        const slash = field.indexOf('/');
        return slash >= 0 && live.has(field.slice(0, slash));
      });
      return { user_id, online, last_seen: hash.seen === undefined ? null : Number(hash.seen) };
    });
  }

  async close(): Promise<void> {}

  private userKey(userId: string): string {
    return `${this.prefix}user:${userId}`;
  }

  private gatewayKey(gatewayId: string): string {
    return `${this.prefix}gw:${gatewayId}`;
  }

  /** EVALSHA, falling back to EVAL once when the server does not know the script yet. */
  private async run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.redis.eval(script.source, keys.length, ...keys, ...args);
    }
  }
}

interface LuaScript {
  source: string;
  sha: string;
}

const addSession = loadScript('add-session-3.lua');
const removeSession = loadScript('remove-session-3.lua');
const heartbeat = loadScript('heartbeat-1.lua');

/** Reads a .lua file of this folder; falls back to the source tree when the build did not copy it. */
function loadScript(name: string): LuaScript {
  const candidates = [path.join(__dirname, name), path.join(__dirname, '..', '..', 'src', 'presence', name)];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) throw new Error(`presence: ${name} not found (looked in ${candidates.join(', ')})`);
  const source = fs.readFileSync(file, 'utf8');
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Session fields are "<gateway>/<session>", so a gateway id must not contain "/". */
function checkGatewayId(gatewayId: string): string {
  if (gatewayId === '' || gatewayId.includes('/')) throw new Error(`presence: invalid gateway id "${gatewayId}"`);
  return gatewayId;
}

async function execPipeline(pipeline: PresenceReads): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

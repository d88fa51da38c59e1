/**
 * What S7 needs beyond the other scenarios: the shared engines (Redis and Cassandra, as
 * started by scripts/services/all.sh), a keyspace seeded through the project's own
 * CassandraStore, and shards of our server started on it with BUS=redis, ready once every
 * shard sees the same ring.
 */
import path from 'node:path';
import Redis from 'ioredis';
import { generateVAPIDKeys } from 'web-push';
import { connectCassandra, type CassandraConfig } from '../src/cassandra';
import { Ring } from '../src/cluster/ring';
import { CassandraStore } from '../src/store';
import { sleep } from './clock';
import { directConversation } from './seed';
import type { Ctx } from './context';
import { startOurs, type Target } from './target';

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const contactPoints = (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',').map((s) => s.trim()).filter(Boolean);

export function cassandraConfig(keyspace: string): CassandraConfig {
  return { contactPoints, localDataCenter: 'datacenter1', keyspace, replicationFactor: 1, consistency: 'LOCAL_QUORUM', serialConsistency: 'LOCAL_SERIAL' };
}

function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  return Promise.race([work, sleep(ms).then(() => Promise.reject(new Error(`${what}: no answer in ${ms / 1000} s`)))]);
}

/** Null when Redis answers PING; otherwise why not. */
export async function redisDown(): Promise<string | null> {
  const r = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await within(3000, `Redis at ${redisUrl}`, r.connect().then(() => r.ping()));
    return null;
  } catch (err) {
    return `Redis at ${redisUrl} not answering (${(err as Error).message}); start it with scripts/services/all.sh start`;
  } finally {
    r.disconnect();
  }
}

export interface SeededCluster {
  /** senders[i] and receivers[i] share convs[i]. */
  senders: string[];
  receivers: string[];
  convs: string[];
}

/**
 * Creates `keyspace` and seeds `pairs` direct conversations whose owner on the ring of
 * `shardIds` is `owner` (so the scenario knows which shard each side must avoid).
 */
export async function seedCluster(keyspace: string, run: string, pairs: number, shardIds: string[], owner: string): Promise<SeededCluster> {
  const ring = new Ring(shardIds);
  const db = await within(60_000, `Cassandra at ${contactPoints.join(',')}`, connectCassandra(cassandraConfig(keyspace)));
  const out: SeededCluster = { senders: [], receivers: [], convs: [] };
  try {
    const store = await CassandraStore.open(db);
    const now = Date.now();
    for (let n = 0; out.convs.length < pairs; n++) {
      const conv = `c_s7_${run}_${n}`;
      if (ring.owner(conv) !== owner) continue;
      const i = out.convs.length;
      out.convs.push(conv);
      out.senders.push(`u_s7_${run}_s${i}`);
      out.receivers.push(`u_s7_${run}_r${i}`);
    }
    // A few writes in flight at a time: the seed takes seconds, not minutes.
    for (let i = 0; i < pairs; i += 20) {
      await Promise.all(
        out.convs.slice(i, i + 20).map(async (conv_id, k) => {
          const [s, r] = [out.senders[i + k], out.receivers[i + k]];
          for (const user_id of [s, r]) {
            await store.createUser({ user_id, username: user_id.slice(2), display_name: user_id, password_hash: 'scrypt$bench$not-a-real-hash', created_at: now });
          }
          await store.createConversation(directConversation(conv_id, s, r, now));
        }),
      );
    }
    await store.close();
  } finally {
    await db.close();
  }
  return out;
}

export async function dropKeyspace(keyspace: string): Promise<void> {
  const db = await connectCassandra(cassandraConfig(keyspace));
  try {
    await db.client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await db.close();
  }
}

/** Deletes what shards left under `prefix` (presence, socket map). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  r.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** Starts one shard per id on Cassandra and Redis and waits until all see the same ring. */
export async function startShards(ctx: Ctx, ids: string[], env: Record<string, string>, tag: string): Promise<Target[]> {
  // The shards of one cluster sign Web Push with one pair (required with BUS=redis).
  const vapid = generateVAPIDKeys();
  const started = await Promise.allSettled(
    ids.map((id) =>
      startOurs({
        dataDir: path.join(ctx.workDir, `s7-${id}`),
        secret: ctx.secret,
        sqliteSync: ctx.params.sqliteSync,
        inspect: false,
        cpuProfile: ctx.profileDir ? { dir: ctx.profileDir, name: `S7-ours-${tag}-${id}.cpuprofile` } : null,
        logFile: path.join(ctx.workDir, `server-S7-${tag}-${id}.log`),
        main: ctx.serverMain,
        env: { ...env, SHARD_ID: id, STORE: 'cassandra', BUS: 'redis', PUSH_VAPID_PUBLIC_KEY: vapid.publicKey, PUSH_VAPID_PRIVATE_KEY: vapid.privateKey, REDIS_URL: redisUrl, CASSANDRA_CONTACT_POINTS: contactPoints.join(',') },
      }),
    ),
  );
  const targets = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(targets.map((t) => t.stop()));
    throw failed.reason;
  }
  const version = new Ring(ids).version;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const views = await Promise.all(targets.map(async (t) => ((await (await fetch(`${t.http}/healthz`)).json()) as { ring?: { version: string } }).ring?.version));
    if (views.every((v) => v === version)) return targets;
    if (Date.now() > deadline) {
      await Promise.all(targets.map((t) => t.stop()));
      throw new Error(`S7: the ring of ${ids.join(', ')} did not settle in 20 s`);
    }
    await sleep(100);
  }
}

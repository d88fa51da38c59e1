/**
 * Shard processes for the cluster suites: each suite (or test) gets a cluster id that names
 * its Cassandra keyspace and Redis prefix, spawns `dist/main.js` shards with STORE=cassandra
 * and BUS=redis, and waits for every live shard to show the same ring on /healthz.
 * Also a private redis-server child, for tests that must kill and restart Redis without
 * touching the shared one on 6379.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';
import { generateVAPIDKeys } from 'web-push';
import { http, sleep, spawnServer, type ChildServer } from '../e2e/harness';

export interface ClusterEnv {
  /** Random hex naming this run. */
  run: string;
  keyspace: string;
  /** Shared by every shard: links authenticate and tokens verify with it. */
  secret: string;
  /** The cluster's one Web Push pair (the server requires it with BUS=redis). */
  vapid: { publicKey: string; privateKey: string };
  redisUrl: string;
  redisPrefix: string;
}

/** A fresh cluster identity; `keyspacePrefix` like `it_cluster` (the run's hex is appended). */
export function newClusterEnv(keyspacePrefix: string, redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): ClusterEnv {
  const run = randomBytes(4).toString('hex');
  return { run, keyspace: `${keyspacePrefix}_${run}`, secret: randomBytes(32).toString('base64url'), vapid: generateVAPIDKeys(), redisUrl, redisPrefix: `it${run}:` };
}

/** The environment of shard `id`: fast membership (200 ms beats, 1 s TTL), generous rate limits. */
export function shardEnv(env: ClusterEnv, id: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    STORE: 'cassandra',
    BUS: 'redis',
    JWT_SECRET: env.secret,
    PUSH_VAPID_PUBLIC_KEY: env.vapid.publicKey,
    PUSH_VAPID_PRIVATE_KEY: env.vapid.privateKey,
    SHARD_ID: id,
    CASSANDRA_KEYSPACE: env.keyspace,
    CASSANDRA_CONTACT_POINTS: process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042',
    REDIS_URL: env.redisUrl,
    REDIS_PREFIX: env.redisPrefix,
    CLUSTER_HEARTBEAT_MS: '200',
    CLUSTER_SHARD_TTL_MS: '1000',
    RATE_LIMIT_PER_SECOND: '1000',
    RATE_LIMIT_BURST: '1000',
    // Every client is 127.0.0.1: a 250-member group connects from one address.
    SESSION_OPEN_PER_SECOND: '1000',
    SESSION_OPEN_BURST: '1000',
    MAX_PENDING_PER_ADDRESS: '1000',
    MARKER_FLUSH_MS: '50',
    LINK_PREVIEWS: 'off',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/**
 * Spawns shards `ids`: the first alone (it creates the keyspace and tables; concurrent
 * CREATEs on a fresh keyspace can disagree), the rest in parallel.
 */
export async function spawnShards(env: ClusterEnv, ids: string[], extra: Record<string, string> = {}): Promise<Map<string, ChildServer>> {
  const shards = new Map<string, ChildServer>();
  const [first, ...rest] = ids;
  shards.set(first, await spawnServer(shardEnv(env, first, extra)));
  const others = await Promise.all(rest.map((id) => spawnServer(shardEnv(env, id, extra))));
  rest.forEach((id, i) => shards.set(id, others[i]));
  return shards;
}

/** Waits until every shard in `shards` reports ring `version` on /healthz. */
export async function waitForRing(shards: ChildServer[], version: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(shards.map((s) => http(s.url, 'GET', '/healthz').catch((err: Error) => ({ status: 0, body: { error: err.message } as any }))));
    if (views.every((v) => v.body.ring?.version === version)) return;
    if (Date.now() > deadline) throw new Error(`ring did not settle on ${version}: ${JSON.stringify(views.map((v) => v.body))}`);
    await sleep(100);
  }
}

/** SIGTERMs every shard still running and waits for them to exit (SIGKILL after `graceMs`). */
export async function stopShards(shards: Iterable<ChildServer>, graceMs = 15_000): Promise<void> {
  await Promise.all(
    [...shards].map(async (s) => {
      if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
      s.proc.kill('SIGTERM');
      const t = setTimeout(() => s.proc.kill('SIGKILL'), graceMs);
      await s.exited;
      clearTimeout(t);
    }),
  );
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of this test alone (no persistence: a restart comes back empty, like
 * `SHUTDOWN NOSAVE`), so killing it touches no one else's Redis.
 */
export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server and resolves once it answers PING. */
  async start(): Promise<void> {
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: 'ignore',
    });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        // not up yet
      } finally {
        probe.disconnect();
      }
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
      await sleep(50);
    }
  }

  /** SIGKILLs the server (every connection drops, every key is gone) and waits for it to exit. */
  async kill(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGKILL');
    await this.exited;
    this.proc = null;
  }
}

/** A shard's `/metrics` as `name{labels}` → value (labels as prom-client writes them). */
export async function shardMetrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

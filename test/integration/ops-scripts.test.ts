/**
 * The operator scripts against the real engines: scripts/cluster.sh places shards on any
 * ports, keeps each shard's log across restarts, stops one shard by name, and the ring
 * each shard sees is in /metrics; the services scripts never wipe a running store.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ring } from '../../src/cluster/ring';
import { sleep } from '../e2e/harness';
import { dropKeyspace } from './cassandra-env';
import { freePort, newClusterEnv, shardEnv, shardMetrics } from './cluster-env';

jest.setTimeout(180_000);

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const env = newClusterEnv('it_ops');
const dir = mkdtempSync(join(tmpdir(), 'cluster-sh-'));
// A shard's usual test environment; cluster.sh names the shards, engines and ports itself.
const { SHARD_ID: _id, STORE: _store, BUS: _bus, ...shardSettings } = shardEnv(env, 'unused');
const scriptEnv = { ...process.env, ...shardSettings, CLUSTER_DIR: dir };
const cluster = (...args: string[]) => run(join(root, 'scripts', 'cluster.sh'), args, { env: scriptEnv, timeout: 150_000 });

afterAll(async () => {
  await cluster('stop').catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  await dropKeyspace(env.keyspace);
}, 60_000);

async function waitForMembers(port: number, n: number): Promise<Map<string, number>> {
  for (let i = 0; ; i++) {
    const m = await shardMetrics(`http://127.0.0.1:${port}`);
    if (m.get('chat_ring_members') === n || i > 100) return m;
    await sleep(100);
  }
}

test('cluster.sh: shards on non-consecutive ports, the ring in /metrics, one shard restarted by name with its log kept', async () => {
  // Two free ports that are not neighbours.
  const ports: number[] = [];
  while (ports.length < 2) {
    const p = await freePort();
    if (ports.every((q) => Math.abs(q - p) > 1)) ports.push(p);
  }
  const started = await cluster('start', '--ports', ports.join(','));
  expect(started.stdout).toContain('cluster: 2 shards ready');
  const two = new Ring(['shard-1', 'shard-2']);
  for (const [i, port] of ports.entries()) {
    const m = await waitForMembers(port, 2);
    expect(m.get('chat_ring_members')).toBe(2);
    expect(m.get(`chat_ring_version_info{version="${two.version}"}`)).toBe(1);
    expect(m.get('chat_ring_owned_share')).toBeCloseTo(two.share(`shard-${i + 1}`), 6);
    expect(m.get('chat_ring_changes_total')).toBeGreaterThanOrEqual(1);
  }
  expect((await cluster('status')).stdout).toContain(`shard-2 running on port ${ports[1]}`);

  // One shard stops by name; the other sees a ring of one.
  await cluster('stop', 'shard-2');
  expect((await cluster('status')).stdout).toMatch(/shard-2 stopped/);
  expect((await waitForMembers(ports[0], 1)).get(`chat_ring_version_info{version="${new Ring(['shard-1']).version}"}`)).toBe(1);

  // Started again the same way: the running shard is left alone, shard-2's log grows.
  const logBefore = readFileSync(join(dir, 'shard-2.log'), 'utf8');
  const again = await cluster('start', '--ports', ports.join(','));
  expect(again.stdout).toMatch(/shard-1 already running/);
  const log = readFileSync(join(dir, 'shard-2.log'), 'utf8');
  expect(log.startsWith(logBefore)).toBe(true);
  expect(log.match(/^----- start /gm)).toHaveLength(2);
  expect((await waitForMembers(ports[1], 2)).get('chat_ring_members')).toBe(2);

  // Bad arguments are refused before anything starts.
  await expect(cluster('start', '--ports', `${ports[0]},${ports[0]}`)).rejects.toMatchObject({ code: 2 });
  await expect(cluster('start', '--ports', '80x')).rejects.toMatchObject({ code: 2 });
  await expect(cluster('start', '--ports', '08081')).rejects.toMatchObject({ code: 2 });
  await expect(cluster('stop', '../etc')).rejects.toMatchObject({ code: 2 });
});

// Only where this clone's script started the node (CI does); elsewhere the node is someone
// else's and there is no pid file to go by.
const ownNode = existsSync(join(root, '.cache', 'cassandra', 'cassandra.pid'));
(ownNode ? test : test.skip)('the services scripts refuse to wipe a running Cassandra, and its data stays', async () => {
  const data = join(root, '.cache', 'cassandra', 'data');
  await expect(run(join(root, 'scripts', 'services', 'cassandra.sh'), ['wipe'])).rejects.toMatchObject({ code: 1 });
  expect(existsSync(data)).toBe(true);
  await expect(run(join(root, 'scripts', 'services', 'all.sh'), ['check'])).resolves.toBeDefined();
});

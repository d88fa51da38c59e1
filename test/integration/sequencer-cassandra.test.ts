/**
 * CassandraSequencer against a real Cassandra (CASSANDRA_CONTACT_POINTS, CASSANDRA_DC,
 * CASSANDRA_KEYSPACE; defaults: 127.0.0.1:9042, datacenter1, relay_it_sequencer). Every
 * sequencer opens its own connection, as separate shards would.
 */
import { connectCassandra, type Cassandra, type CassandraConfig } from '../../src/cassandra';
import { newId } from '../../src/protocol';
import { CassandraSequencer, type SeqRange } from '../../src/sequencer';
import { expectDisjoint, runSequencerContract } from '../sequencer/contract';

jest.setTimeout(120_000);

function config(): CassandraConfig {
  const env = process.env;
  return {
    contactPoints: (env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',').map((s) => s.trim()),
    localDataCenter: env.CASSANDRA_DC ?? 'datacenter1',
    keyspace: env.CASSANDRA_KEYSPACE ?? 'relay_it_sequencer',
    replicationFactor: 1,
    consistency: 'LOCAL_QUORUM',
    serialConsistency: 'LOCAL_SERIAL',
  };
}

/** Opens sequencers on connections of their own; close() closes the connections. */
function shards(): { open(): Promise<CassandraSequencer>; close(): Promise<void> } {
  const connections: Cassandra[] = [];
  return {
    open: async () => {
      const db = await connectCassandra(config());
      connections.push(db);
      return CassandraSequencer.open(db);
    },
    // The sequencer borrows its connection; the owner (here the harness) closes it.
    close: async () => {
      await Promise.all(connections.splice(0).map((c) => c.close()));
    },
  };
}

runSequencerContract('cassandra', async () => {
  const s = shards();
  return { open: s.open, cleanup: s.close };
});

describe('CassandraSequencer, two shards racing on one conversation', () => {
  const s = shards();
  afterAll(() => s.close());

  it('never issues a seq twice and leaves no gap across 400 concurrent reservations', async () => {
    const [one, two] = [await s.open(), await s.open()];
    const conv = newId('c');
    const calls: Promise<SeqRange & { by: number }>[] = [];
    let requested = 0;
    for (let i = 0; i < 400; i++) {
      const count = 1 + Math.floor(Math.random() * 64);
      requested += count;
      const by = i % 2;
      calls.push((by === 0 ? one : two).reserve(conv, count).then((r) => ({ ...r, by })));
    }
    const ranges = await Promise.all(calls);
    const sorted = expectDisjoint(ranges) as (SeqRange & { by: number })[];
    // Gap-free union starting at 1: every seq in [1, requested + 1) was issued exactly once.
    expect(sorted[0].start).toBe(1);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].start).toBe(sorted[i - 1].end);
    expect(sorted[sorted.length - 1].end).toBe(requested + 1);
    // The two shards really interleaved (otherwise this proves nothing about the fence).
    const switches = sorted.filter((r, i) => i > 0 && r.by !== sorted[i - 1].by).length;
    expect(switches).toBeGreaterThan(0);
    // A third shard arriving later continues above everything issued.
    const late = await s.open();
    expect(await late.reserve(conv, 1)).toEqual({ start: requested + 1, end: requested + 2 });
  });

  it('a shard with a stale view of the counter is fenced and moves past the other', async () => {
    const [one, two] = [await s.open(), await s.open()];
    const conv = newId('c');
    expect(await one.reserve(conv, 64)).toEqual({ start: 1, end: 65 });
    expect(await two.reserve(conv, 64)).toEqual({ start: 65, end: 129 });
    // `one` still believes next = 65; its conditional write fails and it retries above 129.
    expect(await one.reserve(conv, 64)).toEqual({ start: 129, end: 193 });
  });
});

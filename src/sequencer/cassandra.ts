/** The distributed sequencer: per-conversation counters advanced by Cassandra lightweight transactions. */
import { types } from 'cassandra-driver';
import { applyCqlFile, cqlFile, type Cassandra } from '../cassandra';
import type { SeqRange, Sequencer } from './index';
import { ContentionError } from '../observability';

// Each lost race means another shard advanced the row; this many in a row means something is
// wrong (a writer stuck in a loop, a node that keeps timing out), and failing beats spinning.
const maxAttempts = 1000;
// Last `next` this instance saw per conversation, so the usual reserve (this shard owns the
// conversation) is one LWT instead of a read plus an LWT. Bounded: oldest entries go first.
const maxCachedConvs = 10_000;

const selectNext = 'SELECT next FROM conv_seq WHERE conv_id = ?';
const insertFirst = 'INSERT INTO conv_seq (conv_id, next) VALUES (?, ?) IF NOT EXISTS';
const advanceNext = 'UPDATE conv_seq SET next = ? WHERE conv_id = ? IF next = ?';

/**
 * Sequencer on a Cassandra connection (see the Sequencer contract in index.ts). Every
 * reservation is a conditional write on the value last seen (`IF next = ?`, Paxos at the
 * connection's serial consistency, LOCAL_SERIAL by default); a lost race retries with the
 * current value the failed write returns. Calls for one conversation are chained inside
 * this instance, so one shard never contends with itself. The connection is borrowed:
 * close() stops this sequencer but leaves the connection open for its owner.
 */
export class CassandraSequencer implements Sequencer {
  private readonly known = new Map<string, number>();
  private readonly tails = new Map<string, Promise<unknown>>();
  private closed = false;

  private constructor(private readonly db: Cassandra) {}

  /** Creates the conv_seq table when missing and returns a sequencer on `db`. */
  static async open(db: Cassandra): Promise<CassandraSequencer> {
    await applyCqlFile(db.client, cqlFile(__dirname, 'cassandra.cql'));
    return new CassandraSequencer(db);
  }

  reserve(convId: string, count: number): Promise<SeqRange> {
    if (this.closed) return Promise.reject(new Error('sequencer: closed'));
    if (!Number.isSafeInteger(count) || count < 1) {
      return Promise.reject(new RangeError(`reserve count must be a positive integer, got ${count}`));
    }
    const previous = this.tails.get(convId) ?? Promise.resolve();
    const next = previous.then(
      () => this.reserveNow(convId, count),
      () => this.reserveNow(convId, count),
    );
    this.tails.set(convId, next);
    const forget = (): void => {
      if (this.tails.get(convId) === next) this.tails.delete(convId);
    };
    next.then(forget, forget);
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async reserveNow(convId: string, count: number): Promise<SeqRange> {
    if (this.closed) throw new Error('sequencer: closed');
    const { client, consistency, serialConsistency } = this.db;
    const options = { prepare: true, consistency, serialConsistency };
    let expected = this.known.get(convId) ?? (await this.readNext(convId));
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      let result: types.ResultSet;
      try {
        result =
          expected === null
            ? await client.execute(insertFirst, [convId, types.Long.fromNumber(1 + count)], options)
            : await client.execute(advanceNext, [types.Long.fromNumber(expected + count), convId, types.Long.fromNumber(expected)], options);
      } catch (err) {
        // A timed-out LWT may still be applied later; its range is never returned, so the
        // worst case is a leaked range. Read again and retry.
        if (!isWriteTimeout(err)) throw err;
        this.known.delete(convId);
        expected = await this.readNext(convId);
        continue;
      }
      const row = result.first();
      const start = expected ?? 1;
      if (row.get('[applied]') === true) {
        this.remember(convId, start + count);
        return { start, end: start + count };
      }
      // Lost the race: the [applied]=false row carries the current value (absent when the
      // row itself is missing, which sends us back to INSERT ... IF NOT EXISTS).
      const current = row.get('next') as types.Long | null | undefined;
      expected = current == null ? null : current.toNumber();
    }
    this.known.delete(convId);
    throw new ContentionError(`sequencer: lost ${maxAttempts} races in a row for ${convId}`);
  }

  /** The stored `next`, or null when the conversation has no row yet. */
  private async readNext(convId: string): Promise<number | null> {
    const { client, consistency } = this.db;
    const row = (await client.execute(selectNext, [convId], { prepare: true, consistency })).first();
    const next = row?.get('next') as types.Long | null | undefined;
    return next == null ? null : next.toNumber();
  }

  private remember(convId: string, next: number): void {
    this.known.delete(convId);
    this.known.set(convId, next);
    if (this.known.size > maxCachedConvs) this.known.delete(this.known.keys().next().value as string);
  }
}

function isWriteTimeout(err: unknown): boolean {
  return (err as { code?: number } | null)?.code === types.responseErrorCodes.writeTimeout;
}

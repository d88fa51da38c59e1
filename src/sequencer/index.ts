/**
 * Sequencer module: hands out per-conversation seq ranges.
 *
 * Contract every engine keeps: a range, once returned, is never returned again for the
 * same conversation, by this process or any other, even after a crash (the reservation
 * is durable before reserve() resolves). Ranges of one conversation are increasing.
 * Seqs start at 1. A crash leaks at most the unused rest of the ranges in memory.
 */

/** A reserved half-open range [start, end). */
export interface SeqRange {
  start: number;
  end: number;
}

export interface Sequencer {
  /** Durably reserves the next `count` seqs of `convId`. */
  reserve(convId: string, count: number): Promise<SeqRange>;
  close(): Promise<void>;
}

export { SqliteSequencer } from './sqlite';
export { CassandraSequencer } from './cassandra';

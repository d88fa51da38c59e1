/** The embedded sequencer with reservations on the SQLite writer thread. */
import type { SeqRange, Sequencer } from '../sequencer';
import type { WriterThread } from './writer';

/** Seq reservations on the writer thread; the thread belongs to the store, which stops it. */
export class ThreadedSequencer implements Sequencer {
  private closed = false;

  constructor(private readonly writer: WriterThread) {}

  async reserve(convId: string, count: number): Promise<SeqRange> {
    if (this.closed) throw new Error('sequencer: closed');
    return this.writer.call('reserve', convId, count);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * The messages between the event loop and the SQLite writer thread. Every write of the
 * embedded engines is one of these calls; reads never cross the thread.
 */
import type { SeqRange } from '../sequencer';
import type { StoreWrites } from '../store';

/** Each write method, its arguments and what it resolves with: the store's, and seq reservations. */
export interface WriteMethods extends StoreWrites {
  reserve: { args: [string, number]; result: SeqRange };
}

export type WriteMethod = keyof WriteMethods;

/** Arguments and results travel as JSON text (see WriterThread.call); every value in them is plain data. */
export interface WriteRequest {
  id: number;
  method: WriteMethod;
  /** JSON of the argument array. */
  args: string;
}

/**
 * A failure, flattened: structured clone keeps an Error's message but not its class or
 * extra fields, and callers branch on ProtocolError codes and SQLite error codes.
 */
export type WireError = { kind: 'protocol'; code: string; message: string } | { kind: 'error'; message: string; code: string | null };

export type WriteResponse = { id: number; ok: true; value: string | undefined } | { id: number; ok: false; error: WireError };

export interface WriterData {
  file: string;
  synchronous: 'full' | 'normal';
  /** The WAL is checkpointed by another thread: the writer must not do it inside commits. */
  backgroundCheckpoints: boolean;
}

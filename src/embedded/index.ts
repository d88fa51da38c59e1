/**
 * Embedded engines: the SQLite store and sequencer as one shard runs them. Writes run on
 * the event loop's connection, or (SQLITE_WRITER=thread) on a writer thread so commits
 * never stall the loop. Measured on 2 cores (bench S2/S3, same run): the thread trims the
 * S3 p99 tail at 5,000 msg/s (~25 vs ~40 ms) but each cross-thread round trip costs
 * ~40 µs of CPU, so S2 pays ~110 instead of ~86 µs per message and loses ~15% throughput.
 * Hence the loop is the default. Without the compiled worker (running from sources) the
 * thread mode falls back to the loop.
 */
import { SqliteSequencer, type Sequencer } from '../sequencer';
import { SqliteStore, ThreadedSqliteStore, isSqliteOutage, openSqliteDatabase, startCheckpointer, type Checkpointer, type Store } from '../store';
import { ThreadedSequencer } from './sequencer';
import { WriterGoneError, WriterThread } from './writer';
import { compiledWorker } from '../worker-script';

export interface EmbeddedEngines {
  store: Store;
  sequencer: Sequencer;
  checkpointer: Checkpointer | null;
  /** Whether writes run on the writer thread (false: on the event loop). */
  writerThread: boolean;
}

export interface EmbeddedOptions {
  file: string;
  synchronous: 'full' | 'normal';
  /** Writes on a writer thread instead of the calling thread. */
  writerThread: boolean;
}

export async function openEmbeddedEngines(opts: EmbeddedOptions): Promise<EmbeddedEngines> {
  // Opened first, on this thread: a fresh file gets its schema before the writer starts.
  const db = openSqliteDatabase(opts.file, { synchronous: opts.synchronous });
  const checkpointer = startCheckpointer(db);
  const script = opts.writerThread ? workerScript() : null;
  if (script === null) {
    return { store: new SqliteStore(db), sequencer: new SqliteSequencer(db), checkpointer, writerThread: false };
  }
  const writer = new WriterThread(script, { file: opts.file, synchronous: opts.synchronous, backgroundCheckpoints: checkpointer !== null });
  try {
    await writer.ready();
  } catch (err) {
    await checkpointer?.stop();
    db.close();
    throw err;
  }
  return { store: new ThreadedSqliteStore(db, writer), sequencer: new ThreadedSequencer(writer), checkpointer, writerThread: true };
}

/** The compiled worker next to this file, or in dist/ when running from src/ under ts-jest. */
function workerScript(): string | null {
  return compiledWorker('embedded/writer-worker.js');
}

/** Whether an error of the embedded store or sequencer is an outage: SQLite's (see isSqliteOutage), or the writer thread gone. */
export function isEmbeddedOutage(err: unknown): boolean {
  return err instanceof WriterGoneError || isSqliteOutage(err);
}

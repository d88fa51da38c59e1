/**
 * Background WAL checkpoints. By default SQLite checkpoints inside the commit that crosses
 * 1000 WAL pages, on the committing thread: with group commit on the event loop that
 * stalled everything for tens of ms (store-only test: commit p99 48.6 ms, 3.6 ms with
 * checkpoints moved to a worker). The serving connection stops auto-checkpointing and a
 * worker thread checkpoints the same file every `intervalMs`.
 */
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { compiledWorker } from '../../worker-script';

export interface Checkpointer {
  /** Stops the worker; the connection goes back to checkpointing itself. */
  stop(): Promise<void>;
}

/** WAL size kept after a checkpoint resets it: bounded disk use after a burst. */
const journalSizeLimit = 64 * 1024 * 1024;

/**
 * Stops `db` checkpointing inside its own commits. Every connection that writes the file
 * needs it (the embedded engines' writer thread has a connection of its own).
 */
export function leaveCheckpointsToWorker(db: Database.Database): void {
  db.pragma(`journal_size_limit = ${journalSizeLimit}`);
  db.pragma('wal_autocheckpoint = 0');
}

/**
 * Starts checkpointing `db` from a worker thread. Returns null (and leaves SQLite's own
 * checkpointing on) when the compiled worker is not available, e.g. running from sources
 * without a build.
 */
export function startCheckpointer(db: Database.Database, intervalMs = 250): Checkpointer | null {
  const script = workerScript();
  if (!script || db.memory) return null;
  const worker = new Worker(script, { workerData: { file: db.name, intervalMs } });
  worker.unref();
  leaveCheckpointsToWorker(db);
  return {
    stop: async () => {
      const stopped = new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('exit', () => resolve());
        worker.once('error', () => resolve());
      });
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
      if (db.open) db.pragma('wal_autocheckpoint = 1000');
    },
  };
}

/** The compiled worker next to this file, or in dist/ when running from src/ under ts-jest. */
function workerScript(): string | null {
  return compiledWorker('store/sqlite/checkpoint-worker.js');
}

/**
 * Child process for the SQLite sequencer crash test: reserves ranges on the file named by
 * argv once the parent creates `<file>.go`, prints each as "start end" once it resolves, then either exits or kills itself
 * with SIGKILL (no close, no cleanup), as a crashing shard would.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { SqliteSequencer } from '../../src/sequencer';

async function main(): Promise<void> {
  const [file, conv, countText, mode] = process.argv.slice(2);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const seq = new SqliteSequencer(db);
  // Barrier: both children start reserving together, so their calls really race.
  process.stdout.write('ready\n');
  while (!fs.existsSync(`${file}.go`)) await new Promise((r) => setTimeout(r, 2));
  for (let i = 0; i < Number(countText); i++) {
    const r = await seq.reserve(conv, 1 + (i % 64));
    process.stdout.write(`${r.start} ${r.end}\n`);
  }
  if (mode === 'kill') {
    // The lines must reach the parent first: a pipe the parent is slow to read (a loaded
    // machine) queues writes in this process, and SIGKILL would drop them. The database
    // still sees no close.
    await new Promise<void>((r) => process.stdout.write('', () => r()));
    process.kill(process.pid, 'SIGKILL');
  }
  await seq.close();
  db.close();
}

void main();

/** The embedded sequencer: per-conversation counters in a SQLite table. */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { SeqRange, Sequencer } from './index';
import { ContentionError } from '../observability';

// Each lost race means another writer advanced the row; so many in a row means something
// is wrong (e.g. a writer stuck in a loop), and failing beats spinning forever.
const maxAttempts = 1000;

/**
 * Sequencer on a better-sqlite3 connection (usually the store's). Keeps the Sequencer
 * contract across connections and processes sharing the file: every advance is a
 * conditional update on the value just read, committed before reserve() resolves.
 * The connection is borrowed: close() stops this sequencer but leaves the connection
 * open for its owner (the store closes the shared one).
 */
export class SqliteSequencer implements Sequencer {
  private readonly read: Database.Statement<[string], { next: number }>;
  private readonly create: Database.Statement<[string]>;
  private readonly advance: Database.Statement<[number, string, number]>;
  private closed = false;

  constructor(db: Database.Database) {
    db.exec(readSqlFile('sqlite.sql'));
    this.read = db.prepare('SELECT next FROM conv_seq WHERE conv_id = ?');
    this.create = db.prepare('INSERT INTO conv_seq (conv_id, next) VALUES (?, 1) ON CONFLICT DO NOTHING');
    this.advance = db.prepare('UPDATE conv_seq SET next = ? WHERE conv_id = ? AND next = ?');
  }

  async reserve(convId: string, count: number): Promise<SeqRange> {
    if (this.closed) throw new Error('sequencer: closed');
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`reserve count must be a positive integer, got ${count}`);
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const row = this.read.get(convId);
      if (row === undefined) {
        this.create.run(convId);
        continue;
      }
      // Autocommit: the update is its own transaction, committed when run() returns
      // (surviving power loss too when the connection runs synchronous=FULL).
      if (this.advance.run(row.next + count, convId, row.next).changes === 1) {
        return { start: row.next, end: row.next + count };
      }
    }
    throw new ContentionError(`sequencer: lost ${maxAttempts} races in a row for ${convId}`);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** Reads a .sql file of this folder; falls back to the source tree when the build did not copy it. */
function readSqlFile(name: string): string {
  const candidates = [path.join(__dirname, name), path.join(__dirname, '..', '..', 'src', 'sequencer', name)];
  for (const file of candidates) {
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  }
  throw new Error(`sequencer: ${name} not found (looked in ${candidates.join(', ')})`);
}

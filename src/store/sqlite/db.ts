/** Opening the embedded database: pragmas and schema, applied the same way on every start. */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { searchTerms } from '../search';

/** How hard a commit waits for the disk: `full` survives power loss, `normal` a process crash. */
export interface SqliteOpenOptions {
  synchronous: 'full' | 'normal';
}

/**
 * Every statement of this store writes a bound LIMIT as `LIMIT +?`, never `LIMIT ?`. The
 * SQLite we ship (3.53) lets the planner read a bare bound LIMIT's value, which marks the
 * statement to be compiled again whenever that parameter is bound, that is on every run.
 * Measured on bench S5's seed (one process, warm cache, per call through the store):
 * readEvents of 20 events 107 -> 50 µs, inboxChangedSince of one row 123 -> 26 µs. The
 * unary plus hides the variable from the planner; the limit still applies.
 * test/store/sqlite.test.ts checks every statement the store prepares.
 */

/**
 * Opens (creating when absent) the database file with WAL and the store schema applied.
 * Idempotent; one connection is meant to be shared by the store and the sequencer.
 */
export function openSqliteDatabase(file: string, opts: SqliteOpenOptions): Database.Database {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // Nothing declares foreign keys; OFF states that integrity is the writers' job.
    db.pragma('foreign_keys = OFF');
    // Another process (a tool, a second shard during a handover) may hold the write lock briefly.
    db.pragma('busy_timeout = 5000');
    // 64 MiB: recent conversation tails and the member index stay in memory.
    db.pragma('cache_size = -65536');
    addMissingColumns(db);
    const hadSearch = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'user_search'").get() !== undefined;
    // One transaction: a data dir from before search gets the table and its users indexed
    // together, so a crash in between cannot leave an empty index that is never filled.
    db.transaction(() => {
      db.exec(readSqlFile('schema.sql'));
      if (!hadSearch) indexAllUsers(db);
    })();
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * Columns added after a table first shipped. CREATE TABLE IF NOT EXISTS leaves an older
 * data dir's tables as they were, so each is added here, before schema.sql creates the
 * indexes that use them. A fresh file has no tables yet and gets them from schema.sql.
 */
const addedColumns: Record<string, [name: string, definition: string][]> = {
  events: [
    ['thread_root', 'INTEGER'],
    ['reply_count', 'INTEGER NOT NULL DEFAULT 0'],
    ['link_preview', 'TEXT'],
    ['attachment', 'TEXT'],
    ['ready_attachments', 'TEXT'],
  ],
  conv_members: [['marked_unread', 'INTEGER NOT NULL DEFAULT 0']],
  users: [
    ['deleted_at', 'INTEGER'],
    ['username_reserved_until', 'INTEGER'],
    ['token_gen', 'INTEGER NOT NULL DEFAULT 0'],
    ['valid_from_gen', 'INTEGER NOT NULL DEFAULT 0'],
    ['revoked_devices', 'TEXT'],
  ],
  blobs: [['claimed_at', 'INTEGER NOT NULL DEFAULT 0']],
  push_registrations: [
    ['platform', "TEXT NOT NULL DEFAULT 'web'"],
    ['app_id', "TEXT NOT NULL DEFAULT ''"],
  ],
};

function addMissingColumns(db: Database.Database): void {
  for (const [table, columns] of Object.entries(addedColumns)) {
    const present = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
    if (present.size === 0) continue;
    for (const [name, definition] of columns) {
      if (!present.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${definition}`);
    }
  }
}

/** Indexes every live user for search; runs inside the schema's transaction. */
function indexAllUsers(db: Database.Database): void {
  const users = db.prepare('SELECT user_id, username, display_name, deleted_at FROM users WHERE deleted_at IS NULL').all() as {
    user_id: string;
    username: string;
    display_name: string;
    deleted_at: number | null;
  }[];
  const insert = db.prepare('INSERT OR IGNORE INTO user_search (term, user_id) VALUES (?, ?)');
  for (const u of users) for (const term of searchTerms(u)) insert.run(term, u.user_id);
}

/**
 * Reads a .sql file of this folder. tsc does not copy .sql files, so a build that forgot
 * to copy it still finds the source copy (dist/store/sqlite -> src/store/sqlite).
 */
function readSqlFile(name: string): string {
  const candidates = [
    path.join(__dirname, name),
    path.join(__dirname, '..', '..', '..', 'src', 'store', 'sqlite', name),
  ];
  for (const file of candidates) {
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  }
  throw new Error(`store: ${name} not found (looked in ${candidates.join(', ')})`);
}

/**
 * Whether a SQLite error means the database cannot answer now (busy past the timeout,
 * locked, an I/O error, disk full, read-only or unopenable file, out of memory, corrupt)
 * rather than a mistake of ours (a constraint, a bad statement). better-sqlite3 puts
 * SQLite's extended code on `code` (`SQLITE_IOERR_WRITE`...); the writer thread keeps it.
 */
export function isSqliteOutage(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return false;
  const primary = code.split('_').slice(0, 2).join('_');
  return sqliteOutageCodes.has(primary);
}

const sqliteOutageCodes = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_NOMEM', 'SQLITE_PROTOCOL', 'SQLITE_INTERRUPT']);
// Not SQLITE_CORRUPT or SQLITE_NOTADB: no retry mends a damaged file, so they are bugs to
// an operator (logged at error), not a hint for clients to come back forever.

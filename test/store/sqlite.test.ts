import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore, openSqliteDatabase } from '../../src/store';
import { countUnreadConversationsSql, countUnreadSql, inboxChangedSinceSql } from '../../src/store/sqlite/inbox';
import { runStoreContract } from './contract';

function tempFile(): { file: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-test-'));
  return { file: path.join(dir, 'store.db'), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

runStoreContract('sqlite', async () => {
  const { file, remove } = tempFile();
  const store = new SqliteStore(openSqliteDatabase(file, { synchronous: 'normal' }));
  return {
    store,
    cleanup: async () => {
      await store.close();
      remove();
    },
  };
});

describe('SqliteStore engine specifics', () => {
  it('applies the pragmas and is idempotent on reopen', () => {
    const { file, remove } = tempFile();
    try {
      const db = openSqliteDatabase(file, { synchronous: 'full' });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(0);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      db.close();
      const again = openSqliteDatabase(file, { synchronous: 'normal' });
      expect(again.pragma('synchronous', { simple: true })).toBe(1);
      again.close();
    } finally {
      remove();
    }
  });

  it('counts unread with a range scan of the (conv_id, seq) key', () => {
    const { file, remove } = tempFile();
    try {
      const db = openSqliteDatabase(file, { synchronous: 'normal' });
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${countUnreadSql}`)
        .all({ conv_id: 'c', after: 0, user_id: 'u' })
        .map((row) => (row as { detail: string }).detail)
        .join('\n');
      db.close();
      // The (conv_id, seq) key is the primary key's index; a plain SCAN would fail here.
      expect(plan.split('\n')[0]).toMatch(/^SEARCH events USING (PRIMARY KEY|INDEX sqlite_autoindex_events_1) \(conv_id=\? AND seq>\?\)$/);
      // The mention check runs per unread row, on that row's own list only.
      expect(plan).not.toMatch(/SCAN events/);
    } finally {
      remove();
    }
  });

  it('counts unread conversations from the member index, with a range probe of the (conv_id, seq) key', () => {
    const { file, remove } = tempFile();
    try {
      const db = openSqliteDatabase(file, { synchronous: 'normal' });
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${countUnreadConversationsSql}`)
        .all({ user_id: 'u', except: null, limit: 1000 })
        .map((row) => (row as { detail: string }).detail);
      db.close();
      // The user's rows, each conversation by its key, and the EXISTS as a range of the log's key.
      expect(plan).toContain('SEARCH m USING INDEX conv_members_by_user (user_id=?)');
      expect(plan).toContainEqual(expect.stringMatching(/^SEARCH c USING (PRIMARY KEY|INDEX sqlite_autoindex_conversations_1) \(conv_id=\?\)$/));
      expect(plan).toContainEqual(expect.stringMatching(/^SEARCH e USING (PRIMARY KEY|INDEX sqlite_autoindex_events_1) \(conv_id=\? AND seq>\?\)$/));
      // No table is scanned (the outer count scans only the LIMITed subquery's rows).
      expect(plan.filter((d) => d.startsWith('SCAN') && !d.startsWith('SCAN (subquery'))).toEqual([]);
    } finally {
      remove();
    }
  });

  it('reads the CONNACK inbox rows from the member index, counting unread in one range of the (conv_id, seq) key', () => {
    const { file, remove } = tempFile();
    try {
      const db = openSqliteDatabase(file, { synchronous: 'normal' });
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${inboxChangedSinceSql}`)
        .all('u', 0, 500)
        .map((row) => (row as { detail: string }).detail);
      db.close();
      expect(plan).toContain('SEARCH m USING INDEX conv_members_by_user (user_id=?)');
      // Unread and mentions together: one pass over the unread range per row, not two;
      // besides it, one key lookup of the preview's message (its sender and time).
      const logReads = plan.filter((d) => /^(SEARCH|SCAN) e\b/.test(d));
      expect(logReads).toHaveLength(2);
      expect(logReads.filter((d) => /^SEARCH e USING (PRIMARY KEY|INDEX sqlite_autoindex_events_1) \(conv_id=\? AND seq>\?\)$/.test(d))).toHaveLength(1);
      expect(logReads.filter((d) => /^SEARCH e USING (PRIMARY KEY|INDEX sqlite_autoindex_events_1) \(conv_id=\? AND seq=\?\)$/.test(d))).toHaveLength(1);
      expect(plan.filter((d) => /^SCAN (events|e|m|c)\b/.test(d))).toEqual([]);
    } finally {
      remove();
    }
  });

  it('binds no bare LIMIT parameter (SQLite would compile the statement again on every run)', async () => {
    const { file, remove } = tempFile();
    const prepared: string[] = [];
    const prepare = Database.prototype.prepare;
    const spy = jest.spyOn(Database.prototype, 'prepare').mockImplementation(function (this: Database.Database, sql: string) {
      prepared.push(sql);
      return prepare.call(this, sql);
    });
    try {
      const db = openSqliteDatabase(file, { synchronous: 'normal' });
      const store = new SqliteStore(db);
      spy.mockRestore();
      // The store prepares its statements up front; a few of them bind a limit.
      expect(prepared.filter((sql) => /\bLIMIT\s+\+[?@:$]/i.test(sql)).length).toBeGreaterThanOrEqual(5);
      expect(prepared.filter((sql) => /\b(LIMIT|OFFSET)\s+[?@:$]/i.test(sql))).toEqual([]);
      await store.close();
    } finally {
      spy.mockRestore();
      remove();
    }
  });

  it('keeps data across close and reopen', async () => {
    const { file, remove } = tempFile();
    try {
      const first = new SqliteStore(openSqliteDatabase(file, { synchronous: 'full' }));
      await first.createConversation({ conv_id: 'c_1', type: 'group', title: 't', created_at: 1, members: [{ user_id: 'u_1', role: 'admin' }] });
      await first.appendEvents([{ event: { conv_id: 'c_1', seq: 1, ts: 2, sender_id: 'u_1', kind: 'message', body: 'hi', client_msg_id: 'k' } }]);
      await first.close();
      const second = new SqliteStore(openSqliteDatabase(file, { synchronous: 'full' }));
      expect((await second.readEvents('c_1', 0, 10)).map((e) => e.body)).toEqual(['hi']);
      expect(await second.findByClientMsgId('c_1', 'u_1', 'k')).toEqual({ seq: 1, ts: 2, kind: 'message' });
      await second.close();
    } finally {
      remove();
    }
  });

  it('upgrades a blobs table without claimed_at: a claim left by the old collector is stale at once', async () => {
    const { file, remove } = tempFile();
    try {
      // The blobs table and index as they first shipped, with a claim never dropped.
      const old = new Database(file);
      old.exec(`CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, refs INTEGER NOT NULL, unreferenced_since INTEGER,
        claimed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
        CREATE INDEX blobs_unreferenced ON blobs (unreferenced_since) WHERE refs = 0 AND claimed = 0;
        INSERT INTO blobs VALUES ('aa', 0, 1000, 1), ('bb', 0, 2000, 0);`);
      old.close();
      const db = openSqliteDatabase(file, { synchronous: 'normal' });
      const indexes = (db.pragma('index_list(blobs)') as { name: string }[]).map((i) => i.name);
      expect(indexes).toContain('blobs_at_zero');
      expect(indexes).not.toContain('blobs_unreferenced');
      const plan = db
        .prepare('EXPLAIN QUERY PLAN SELECT sha256 FROM blobs WHERE refs = 0 AND unreferenced_since < 5 AND (claimed = 0 OR claimed_at < 5) ORDER BY unreferenced_since LIMIT 3')
        .all()
        .map((row) => (row as { detail: string }).detail)
        .join('\n');
      expect(plan).toMatch(/USING INDEX blobs_at_zero/);
      const store = new SqliteStore(db);
      // Listed even with a cutoff at the epoch's first millisecond; taken over once.
      expect(await store.listUnreferencedBlobs(3000, 10, 1)).toEqual([
        { sha256: 'aa', unreferenced_since: 1000, claimed_at: 0 },
        { sha256: 'bb', unreferenced_since: 2000, claimed_at: null },
      ]);
      expect(await store.claimBlob('aa', 1000, 0)).toBe(true);
      expect(await store.claimBlob('aa', 1000, 0)).toBe(false);
      await store.dropBlob('aa');
      await store.refBlob('aa');
      expect(await store.listUnreferencedBlobs(3000, 10, 1)).toEqual([{ sha256: 'bb', unreferenced_since: 2000, claimed_at: null }]);
      await store.close();
      // Opening again is a no-op.
      openSqliteDatabase(file, { synchronous: 'normal' }).close();
    } finally {
      remove();
    }
  });

  it('upgrades a database from before push and search: missing settings read as defaults, push tables added, users indexed for search', async () => {
    const { file, remove } = tempFile();
    try {
      // A users table as it shipped, with settings written before push_previews existed.
      const old = new Database(file);
      old.exec(`CREATE TABLE users (user_id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
        password_hash TEXT NOT NULL, created_at INTEGER NOT NULL, settings TEXT NOT NULL) WITHOUT ROWID;
        INSERT INTO users VALUES ('u_old', 'old', 'Old', 'h', 1,
          '{"show_presence":false,"show_last_seen":true,"send_read_receipts":true}');`);
      old.close();
      const store = new SqliteStore(openSqliteDatabase(file, { synchronous: 'normal' }));
      expect((await store.getUser('u_old'))?.settings).toEqual({
        show_presence: false,
        show_last_seen: true,
        send_read_receipts: true,
        push_previews: true,
        discoverable: true,
      });
      // Registered before the search index existed, found all the same.
      expect((await store.searchUsers('ol', null, 10)).users.map((u) => u.user_id)).toEqual(['u_old']);
      expect((await store.updateUserSettings('u_old', { push_previews: false }))?.settings.push_previews).toBe(false);
      expect((await store.getUsers(['u_old']))[0].settings).toMatchObject({ show_presence: false, push_previews: false });
      const reg = { user_id: 'u_old', device_id: 'd', platform: 'android' as const, app_id: 'a', target: { provider: 'fcm', token: 't' } as const, created_at: 1, updated_at: 1 };
      await store.putPushRegistration(reg);
      expect(await store.getPushRegistrations(['u_old'])).toEqual([reg]);
      await store.close();
    } finally {
      remove();
    }
  });
});

describe('background checkpoints', () => {
  it('keep the WAL checkpointed off the serving connection and hand back on stop', async () => {
    const { startCheckpointer } = await import('../../src/store');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
    const db = openSqliteDatabase(path.join(dir, 'c.db'), { synchronous: 'normal' });
    const checkpointer = startCheckpointer(db, 20);
    expect(checkpointer).not.toBeNull(); // npm test builds dist first, where the worker lives
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    db.exec('CREATE TABLE t (x TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run('x'.repeat(200));
    })();
    // The worker copies the WAL into the database file: its size grows past the data.
    const deadline = Date.now() + 5000;
    while (fs.statSync(path.join(dir, 'c.db')).size < 1_000_000 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(fs.statSync(path.join(dir, 'c.db')).size).toBeGreaterThan(1_000_000);
    await checkpointer?.stop();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

/** The users table: accounts and privacy settings. */
import type Database from 'better-sqlite3';
import { ProtocolError } from '../../protocol';
import { defaultUserSettings, type NewUser, type UserRecord, type UserSettings } from '../types';

interface UserRow {
  user_id: string;
  username: string;
  display_name: string;
  password_hash: string;
  created_at: number;
  settings: string;
}

const columns = 'user_id, username, display_name, password_hash, created_at, settings';

const defaultSettings = defaultUserSettings;
const settingKeys = Object.keys(defaultSettings) as (keyof UserSettings)[];

/** Synchronous user queries; SqliteStore wraps them in promises. */
export class UserTable {
  private readonly insert: Database.Statement<[string, string, string, string, number, string]>;
  private readonly byId: Database.Statement<[string], UserRow>;
  private readonly byName: Database.Statement<[string], UserRow>;
  private readonly byIds: Database.Statement<[string], UserRow>;
  private readonly writeSettings: Database.Statement<[string, string]>;
  private readonly mergeSettings: Database.Transaction<(userId: string, patch: Partial<UserSettings>) => UserRecord | null>;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`INSERT INTO users (${columns}) VALUES (?, ?, ?, ?, ?, ?)`);
    this.byId = db.prepare(`SELECT ${columns} FROM users WHERE user_id = ?`);
    this.byName = db.prepare(`SELECT ${columns} FROM users WHERE username = ?`);
    // One statement for any number of ids: the list travels as a JSON array.
    this.byIds = db.prepare(`SELECT ${columns} FROM users WHERE user_id IN (SELECT value FROM json_each(?))`);
    this.writeSettings = db.prepare('UPDATE users SET settings = ? WHERE user_id = ?');
    this.mergeSettings = db.transaction((userId: string, patch: Partial<UserSettings>): UserRecord | null => {
      const row = this.byId.get(userId);
      if (row === undefined) return null;
      const settings = parseSettings(row.settings);
      for (const key of settingKeys) {
        const value = patch[key];
        if (typeof value === 'boolean') settings[key] = value;
      }
      const json = JSON.stringify(settings);
      this.writeSettings.run(json, userId);
      return toUser({ ...row, settings: json });
    });
  }

  create(user: NewUser): UserRecord {
    const row: UserRow = {
      user_id: user.user_id,
      username: user.username.toLowerCase(),
      display_name: user.display_name,
      password_hash: user.password_hash,
      created_at: user.created_at,
      settings: JSON.stringify(defaultSettings),
    };
    try {
      this.insert.run(row.user_id, row.username, row.display_name, row.password_hash, row.created_at, row.settings);
    } catch (err) {
      if (isUsernameConflict(err)) throw new ProtocolError('conflict', 'username taken');
      throw err;
    }
    return toUser(row);
  }

  get(userId: string): UserRecord | null {
    const row = this.byId.get(userId);
    return row === undefined ? null : toUser(row);
  }

  getByUsername(username: string): UserRecord | null {
    const row = this.byName.get(username.toLowerCase());
    return row === undefined ? null : toUser(row);
  }

  getMany(userIds: readonly string[]): UserRecord[] {
    if (userIds.length === 0) return [];
    return this.byIds.all(JSON.stringify(userIds)).map(toUser);
  }

  updateSettings(userId: string, patch: Partial<UserSettings>): UserRecord | null {
    return this.mergeSettings.immediate(userId, patch);
  }
}

// Duck-typed, not `instanceof`: the native addon builds its errors with the SqliteError
// class of the first realm that loaded it, so under jest (one realm per test file) the
// class can differ from the one this file sees.
function isUsernameConflict(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    e.code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    typeof e.message === 'string' &&
    e.message.includes('users.username')
  );
}

function parseSettings(json: string): UserSettings {
  return { ...defaultSettings, ...(JSON.parse(json) as Partial<UserSettings>) };
}

function toUser(row: UserRow): UserRecord {
  return {
    user_id: row.user_id,
    username: row.username,
    display_name: row.display_name,
    password_hash: row.password_hash,
    created_at: row.created_at,
    settings: parseSettings(row.settings),
  };
}

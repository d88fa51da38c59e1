/** The users table: accounts, privacy settings, and what decides whether tokens count. */
import type Database from 'better-sqlite3';
import { ProtocolError } from '../../protocol';
import {
  defaultUserSettings,
  deletedUserName,
  deletedUserSettings,
  type AuthState,
  type NewUser,
  type UserRecord,
  type UserSettings,
  type UserSearchCursor,
} from '../types';
import { searchTerms, searchUpperBound } from '../search';

interface UserRow {
  user_id: string;
  username: string;
  display_name: string;
  password_hash: string;
  created_at: number;
  settings: string;
  deleted_at: number | null;
}

interface AuthRow {
  user_id: string;
  deleted_at: number | null;
  token_gen: number;
  valid_from_gen: number;
  revoked_devices: string | null;
}

/** revoked_devices as stored: device id -> [generation, kept until (ms)]. */
type RevokedDevices = Record<string, [gen: number, until: number]>;

const columns = 'user_id, username, display_name, password_hash, created_at, settings, deleted_at';
const authColumns = 'user_id, deleted_at, token_gen, valid_from_gen, revoked_devices';

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
  private readonly authById: Database.Statement<[string], AuthRow>;
  private readonly authByIds: Database.Statement<[string], AuthRow>;
  private readonly freeExpired: Database.Statement<{ username: string; now: number }>;
  private readonly createTx: Database.Transaction<(row: UserRow, now: number) => void>;
  private readonly revokeAllTx: Database.Transaction<(userId: string, now: number) => AuthState | null>;
  private readonly revokeDeviceTx: Database.Transaction<(userId: string, deviceId: string, until: number, now: number) => AuthState | null>;
  private readonly deleteTx: Database.Transaction<(userId: string, reserveUntil: number, now: number) => AuthState | null>;
  private readonly renameTx: Database.Transaction<(userId: string, name: string) => UserRecord | null>;
  private readonly addTerm: Database.Statement<[string, string]>;
  private readonly removeTerm: Database.Statement<[string, string]>;
  private readonly scanFirst: Database.Statement<[string, string, number], UserSearchCursor>;
  private readonly scanAfter: Database.Statement<{ term: string; user_id: string; upper: string; limit: number }, UserSearchCursor>;

  constructor(db: Database.Database) {
    this.addTerm = db.prepare('INSERT OR IGNORE INTO user_search (term, user_id) VALUES (?, ?)');
    this.removeTerm = db.prepare('DELETE FROM user_search WHERE term = ? AND user_id = ?');
    this.scanFirst = db.prepare('SELECT term, user_id FROM user_search WHERE term >= ? AND term < ? ORDER BY term, user_id LIMIT +?');
    this.scanAfter = db.prepare(
      'SELECT term, user_id FROM user_search WHERE (term, user_id) > (:term, :user_id) AND term < :upper ORDER BY term, user_id LIMIT +:limit',
    );
    this.insert = db.prepare(`INSERT INTO users (user_id, username, display_name, password_hash, created_at, settings) VALUES (?, ?, ?, ?, ?, ?)`);
    this.byId = db.prepare(`SELECT ${columns} FROM users WHERE user_id = ?`);
    this.byName = db.prepare(`SELECT ${columns} FROM users WHERE username = ? AND deleted_at IS NULL`);
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
    this.authById = db.prepare(`SELECT ${authColumns} FROM users WHERE user_id = ?`);
    this.authByIds = db.prepare(`SELECT ${authColumns} FROM users WHERE user_id IN (SELECT value FROM json_each(?))`);
    // A deleted account's name whose reservation ended goes to whoever registers it next.
    // The tombstone's username becomes '#<user_id>': '#' is outside the username alphabet,
    // so it keeps the UNIQUE column unique without ever matching a real name.
    this.freeExpired = db.prepare(
      `UPDATE users SET username = '#' || user_id WHERE username = :username AND deleted_at IS NOT NULL AND username_reserved_until <= :now`,
    );
    this.createTx = db.transaction((row: UserRow, now: number) => {
      this.freeExpired.run({ username: row.username, now });
      this.insert.run(row.user_id, row.username, row.display_name, row.password_hash, row.created_at, row.settings);
      for (const term of searchTerms(row)) this.addTerm.run(term, row.user_id);
    });
    const setGens = db.prepare('UPDATE users SET token_gen = ?, valid_from_gen = ?, revoked_devices = ? WHERE user_id = ?');
    this.revokeAllTx = db.transaction((userId: string, now: number): AuthState | null => {
      const row = this.authById.get(userId);
      if (row === undefined) return null;
      const gen = row.token_gen + 1;
      // Every device entry is covered by valid_from_gen now: the list starts again.
      setGens.run(gen, gen, null, userId);
      return toAuthState({ ...row, token_gen: gen, valid_from_gen: gen, revoked_devices: null }, now);
    });
    this.revokeDeviceTx = db.transaction((userId: string, deviceId: string, until: number, now: number): AuthState | null => {
      const row = this.authById.get(userId);
      if (row === undefined) return null;
      const devices = liveDevices(row.revoked_devices, now);
      devices[deviceId] = [row.token_gen, Math.max(until, devices[deviceId]?.[1] ?? 0)];
      const json = JSON.stringify(devices);
      setGens.run(row.token_gen + 1, row.valid_from_gen, json, userId);
      return toAuthState({ ...row, token_gen: row.token_gen + 1, revoked_devices: json }, now);
    });
    const tombstone = db.prepare(
      `UPDATE users SET deleted_at = :now, username_reserved_until = :until, display_name = :name, password_hash = '', settings = :settings,
         token_gen = token_gen + 1, valid_from_gen = token_gen + 1, revoked_devices = NULL,
         username = CASE WHEN :until <= :now THEN '#' || user_id ELSE username END
       WHERE user_id = :user_id AND deleted_at IS NULL`,
    );
    this.deleteTx = db.transaction((userId: string, reserveUntil: number, now: number): AuthState | null => {
      const before = this.byId.get(userId);
      if (before !== undefined) for (const term of searchTerms(before)) this.removeTerm.run(term, userId);
      tombstone.run({ user_id: userId, now, until: reserveUntil, name: deletedUserName, settings: JSON.stringify(deletedUserSettings) });
      const row = this.authById.get(userId);
      return row === undefined ? null : toAuthState(row, now);
    });
    const writeName = db.prepare('UPDATE users SET display_name = ? WHERE user_id = ?');
    this.renameTx = db.transaction((userId: string, name: string): UserRecord | null => {
      const row = this.byId.get(userId);
      if (row === undefined || row.deleted_at !== null) return null;
      const renamed = { ...row, display_name: name };
      const keep = new Set(searchTerms(renamed));
      for (const term of searchTerms(row)) if (!keep.has(term)) this.removeTerm.run(term, userId);
      for (const term of keep) this.addTerm.run(term, userId);
      writeName.run(name, userId);
      return toUser(renamed);
    });
  }

  create(user: NewUser, now: number): UserRecord {
    const row: UserRow = {
      user_id: user.user_id,
      username: user.username.toLowerCase(),
      display_name: user.display_name,
      password_hash: user.password_hash,
      created_at: user.created_at,
      settings: JSON.stringify(defaultSettings),
      deleted_at: null,
    };
    try {
      this.createTx.immediate(row, now);
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

  authStates(userIds: readonly string[], now: number): AuthState[] {
    if (userIds.length === 0) return [];
    // One user (every CONNECT of a user not cached): the key lookup, not json_each's
    // subquery, ~5 instead of ~9 µs.
    if (userIds.length === 1) {
      const row = this.authById.get(userIds[0]);
      return row === undefined ? [] : [toAuthState(row, now)];
    }
    return this.authByIds.all(JSON.stringify(userIds)).map((row) => toAuthState(row, now));
  }

  revokeTokens(userId: string, now: number): AuthState | null {
    return this.revokeAllTx.immediate(userId, now);
  }

  revokeDevice(userId: string, deviceId: string, keepMs: number, now: number): AuthState | null {
    return this.revokeDeviceTx.immediate(userId, deviceId, now + keepMs, now);
  }

  delete(userId: string, reserveUntil: number, now: number): AuthState | null {
    return this.deleteTx.immediate(userId, reserveUntil, now);
  }

  rename(userId: string, displayName: string): UserRecord | null {
    return this.renameTx.immediate(userId, displayName);
  }

  /** Index rows of terms starting with `prefix`, after `after` (a row whose term starts with it) in (term, user_id) order. */
  scanSearch(prefix: string, after: UserSearchCursor | null, limit: number): UserSearchCursor[] {
    const upper = searchUpperBound(prefix);
    if (after === null) return this.scanFirst.all(prefix, upper, limit);
    return this.scanAfter.all({ term: after.term, user_id: after.user_id, upper, limit });
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

/** The stored device entries still in force at `now` (an entry past its time covers only expired tokens). */
function liveDevices(json: string | null, now: number): RevokedDevices {
  const out: RevokedDevices = {};
  if (json === null) return out;
  for (const [device, entry] of Object.entries(JSON.parse(json) as RevokedDevices)) if (entry[1] > now) out[device] = entry;
  return out;
}

function toAuthState(row: AuthRow, now: number): AuthState {
  const revoked: Record<string, number> = {};
  for (const [device, [gen]] of Object.entries(liveDevices(row.revoked_devices, now))) revoked[device] = gen;
  return { user_id: row.user_id, deleted: row.deleted_at !== null, token_gen: row.token_gen, valid_from_gen: row.valid_from_gen, revoked_devices: revoked };
}

function toUser(row: UserRow): UserRecord {
  const deleted = row.deleted_at !== null;
  return {
    user_id: row.user_id,
    // A deleted account's name is reserved, not shown: it may go to someone else later.
    username: deleted ? '' : row.username,
    display_name: row.display_name,
    password_hash: row.password_hash,
    created_at: row.created_at,
    settings: parseSettings(row.settings),
    deleted_at: row.deleted_at,
  };
}

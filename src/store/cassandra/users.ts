/**
 * users and users_by_username: accounts, the unique lowercase username, settings, and what
 * decides whether tokens count (AuthState: token generations, signed-out devices, deletion).
 *
 * The auth columns live on the users row and are written with plain writes, like settings
 * (read, then write absolute values): revocations are rare and made by the account's own
 * user. Two at once both raise token_gen to the same value, which still refuses every
 * token issued before either; a generation never goes down.
 */
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
import { searchPartition, searchTerms, searchUpperBound } from '../search';
import { num, str, type Cql, type Row } from './db';

const columns = 'user_id, username, display_name, password_hash, created_at, settings, deleted_at';
const authColumns = 'user_id, username, deleted_at, username_reserved_until, token_gen, valid_from_gen, revoked_devices';
const settingKeys = Object.keys(defaultUserSettings) as (keyof UserSettings)[];

/** The auth columns of a users row, read before a revocation or deletion. */
interface AuthRow {
  state: AuthState;
  username: string;
  deletedAt: number | null;
  reservedUntil: number | null;
}

export class UserTable {
  constructor(
    private readonly db: Cql,
    private readonly now: () => number,
  ) {}

  /**
   * Claims the username first (LWT), then writes the users row, so two shards can never
   * both hand out a name. A process dying between the two writes leaves a claim without a
   * user: the name stays taken (getUserByUsername answers null for it) until removed by hand.
   * The claim of a deleted account whose reservation ended is taken over (an LWT on the
   * holder, so of two registrations of the freed name one wins).
   */
  async create(user: NewUser): Promise<UserRecord> {
    const record: UserRecord = {
      user_id: user.user_id,
      username: user.username.toLowerCase(),
      display_name: user.display_name,
      password_hash: user.password_hash,
      created_at: user.created_at,
      settings: { ...defaultUserSettings },
      deleted_at: null,
    };
    const claim = await this.db.lwt('INSERT INTO users_by_username (username, user_id) VALUES (?, ?) IF NOT EXISTS', [record.username, record.user_id]);
    // A retried create of the same user finds its own claim.
    if (!claim.applied && claim.row.get('user_id') !== record.user_id) await this.takeOver(record.username, str(claim.row, 'user_id'), record.user_id);
    // deleted_at left out, not written as null: a null is a tombstone in Cassandra.
    await this.db.run('INSERT INTO users (user_id, username, display_name, password_hash, created_at, settings) VALUES (?, ?, ?, ?, ?, ?)', [
      record.user_id,
      record.username,
      record.display_name,
      record.password_hash,
      record.created_at,
      JSON.stringify(record.settings),
    ]);
    await this.index(searchTerms(record), record.user_id);
    return record;
  }

  /** Index rows are separate partitions: written in parallel, each idempotent. */
  private async index(terms: readonly string[], userId: string): Promise<void> {
    await Promise.all(terms.map((t) => this.db.run('INSERT INTO user_search (prefix, term, user_id) VALUES (?, ?, ?)', [searchPartition(t), t, userId])));
  }

  private async unindex(terms: readonly string[], userId: string): Promise<void> {
    await Promise.all(terms.map((t) => this.db.run('DELETE FROM user_search WHERE prefix = ? AND term = ? AND user_id = ?', [searchPartition(t), t, userId])));
  }

  /**
   * Indexes every live user for search: once, when a keyspace from before search gets the
   * table. A page of users at a time; idempotent, so shards opening together only repeat work.
   */
  async indexAll(): Promise<void> {
    await this.db.eachPage('SELECT user_id, username, display_name, deleted_at FROM users', [], async (rows) => {
      await Promise.all(
        rows.map((r) => {
          const user = { username: str(r, 'username') ?? '', display_name: str(r, 'display_name') ?? '', deleted_at: num(r, 'deleted_at') };
          return this.index(searchTerms(user), str(r, 'user_id') ?? '');
        }),
      );
    });
  }

  /**
   * New terms first, then the row, then the old terms go: a crash in between leaves extra
   * rows (skipped by search, which checks the row), never a user missing from the index.
   */
  async rename(userId: string, displayName: string): Promise<UserRecord | null> {
    const user = await this.get(userId);
    if (user === null || user.deleted_at !== null) return null;
    const renamed = { ...user, display_name: displayName };
    const keep = searchTerms(renamed);
    await this.index(keep, userId);
    await this.db.run('UPDATE users SET display_name = ? WHERE user_id = ?', [displayName, userId]);
    await this.unindex(searchTerms(user).filter((t) => !keep.includes(t)), userId);
    return renamed;
  }

  /**
   * One partition, the query's first two characters, as a clustering range. After a cursor
   * the rest of its term's user ids, then the terms after it: two plain slices rather than
   * a tuple comparison mixed with a single-column bound.
   */
  async scanSearch(prefix: string, after: UserSearchCursor | null, limit: number): Promise<UserSearchCursor[]> {
    const partition = searchPartition(prefix);
    const upper = searchUpperBound(prefix);
    const read = async (query: string, params: (string | number)[]): Promise<UserSearchCursor[]> =>
      (await this.db.rows(query, params)).map((r) => ({ term: str(r, 'term') ?? '', user_id: str(r, 'user_id') ?? '' }));
    if (after === null) {
      return read('SELECT term, user_id FROM user_search WHERE prefix = ? AND term >= ? AND term < ? LIMIT ?', [partition, prefix, upper, limit]);
    }
    const sameTerm = await read('SELECT term, user_id FROM user_search WHERE prefix = ? AND term = ? AND user_id > ? LIMIT ?', [
      partition,
      after.term,
      after.user_id,
      limit,
    ]);
    if (sameTerm.length === limit) return sameTerm;
    const later = await read('SELECT term, user_id FROM user_search WHERE prefix = ? AND term > ? AND term < ? LIMIT ?', [
      partition,
      after.term,
      upper,
      limit - sameTerm.length,
    ]);
    return [...sameTerm, ...later];
  }

  /** Moves the claim of `username` from a deleted account whose reservation ended to `userId`; conflict otherwise. */
  private async takeOver(username: string, holder: string | null, userId: string): Promise<void> {
    const old = holder === null ? null : await this.authRow(holder);
    if (holder === null || old === null || old.deletedAt === null || old.reservedUntil === null || old.reservedUntil > this.now()) {
      throw new ProtocolError('conflict', 'username taken');
    }
    const moved = await this.db.lwt('UPDATE users_by_username SET user_id = ? WHERE username = ? IF user_id = ?', [userId, username, holder]);
    if (!moved.applied && str(moved.row, 'user_id') !== userId) throw new ProtocolError('conflict', 'username taken');
  }

  async get(userId: string): Promise<UserRecord | null> {
    const row = await this.db.first(`SELECT ${columns} FROM users WHERE user_id = ?`, [userId]);
    return row === null ? null : toUser(row);
  }

  async getByUsername(username: string): Promise<UserRecord | null> {
    const claim = await this.db.first('SELECT user_id FROM users_by_username WHERE username = ?', [username.toLowerCase()]);
    const userId = claim === null ? null : str(claim, 'user_id');
    const user = userId === null ? null : await this.get(userId);
    // A deleted account's reserved name finds nobody.
    return user === null || user.deleted_at !== null ? null : user;
  }

  /** One single-partition read per id, in parallel (a multi-partition IN would load one coordinator). */
  async getMany(userIds: readonly string[]): Promise<UserRecord[]> {
    const found = await Promise.all([...new Set(userIds)].map((id) => this.get(id)));
    return found.filter((u): u is UserRecord => u !== null);
  }

  /** Read-merge-write: settings change rarely and only by their owner, so no LWT. */
  async updateSettings(userId: string, patch: Partial<UserSettings>): Promise<UserRecord | null> {
    const user = await this.get(userId);
    if (user === null) return null;
    for (const key of settingKeys) {
      const value = patch[key];
      if (typeof value === 'boolean') user.settings[key] = value;
    }
    await this.db.run('UPDATE users SET settings = ? WHERE user_id = ?', [JSON.stringify(user.settings), userId]);
    return user;
  }

  private async authRow(userId: string): Promise<AuthRow | null> {
    const row = await this.db.first(`SELECT ${authColumns} FROM users WHERE user_id = ?`, [userId]);
    return row === null ? null : toAuthRow(row);
  }

  /** One single-partition read per id, in parallel. */
  async authStates(userIds: readonly string[]): Promise<AuthState[]> {
    const found = await Promise.all([...new Set(userIds)].map((id) => this.authRow(id)));
    return found.filter((r): r is AuthRow => r !== null).map((r) => r.state);
  }

  async revokeTokens(userId: string): Promise<AuthState | null> {
    const row = await this.authRow(userId);
    if (row === null) return null;
    const gen = row.state.token_gen + 1;
    // The device entries are covered by valid_from_gen now; they expire by their TTL.
    await this.db.run('UPDATE users SET token_gen = ?, valid_from_gen = ? WHERE user_id = ?', [gen, gen, userId]);
    return { ...row.state, token_gen: gen, valid_from_gen: gen };
  }

  /**
   * The device's entry expires with the tokens it refuses (TTL: keepMs), so the map holds
   * only devices signed out within a token lifetime. Entry and generation are one
   * single-partition batch: both or neither (an entry without the raised generation would
   * refuse that device's next login too).
   */
  async revokeDevice(userId: string, deviceId: string, keepMs: number): Promise<AuthState | null> {
    const row = await this.authRow(userId);
    if (row === null) return null;
    const gen = row.state.token_gen;
    const ttl = Math.max(1, Math.min(Math.ceil(keepMs / 1000), maxTtlSeconds));
    await this.db.batch([
      { query: 'UPDATE users USING TTL ? SET revoked_devices[?] = ? WHERE user_id = ?', params: [ttl, deviceId, gen, userId] },
      { query: 'UPDATE users SET token_gen = ? WHERE user_id = ?', params: [gen + 1, userId] },
    ]);
    return { ...row.state, token_gen: gen + 1, revoked_devices: { ...row.state.revoked_devices, [deviceId]: gen } };
  }

  /**
   * The users row becomes the tombstone first (every token refused from then on), then a
   * name reserved for no time at all is released (LWT on the claim: only this account's).
   */
  async delete(userId: string, reserveUntil: number): Promise<AuthState | null> {
    const row = await this.authRow(userId);
    if (row === null) return null;
    if (row.deletedAt !== null) return row.state;
    const now = this.now();
    const gen = row.state.token_gen + 1;
    const before = await this.get(userId);
    await this.db.run(
      `UPDATE users SET deleted_at = ?, username_reserved_until = ?, display_name = ?, password_hash = ?, settings = ?, token_gen = ?, valid_from_gen = ?
       WHERE user_id = ?`,
      [now, reserveUntil, deletedUserName, '', JSON.stringify(deletedUserSettings), gen, gen, userId],
    );
    if (reserveUntil <= now) await this.db.lwt('DELETE FROM users_by_username WHERE username = ? IF user_id = ?', [row.username, userId]);
    // After the tombstone: a deletion cut short leaves rows that search skips (it checks deleted_at).
    if (before !== null) await this.unindex(searchTerms(before), userId);
    return { ...row.state, deleted: true, token_gen: gen, valid_from_gen: gen };
  }
}

/** Cassandra's largest TTL (20 years). */
const maxTtlSeconds = 630_720_000;

function toUser(row: Row): UserRecord {
  const json = str(row, 'settings');
  const deletedAt = num(row, 'deleted_at');
  return {
    user_id: str(row, 'user_id') ?? '',
    // A deleted account's name is reserved, not shown: it may go to someone else later.
    username: deletedAt === null ? (str(row, 'username') ?? '') : '',
    display_name: str(row, 'display_name') ?? '',
    password_hash: str(row, 'password_hash') ?? '',
    created_at: num(row, 'created_at') ?? 0,
    settings: { ...defaultUserSettings, ...(json === null ? {} : (JSON.parse(json) as Partial<UserSettings>)) },
    deleted_at: deletedAt,
  };
}

function toAuthRow(row: Row): AuthRow {
  const deletedAt = num(row, 'deleted_at');
  const revoked: Record<string, number> = {};
  // map<text, bigint>: the driver gives an object of Longs; expired entries are gone (TTL).
  const devices: unknown = row.get('revoked_devices');
  if (devices !== null && typeof devices === 'object') {
    for (const [device, gen] of Object.entries(devices as Record<string, unknown>)) revoked[device] = toNumber(gen);
  }
  return {
    state: {
      user_id: str(row, 'user_id') ?? '',
      deleted: deletedAt !== null,
      token_gen: num(row, 'token_gen') ?? 0,
      valid_from_gen: num(row, 'valid_from_gen') ?? 0,
      revoked_devices: revoked,
    },
    username: str(row, 'username') ?? '',
    deletedAt,
    reservedUntil: num(row, 'username_reserved_until'),
  };
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && 'toNumber' in v && typeof (v as { toNumber: unknown }).toNumber === 'function') {
    return (v as { toNumber(): number }).toNumber();
  }
  return Number(v);
}

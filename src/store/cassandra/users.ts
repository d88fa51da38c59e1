/** users and users_by_username: accounts, the unique lowercase username, settings. */
import { ProtocolError } from '../../protocol';
import { defaultUserSettings, type NewUser, type UserRecord, type UserSettings } from '../types';
import { num, str, type Cql, type Row } from './db';

const columns = 'user_id, username, display_name, password_hash, created_at, settings';
const settingKeys = Object.keys(defaultUserSettings) as (keyof UserSettings)[];

export class UserTable {
  constructor(private readonly db: Cql) {}

  /**
   * Claims the username first (LWT), then writes the users row, so two shards can never
   * both hand out a name. A process dying between the two writes leaves a claim without a
   * user: the name stays taken (getUserByUsername answers null for it) until removed by hand.
   */
  async create(user: NewUser): Promise<UserRecord> {
    const record: UserRecord = {
      user_id: user.user_id,
      username: user.username.toLowerCase(),
      display_name: user.display_name,
      password_hash: user.password_hash,
      created_at: user.created_at,
      settings: { ...defaultUserSettings },
    };
    const claim = await this.db.lwt('INSERT INTO users_by_username (username, user_id) VALUES (?, ?) IF NOT EXISTS', [record.username, record.user_id]);
    // A retried create of the same user finds its own claim.
    if (!claim.applied && claim.row.get('user_id') !== record.user_id) throw new ProtocolError('conflict', 'username taken');
    await this.db.run(`INSERT INTO users (${columns}) VALUES (?, ?, ?, ?, ?, ?)`, [
      record.user_id,
      record.username,
      record.display_name,
      record.password_hash,
      record.created_at,
      JSON.stringify(record.settings),
    ]);
    return record;
  }

  async get(userId: string): Promise<UserRecord | null> {
    const row = await this.db.first(`SELECT ${columns} FROM users WHERE user_id = ?`, [userId]);
    return row === null ? null : toUser(row);
  }

  async getByUsername(username: string): Promise<UserRecord | null> {
    const claim = await this.db.first('SELECT user_id FROM users_by_username WHERE username = ?', [username.toLowerCase()]);
    const userId = claim === null ? null : str(claim, 'user_id');
    return userId === null ? null : this.get(userId);
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
}

function toUser(row: Row): UserRecord {
  const json = str(row, 'settings');
  return {
    user_id: str(row, 'user_id') ?? '',
    username: str(row, 'username') ?? '',
    display_name: str(row, 'display_name') ?? '',
    password_hash: str(row, 'password_hash') ?? '',
    created_at: num(row, 'created_at') ?? 0,
    settings: { ...defaultUserSettings, ...(json === null ? {} : (JSON.parse(json) as Partial<UserSettings>)) },
  };
}

/**
 * Push registrations and push dead letters on Cassandra (Store's push methods;
 * PushRegistration and PushDeadLetter in ../types.ts, the tables in schema.cql).
 * Registration rows are written only by LWTs: a put races a provider's "gone" answer
 * (deletePushRegistrationIfTarget), and a row never mixes Paxos and plain writes.
 */
import type { PushDeadLetter, PushRegistration, PushTarget } from '../types';
import { clampLimit, pushTargetOf, pushTargetText } from '../common';
import { num, str, type Cql, type Row } from './db';
import { ContentionError } from '../../observability';

const insertCql =
  'INSERT INTO push_registrations (user_id, device_id, platform, app_id, target, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS';
// created_at is left alone: a replace keeps the first registration's time.
const replaceCql = 'UPDATE push_registrations SET platform = ?, app_id = ?, target = ?, updated_at = ? WHERE user_id = ? AND device_id = ? IF EXISTS';
const ofUserCql = 'SELECT user_id, device_id, platform, app_id, target, created_at, updated_at FROM push_registrations WHERE user_id = ?';
const deleteCql = 'DELETE FROM push_registrations WHERE user_id = ? AND device_id = ? IF EXISTS';
const deleteIfCql = 'DELETE FROM push_registrations WHERE user_id = ? AND device_id = ? IF target = ?';

const letterColumns = 'letter_id, user_id, device_id, provider, failed_at, reason, attempts, payload';
const insertLetterCql = `INSERT INTO push_dead_letters (${letterColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
const lettersCql = `SELECT ${letterColumns} FROM push_dead_letters WHERE user_id = ? LIMIT ?`;
const letterKeysCql = 'SELECT failed_at, letter_id FROM push_dead_letters WHERE user_id = ? LIMIT ?';
const trimOlderCql = 'DELETE FROM push_dead_letters WHERE user_id = ? AND failed_at < ?';
const trimSameMsCql = 'DELETE FROM push_dead_letters WHERE user_id = ? AND failed_at = ? AND letter_id <= ?';

/** Lost races in a row before giving up (each means the row was deleted or created meanwhile). */
const maxRaces = 100;

export class PushTable {
  constructor(private readonly db: Cql) {}

  /** Insert if absent, else replace if present; a delete or create in between makes it try again. */
  async put(reg: PushRegistration): Promise<void> {
    const target = pushTargetText(reg.target);
    for (let race = 0; race < maxRaces; race++) {
      const created = await this.db.lwt(insertCql, [reg.user_id, reg.device_id, reg.platform, reg.app_id, target, reg.created_at, reg.updated_at]);
      if (created.applied) return;
      if (str(created.row, 'target') === target && num(created.row, 'updated_at') === reg.updated_at) return;
      if ((await this.db.lwt(replaceCql, [reg.platform, reg.app_id, target, reg.updated_at, reg.user_id, reg.device_id])).applied) return;
    }
    throw new ContentionError(`store: push registration ${reg.user_id}/${reg.device_id} kept changing under ${maxRaces} attempts`);
  }

  /** One single-partition read per user, in parallel (a multi-partition IN would load one coordinator). */
  async getMany(userIds: readonly string[]): Promise<PushRegistration[]> {
    const found = await Promise.all([...new Set(userIds)].map((id) => this.db.rows(ofUserCql, [id])));
    return found.flat().map(registrationOf);
  }

  async delete(userId: string, deviceId: string): Promise<boolean> {
    return (await this.db.lwt(deleteCql, [userId, deviceId])).applied;
  }

  async deleteIfTarget(userId: string, deviceId: string, target: PushTarget): Promise<boolean> {
    return (await this.db.lwt(deleteIfCql, [userId, deviceId, pushTargetText(target)])).applied;
  }

  /**
   * Writes the letter (an upsert: the same letter twice is one row), then, when the user
   * has more than `keep`, deletes from the (keep+1)-th newest down. Two adds at once both
   * trim to what they read, so the partition exceeds `keep` only until the next add.
   */
  async addDeadLetter(l: PushDeadLetter, keep: number): Promise<void> {
    await this.db.run(insertLetterCql, [l.letter_id, l.user_id, l.device_id, l.provider, l.failed_at, l.reason, l.attempts, l.payload]);
    const n = clampLimit(keep);
    const keys = await this.db.rows(letterKeysCql, [l.user_id, n + 1]);
    if (keys.length <= n) return;
    const failedAt = num(keys[n], 'failed_at') ?? 0;
    await this.db.batch([
      { query: trimOlderCql, params: [l.user_id, failedAt] },
      { query: trimSameMsCql, params: [l.user_id, failedAt, str(keys[n], 'letter_id')] },
    ]);
  }

  async listDeadLetters(userId: string, limit: number): Promise<PushDeadLetter[]> {
    const n = clampLimit(limit);
    if (n === 0) return []; // CQL has no LIMIT 0
    return (await this.db.rows(lettersCql, [userId, n])).map(letterOf);
  }
}

function registrationOf(row: Row): PushRegistration {
  return {
    user_id: str(row, 'user_id') ?? '',
    device_id: str(row, 'device_id') ?? '',
    // Rows written before platform and app id were kept are from browsers.
    platform: (str(row, 'platform') ?? 'web') as PushRegistration['platform'],
    app_id: str(row, 'app_id') ?? '',
    target: pushTargetOf(str(row, 'target') ?? '{}'),
    created_at: num(row, 'created_at') ?? 0,
    updated_at: num(row, 'updated_at') ?? 0,
  };
}

function letterOf(row: Row): PushDeadLetter {
  return {
    letter_id: str(row, 'letter_id') ?? '',
    user_id: str(row, 'user_id') ?? '',
    device_id: str(row, 'device_id') ?? '',
    provider: str(row, 'provider') === 'webpush' ? 'webpush' : 'fcm',
    failed_at: num(row, 'failed_at') ?? 0,
    reason: str(row, 'reason') ?? '',
    attempts: num(row, 'attempts') ?? 0,
    payload: str(row, 'payload') ?? '',
  };
}

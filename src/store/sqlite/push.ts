/**
 * Push registrations and push dead letters on SQLite (Store's push methods; PushRegistration
 * and PushDeadLetter in ../types.ts). Synchronous; each method is one statement or one
 * transaction.
 */
import type Database from 'better-sqlite3';
import type { PushDeadLetter, PushRegistration, PushTarget } from '../types';
import { clampLimit, pushTargetOf, pushTargetText } from '../common';

interface RegistrationRow {
  user_id: string;
  device_id: string;
  platform: PushRegistration['platform'];
  app_id: string;
  target: string;
  created_at: number;
  updated_at: number;
}

const letterColumns = 'letter_id, user_id, device_id, provider, failed_at, reason, attempts, payload';

export class PushTable {
  private readonly upsert: Database.Statement<[string, string, string, string, string, number, number]>;
  private readonly ofUsers: Database.Statement<[string], RegistrationRow>;
  private readonly remove: Database.Statement<[string, string]>;
  private readonly removeIf: Database.Statement<[string, string, string]>;
  private readonly insertLetter: Database.Statement<[string, string, string, string, number, string, number, string]>;
  private readonly trimLetters: Database.Statement<{ user_id: string; keep: number }>;
  private readonly letters: Database.Statement<[string, number], PushDeadLetter>;
  private readonly addLetter: Database.Transaction<(letter: PushDeadLetter, keep: number) => void>;

  constructor(db: Database.Database) {
    // A replace keeps created_at: only the target and updated_at move.
    this.upsert = db.prepare(
      `INSERT INTO push_registrations (user_id, device_id, platform, app_id, target, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, device_id) DO UPDATE SET platform = excluded.platform, app_id = excluded.app_id, target = excluded.target,
         updated_at = excluded.updated_at`,
    );
    this.ofUsers = db.prepare(
      `SELECT user_id, device_id, platform, app_id, target, created_at, updated_at FROM push_registrations
       WHERE user_id IN (SELECT value FROM json_each(?))`,
    );
    this.remove = db.prepare('DELETE FROM push_registrations WHERE user_id = ? AND device_id = ?');
    this.removeIf = db.prepare('DELETE FROM push_registrations WHERE user_id = ? AND device_id = ? AND target = ?');
    this.insertLetter = db.prepare(
      `INSERT OR REPLACE INTO push_dead_letters (${letterColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Everything at or below the (keep+1)-th newest; nothing when there are at most `keep`
    // (the subquery is NULL, and so is the comparison).
    this.trimLetters = db.prepare(
      `DELETE FROM push_dead_letters WHERE user_id = :user_id AND (failed_at, letter_id) <= (
         SELECT failed_at, letter_id FROM push_dead_letters WHERE user_id = :user_id
         ORDER BY failed_at DESC, letter_id DESC LIMIT 1 OFFSET +:keep)`,
    );
    this.letters = db.prepare(
      `SELECT ${letterColumns} FROM push_dead_letters WHERE user_id = ? ORDER BY failed_at DESC, letter_id DESC LIMIT +?`,
    );
    this.addLetter = db.transaction((l: PushDeadLetter, keep: number) => {
      this.insertLetter.run(l.letter_id, l.user_id, l.device_id, l.provider, l.failed_at, l.reason, l.attempts, l.payload);
      this.trimLetters.run({ user_id: l.user_id, keep });
    });
  }

  put(reg: PushRegistration): void {
    this.upsert.run(reg.user_id, reg.device_id, reg.platform, reg.app_id, pushTargetText(reg.target), reg.created_at, reg.updated_at);
  }

  getMany(userIds: readonly string[]): PushRegistration[] {
    if (userIds.length === 0) return [];
    return this.ofUsers.all(JSON.stringify(userIds)).map((r) => ({ ...r, target: pushTargetOf(r.target) }));
  }

  delete(userId: string, deviceId: string): boolean {
    return this.remove.run(userId, deviceId).changes > 0;
  }

  deleteIfTarget(userId: string, deviceId: string, target: PushTarget): boolean {
    return this.removeIf.run(userId, deviceId, pushTargetText(target)).changes > 0;
  }

  addDeadLetter(letter: PushDeadLetter, keep: number): void {
    this.addLetter.immediate(letter, clampLimit(keep));
  }

  listDeadLetters(userId: string, limit: number): PushDeadLetter[] {
    return this.letters.all(userId, clampLimit(limit));
  }
}

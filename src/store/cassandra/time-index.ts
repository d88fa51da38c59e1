/**
 * A time-ordered index of ids (tables time_index and time_index_hours in schema.cql):
 * what lets the collectors ask "never posted since before T" and "unreferenced since
 * before T" without a scan of the attachments or blobs table (ALLOW FILTERING).
 * Entries are hints: the owner of the index checks each against its row and removes the
 * stale ones, so an entry written before its row changes (or left by a crash) costs a
 * read, never a wrong answer.
 */
import { num, str, type Cql } from './db';

/** Partition width: an hour of entries (see schema.cql for why not a day). */
const hourMs = 3_600_000;
/** Entries read per step of a scan. */
const pageSize = 200;
/**
 * An hour is forgotten (its time_index_hours row removed) when found empty, but only once
 * it is this far in the past: entries are added at about the current time, so an add
 * racing the removal would have to carry a time hours old to be lost.
 */
const settleMs = 2 * hourMs;

const addHourCql = 'INSERT INTO time_index_hours (index_name, hour) VALUES (?, ?)';
const addCql = 'INSERT INTO time_index (index_name, hour, at, id) VALUES (?, ?, ?, ?)';
const removeCql = 'DELETE FROM time_index WHERE index_name = ? AND hour = ? AND at = ? AND id = ?';
const hoursCql = 'SELECT hour FROM time_index_hours WHERE index_name = ? AND hour <= ?';
const forgetHourCql = 'DELETE FROM time_index_hours WHERE index_name = ? AND hour = ?';
const pageCql = 'SELECT at, id FROM time_index WHERE index_name = ? AND hour = ? AND (at, id) > (?, ?) AND (at) < (?) LIMIT ?';

export interface TimeEntry {
  at: number;
  id: string;
}

export class TimeIndex {
  constructor(
    private readonly db: Cql,
    private readonly name: string,
  ) {}

  /** The hour row first: a reader that finds the entry also finds its hour. */
  async add(at: number, id: string): Promise<void> {
    const hour = hourOf(at);
    await this.db.run(addHourCql, [this.name, hour]);
    await this.db.run(addCql, [this.name, hour, at, id]);
  }

  remove(at: number, id: string): Promise<void> {
    return this.db.run(removeCql, [this.name, hourOf(at), at, id]);
  }

  /** Entries with at < before, oldest first, a page at a time (the caller stops when it has enough). */
  async *pages(before: number): AsyncGenerator<TimeEntry[]> {
    const last = hourOf(before - 1);
    const hours = (await this.db.rows(hoursCql, [this.name, last])).map((r) => num(r, 'hour') ?? 0);
    for (const hour of hours) {
      let after: TimeEntry = { at: Number.MIN_SAFE_INTEGER, id: '' };
      let seen = 0;
      for (;;) {
        const rows = await this.db.rows(pageCql, [this.name, hour, after.at, after.id, before, pageSize]);
        const page = rows.map((r) => ({ at: num(r, 'at') ?? 0, id: str(r, 'id') ?? '' }));
        seen += page.length;
        if (page.length > 0) {
          yield page;
          after = page[page.length - 1];
        }
        if (page.length < pageSize) break;
      }
      if (seen === 0 && hour < last && (hour + 1) * hourMs <= Date.now() - settleMs) {
        await this.db.run(forgetHourCql, [this.name, hour]);
      }
    }
  }
}

function hourOf(at: number): number {
  return Math.floor(at / hourMs);
}

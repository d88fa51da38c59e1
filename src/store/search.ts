/**
 * Finding people by name, the same way on every engine. Each engine keeps an index of
 * (term, user_id) rows: a user's lowercased username, display name and each word of the
 * display name. The index is a hint: every row read is checked against the user's current
 * record, so a row left behind by a rename or deletion cut short is skipped, never shown.
 */
import { ProtocolError } from '../protocol';
import type { UserRecord, UserSearchCursor, UserSearchPage } from './types';

/**
 * Queries and indexed terms are at least this many characters (code points): the
 * Cassandra index is partitioned by a term's first two, so a shorter query has no
 * partition to read. One letter finds recent contacts on the client instead.
 */
export const minSearchChars = 2;

/** A display name has at most 64 characters, so at most this many words are worth indexing. */
const maxWords = 8;

/** The normalised form of a query or name: what the index compares. */
export function searchKey(text: string): string {
  return text.normalize('NFC').trim().toLowerCase();
}

/** The first `minSearchChars` characters of a term or query: its Cassandra partition. */
export function searchPartition(key: string): string {
  return Array.from(key).slice(0, minSearchChars).join('');
}

/** Past every term starting with `prefix`, in code point (UTF-8 byte) order: the range's upper bound. */
export function searchUpperBound(prefix: string): string {
  return `${prefix}\u{10FFFF}`;
}

/** The terms a user is found by; none for a deleted account. */
export function searchTerms(user: Pick<UserRecord, 'username' | 'display_name' | 'deleted_at'>): string[] {
  if (user.deleted_at !== null) return [];
  const name = searchKey(user.display_name);
  const words = name.split(/\s+/).slice(0, maxWords);
  const terms = new Set([searchKey(user.username), name, ...words]);
  return [...terms].filter((t) => Array.from(t).length >= minSearchChars);
}

/** Throws bad_request for a query the index cannot answer; the normalised query otherwise. */
export function checkSearchQuery(q: string): string {
  const key = searchKey(q);
  const chars = Array.from(key).length;
  if (chars < minSearchChars || chars > 64) throw new ProtocolError('bad_request', `q must be ${minSearchChars} to 64 characters`);
  return key;
}

/** Rows read per round (also the largest page), and rounds per call: a page of mostly hidden users ends early with a cursor. */
const scanBatch = 100;
const maxRounds = 5;

/** One row of an engine's index, in index order (term, then user_id). */
export type SearchRow = UserSearchCursor;

/** What searchUsers needs of an engine. */
export interface SearchSource {
  /** Index rows with a term starting with `prefix`, after `after` (exclusive) in index order, at most `limit`. */
  scan(prefix: string, after: SearchRow | null, limit: number): Promise<SearchRow[]>;
  getUsers(userIds: readonly string[]): Promise<UserRecord[]>;
}


/**
 * The Store's searchUsers on an engine's index. A user is listed at the smallest of its
 * current terms that starts with the query, so it appears once however many of its names
 * match, and a stale row (a former name) or a hidden user (deleted, not discoverable) is
 * skipped. The cursor is the last row looked at, so the next page starts after it.
 */
export async function searchUsers(source: SearchSource, query: string, cursor: UserSearchCursor | null, limit: number): Promise<UserSearchPage> {
  const prefix = checkSearchQuery(query);
  const want = Math.max(1, Math.min(limit, scanBatch));
  const users: UserRecord[] = [];
  // A cursor of another query (a client mixing them up) starts from the beginning.
  let after = cursor !== null && cursor.term.startsWith(prefix) ? cursor : null;
  for (let round = 0; round < maxRounds; round++) {
    const rows = await source.scan(prefix, after, scanBatch);
    const found = new Map((await source.getUsers([...new Set(rows.map((r) => r.user_id))])).map((u) => [u.user_id, u]));
    for (const row of rows) {
      after = row;
      const user = found.get(row.user_id);
      if (user !== undefined && listedTerm(user, prefix) === row.term) users.push(user);
      if (users.length === want) return { users, next_cursor: row };
    }
    if (rows.length < scanBatch) return { users, next_cursor: null };
  }
  return { users, next_cursor: after };
}

/** The term a user is listed under for `prefix`; null when hidden or no current name matches. */
function listedTerm(user: UserRecord, prefix: string): string | null {
  if (user.deleted_at !== null || !user.settings.discoverable) return null;
  let best: string | null = null;
  for (const term of searchTerms(user)) {
    if (term.startsWith(prefix) && (best === null || compareUtf8(term, best) < 0)) best = term;
  }
  return best;
}

/** Code point order, which is the engines' (SQLite BINARY, Cassandra text: UTF-8 bytes); JS `<` compares UTF-16 units. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

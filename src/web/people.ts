/**
 * Finding people as one types: recent contacts (direct-chat peers, from the inbox this
 * client holds) first, matched here from the first letter; then the server's search
 * (`GET /users/search`, two letters or more), debounced and paged.
 */
import type { InboxRow, User, UserSearchPage } from '../client';

/** The server answers from this many characters; one letter matches recent contacts only. */
export const minServerChars = 2;
/** Typing pauses this long before the server is asked (the per-user search budget is small). */
export const searchDelayMs = 250;

/** As the server compares: trimmed, lowercased. */
export function normalise(text: string): string {
  return text.normalize('NFC').trim().toLowerCase();
}

/** Whether `query` starts the username, the display name or a word of it (the server's rule). */
export function matchesName(user: User, query: string): boolean {
  const q = normalise(query);
  if (q === '') return false;
  const name = normalise(user.display_name ?? '');
  return user.username.startsWith(q) || name.startsWith(q) || name.split(/\s+/).some((w) => w.startsWith(q));
}

/**
 * The peers of the user's direct chats matching `query`, most recent conversation first;
 * `rows` newest first, `userOf` the names this client knows (unknown peers are skipped).
 */
export function recentContacts(rows: readonly InboxRow[], userOf: (id: string) => User | undefined, query: string, limit: number): User[] {
  const out: User[] = [];
  for (const row of rows) {
    if (row.type !== 'direct' || row.peer_id === null) continue;
    const user = userOf(row.peer_id);
    if (user && !user.deleted && matchesName(user, query)) out.push(user);
    if (out.length === limit) break;
  }
  return out;
}

/** What a search shows: recent contacts, then the server's results (without the recent ones again). */
export interface SearchView {
  query: string;
  recent: User[];
  found: User[];
  next_cursor: string | null;
  loading: boolean;
  error: string | null;
}

/** The page's users without those already shown. */
export function withoutShown(page: UserSearchPage, shown: readonly User[]): User[] {
  const ids = new Set(shown.map((u) => u.user_id));
  return page.users.filter((u) => !ids.has(u.user_id));
}

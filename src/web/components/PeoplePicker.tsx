/**
 * A search box's results: recent contacts first, then people the server finds, as one
 * types (debounced). Used by New chat (pick one person) and by group creation (pick many,
 * shown as chips).
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type User } from '../../client';
import { minServerChars, normalise, searchDelayMs, withoutShown, type SearchView } from '../people';
import type { AppStore } from '../store';
import { Avatar } from './ui';

const idle = (query: string): SearchView => ({ query, recent: [], found: [], next_cursor: null, loading: false, error: null });

function errorText(err: unknown): string {
  if (err instanceof ApiError && err.code === 'rate_limited') return 'Searching too fast: wait a moment.';
  return err instanceof Error ? err.message : String(err);
}

/** The search for `query`: recent contacts at once, the server's page after a pause; `more` loads the next page. */
export function usePeopleSearch(store: AppStore, query: string): { view: SearchView; more: () => void } {
  const [view, setView] = useState<SearchView>(() => idle(query));
  useEffect(() => {
    const q = normalise(query);
    const recent = q === '' ? [] : store.recentContacts(q);
    if (Array.from(q).length < minServerChars) {
      setView({ ...idle(q), recent });
      return;
    }
    setView({ ...idle(q), recent, loading: true });
    let current = true;
    const timer = setTimeout(() => {
      store.searchPeople(q).then(
        (page) => current && setView({ ...idle(q), recent, found: withoutShown(page, recent), next_cursor: page.next_cursor }),
        (err: unknown) => current && setView({ ...idle(q), recent, error: errorText(err) }),
      );
    }, searchDelayMs);
    // A newer query replaces this one: its answer, if it comes late, is dropped.
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [store, query]);

  const more = () => {
    const cursor = view.next_cursor;
    if (cursor === null || view.loading) return;
    const q = view.query;
    setView({ ...view, loading: true });
    store.searchPeople(q, cursor).then(
      (page) => setView((v) => (v.query === q ? { ...v, found: [...v.found, ...withoutShown(page, [...v.recent, ...v.found])], next_cursor: page.next_cursor, loading: false } : v)),
      (err: unknown) => setView((v) => (v.query === q ? { ...v, loading: false, error: errorText(err) } : v)),
    );
  };
  return { view, more };
}

/** The result list of a search; people in `exclude` (already picked) are left out. */
export function PeopleResults(props: { view: SearchView; more: () => void; exclude?: ReadonlySet<string>; onPick: (user: User) => void }) {
  const { view } = props;
  const keep = (u: User) => !props.exclude?.has(u.user_id);
  const recent = view.recent.filter(keep);
  const found = view.found.filter(keep);
  if (view.query === '') return null;
  const nothing = !view.loading && view.error === null && recent.length === 0 && found.length === 0;
  return (
    <div class="people-results" data-testid="people-results" aria-live="polite">
      {recent.length > 0 && <h3 class="people-heading">Recent</h3>}
      {recent.length > 0 && <PersonList users={recent} onPick={props.onPick} recent />}
      {found.length > 0 && <h3 class="people-heading">{recent.length > 0 ? 'More people' : 'People'}</h3>}
      {found.length > 0 && <PersonList users={found} onPick={props.onPick} />}
      {view.loading && (
        <p class="hint people-status" data-testid="people-loading">
          Searching…
        </p>
      )}
      {view.error !== null && (
        <p class="error" role="alert" data-testid="people-error">
          {view.error}
        </p>
      )}
      {nothing && (
        <p class="hint people-status" data-testid="people-none">
          {Array.from(view.query).length < minServerChars ? 'Keep typing to search everyone.' : 'No one found by that name. If it is their exact username, press Enter to open the chat.'}
        </p>
      )}
      {view.next_cursor !== null && !view.loading && (
        <button type="button" class="link people-more" data-testid="people-more" onClick={props.more}>
          More results
        </button>
      )}
    </div>
  );
}

function PersonList(props: { users: User[]; onPick: (user: User) => void; recent?: boolean }) {
  return (
    <ul class="people-list">
      {props.users.map((u) => (
        <li key={u.user_id}>
          <button
            type="button"
            class="person"
            data-testid="person-result"
            data-user-id={u.user_id}
            data-username={u.username}
            data-recent={props.recent ? 'true' : 'false'}
            onClick={() => props.onPick(u)}
          >
            <Avatar id={u.user_id} name={u.display_name || u.username} size={32} />
            <span class="person-names">
              <span class="person-name">{u.display_name || u.username}</span>
              <span class="hint">@{u.username}</span>
            </span>
          </button>
        </li>
      ))}
    </ul>
  );
}

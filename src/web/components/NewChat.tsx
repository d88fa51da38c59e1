/**
 * New chat: find a person as you type and open the direct chat with them (an exact
 * username typed and submitted works too, for people who are not discoverable); or create
 * a group, its members picked from the same search and shown as removable chips.
 */
import { useRef, useState } from 'preact/hooks';
import { ApiError, type User } from '../../client';
import type { AppStore } from '../store';
import { normalise } from '../people';
import { useDialogFocus } from './focus';
import { PeopleResults, usePeopleSearch } from './PeoplePicker';

export function NewChatDialog(props: { store: AppStore; onClose: () => void; onOpened: (convId: string) => void }) {
  const { store } = props;
  const [mode, setMode] = useState<'direct' | 'group'>('direct');
  const [query, setQuery] = useState('');
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState<User[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { view, more } = usePeopleSearch(store, query);
  const dialog = useRef<HTMLFormElement>(null);
  useDialogFocus(dialog, props.onClose);

  const run = async (open: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    try {
      props.onOpened(await open());
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'forbidden' ? 'Not allowed.' : err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  const pick = (user: User) => {
    if (mode === 'direct') {
      void run(() => store.startDirectWith(user));
      return;
    }
    if (!members.some((m) => m.user_id === user.user_id)) setMembers([...members, user]);
    setQuery('');
  };

  const submit = (e: Event) => {
    e.preventDefault();
    if (mode === 'direct') {
      // A typed username that is on the list is that person, and so is the only person the
      // list shows; any other text is looked up as an exact username.
      const typed = normalise(query).replace(/^@/, '');
      const listed = [...view.recent, ...view.found];
      const shown = listed.find((u) => u.username === typed) ?? (listed.length === 1 ? listed[0] : undefined);
      void run(() => (shown ? store.startDirectWith(shown) : store.startDirect(query)));
    }
    else if (members.length === 0) setError('Add at least one other member.');
    else void run(() => store.createGroupWith(title, members));
  };

  /** A new query: the last error was about the old one. */
  const type = (text: string) => {
    setQuery(text);
    setError(null);
  };

  const switchTo = (next: 'direct' | 'group') => {
    setMode(next);
    setQuery('');
    setError(null);
  };

  return (
    <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="new-chat-heading" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <form class="dialog new-chat" ref={dialog} onSubmit={submit} data-testid="new-chat-dialog">
        <header>
          <h2 id="new-chat-heading">New chat</h2>
          <button type="button" class="icon-btn" aria-label="Close" data-testid="new-chat-close" onClick={props.onClose}>
            ✕
          </button>
        </header>
        <div class="tabs" role="group" aria-label="Chat type">
          <button type="button" aria-pressed={mode === 'direct'} class={mode === 'direct' ? 'active' : ''} data-testid="new-direct-tab" onClick={() => switchTo('direct')}>
            Direct
          </button>
          <button type="button" aria-pressed={mode === 'group'} class={mode === 'group' ? 'active' : ''} data-testid="new-group-tab" onClick={() => switchTo('group')}>
            Group
          </button>
        </div>
        {mode === 'direct' ? (
          <label>
            To
            <input
              data-testid="new-direct-username"
              type="search"
              autocapitalize="off"
              autocomplete="off"
              spellcheck={false}
              required
              autoFocus
              value={query}
              onInput={(e) => type(e.currentTarget.value)}
              placeholder="Search by name or username"
            />
          </label>
        ) : (
          <>
            <label>
              Group name
              <input data-testid="new-group-title" maxLength={128} value={title} onInput={(e) => setTitle(e.currentTarget.value)} placeholder="e.g. Weekend plans" />
            </label>
            <label>
              <span>
                Members <span class="hint">({members.length} picked)</span>
              </span>
              <span class="chips" data-testid="member-chips">
                {members.map((m) => (
                  <span class="chip" key={m.user_id} data-testid="member-chip" data-user-id={m.user_id}>
                    {m.display_name || m.username}
                    <button
                      type="button"
                      class="chip-remove"
                      data-testid="member-chip-remove"
                      aria-label={`Remove ${m.display_name || m.username}`}
                      onClick={() => setMembers(members.filter((x) => x.user_id !== m.user_id))}
                    >
                      ✕
                    </button>
                  </span>
                ))}
                <input
                  data-testid="new-group-search"
                  type="search"
                  autocapitalize="off"
                  autocomplete="off"
                  spellcheck={false}
                  value={query}
                  onInput={(e) => type(e.currentTarget.value)}
                  onKeyDown={(e) => {
                    // Backspace in an empty box takes back the last chip, as in mail clients.
                    if (e.key === 'Backspace' && query === '' && members.length > 0) setMembers(members.slice(0, -1));
                    // Enter picks the first match rather than creating the group half-filled.
                    const first = [...view.recent, ...view.found].find((u) => !members.some((m) => m.user_id === u.user_id));
                    if (e.key === 'Enter' && query.trim() !== '' && first !== undefined) {
                      e.preventDefault();
                      pick(first);
                    }
                  }}
                  placeholder={members.length ? 'Add more people' : 'Search by name or username'}
                />
              </span>
            </label>
          </>
        )}
        <PeopleResults view={view} more={more} exclude={new Set(members.map((m) => m.user_id))} onPick={pick} />
        {error && (
          <p class="error" role="alert" data-testid="new-chat-error">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy} data-testid="new-chat-submit">
          {mode === 'direct' ? 'Start chat' : 'Create group'}
        </button>
      </form>
    </div>
  );
}

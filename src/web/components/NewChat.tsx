/** Start a direct chat by username, or create a group with a title and members. */
import { useRef, useState } from 'preact/hooks';
import { ApiError } from '../../client';
import type { AppStore } from '../store';
import { useDialogFocus } from './focus';

export function NewChatDialog(props: { store: AppStore; onClose: () => void; onOpened: (convId: string) => void }) {
  const [mode, setMode] = useState<'direct' | 'group'>('direct');
  const [username, setUsername] = useState('');
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const dialog = useRef<HTMLFormElement>(null);
  useDialogFocus(dialog, props.onClose);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const convId =
        mode === 'direct'
          ? await props.store.startDirect(username)
          : await props.store.createGroup(title, members.split(/[\s,]+/).filter(Boolean));
      props.onOpened(convId);
    } catch (err) {
      setError(err instanceof ApiError && err.code === 'forbidden' ? 'Not allowed.' : err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  return (
    <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="new-chat-heading" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <form class="dialog" ref={dialog} onSubmit={submit} data-testid="new-chat-dialog">
        <header>
          <h2 id="new-chat-heading">New chat</h2>
          <button type="button" class="icon-btn" aria-label="Close" data-testid="new-chat-close" onClick={props.onClose}>
            ✕
          </button>
        </header>
        <div class="tabs" role="group" aria-label="Chat type">
          <button type="button" aria-pressed={mode === 'direct'} class={mode === 'direct' ? 'active' : ''} data-testid="new-direct-tab" onClick={() => setMode('direct')}>
            Direct
          </button>
          <button type="button" aria-pressed={mode === 'group'} class={mode === 'group' ? 'active' : ''} data-testid="new-group-tab" onClick={() => setMode('group')}>
            Group
          </button>
        </div>
        {mode === 'direct' ? (
          <label>
            Username
            <input data-testid="new-direct-username" autocapitalize="off" required autoFocus value={username} onInput={(e) => setUsername(e.currentTarget.value)} placeholder="e.g. ann" />
          </label>
        ) : (
          <>
            <label>
              Group name
              <input data-testid="new-group-title" maxLength={128} value={title} onInput={(e) => setTitle(e.currentTarget.value)} placeholder="e.g. Weekend plans" />
            </label>
            <label>
              <span>
                Members <span class="hint">(usernames, separated by commas)</span>
              </span>
              <input data-testid="new-group-members" autocapitalize="off" required value={members} onInput={(e) => setMembers(e.currentTarget.value)} placeholder="ann, bob" />
            </label>
          </>
        )}
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

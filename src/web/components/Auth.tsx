/** Sign in / sign up. */
import { useState } from 'preact/hooks';
import { ApiError } from '../../client';
import type { Session } from '../storage';
import { authenticate } from '../auth';

export function AuthScreen(props: { onSignedIn: (s: Session) => void; notice: string | null }) {
  const [mode, setMode] = useState<'signin' | 'signup'>('signin');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(props.notice);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await authenticate(mode, username.trim(), password, displayName));
    } catch (err) {
      setError(describe(err, mode));
      setBusy(false);
    }
  };

  // The ARIA tabs pattern: one tab stop for the pair, the arrow keys move between them.
  const switchTab = (e: KeyboardEvent) => {
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) return;
    e.preventDefault();
    const next = e.key === 'Home' ? 'signin' : e.key === 'End' ? 'signup' : mode === 'signin' ? 'signup' : 'signin';
    setMode(next);
    document.getElementById(`tab-${next}`)?.focus();
  };

  return (
    <div class="auth">
      <form class="auth-card" onSubmit={submit} data-testid="auth-form">
        <div class="brand">
          <span class="brand-mark">R</span>
          <h1>Relay</h1>
        </div>
        <div class="tabs" role="tablist" aria-label="Account" onKeyDown={switchTab}>
          <button type="button" role="tab" id="tab-signin" aria-selected={mode === 'signin'} tabIndex={mode === 'signin' ? 0 : -1} class={mode === 'signin' ? 'active' : ''} data-testid="tab-signin" onClick={() => setMode('signin')}>
            Sign in
          </button>
          <button type="button" role="tab" id="tab-signup" aria-selected={mode === 'signup'} tabIndex={mode === 'signup' ? 0 : -1} class={mode === 'signup' ? 'active' : ''} data-testid="tab-signup" onClick={() => setMode('signup')}>
            Create account
          </button>
        </div>
        <label>
          Username
          <input data-testid="auth-username" autocomplete="username" autocapitalize="off" required minLength={3} maxLength={32} pattern="[A-Za-z0-9_.\-]+" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </label>
        {mode === 'signup' && (
          <label>
            <span>
              Display name <span class="hint">(optional)</span>
            </span>
            <input data-testid="auth-display-name" autocomplete="name" maxLength={64} value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} />
          </label>
        )}
        <label>
          Password
          <input data-testid="auth-password" type="password" autocomplete={mode === 'signup' ? 'new-password' : 'current-password'} required minLength={mode === 'signup' ? 8 : 1} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy} data-testid="auth-submit">
          {busy ? '…' : mode === 'signin' ? 'Sign in' : 'Create account'}
        </button>
      </form>
    </div>
  );
}

function describe(err: unknown, mode: 'signin' | 'signup'): string {
  if (err instanceof ApiError) {
    if (err.code === 'conflict') return 'That username is taken.';
    if (err.code === 'unauthorized') return 'Wrong username or password.';
    if (err.code === 'rate_limited') return 'Too many attempts: wait a moment.';
    if (err.code === 'bad_request') return mode === 'signup' ? 'Usernames are 3-32 letters, digits, . _ -; passwords at least 8 characters.' : err.message;
    if (err.status === 0) return 'Cannot reach the server.';
  }
  return err instanceof Error ? err.message : String(err);
}

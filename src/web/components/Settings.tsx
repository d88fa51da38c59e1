/**
 * The Settings view: profile (display name), privacy (online status, last seen, read
 * receipts, being found by name), notifications (this browser's push, previews in them),
 * connection, and signing out of this device or of every device.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatTransportOption, UserSettings } from '../../client';
import type { AppStore } from '../store';
import { PushToggle } from './PushToggle';
import { Avatar } from './ui';
import { useDialogFocus } from './focus';

/** The switches, in the order shown, with what each means to the person turning it. */
const privacy: { key: keyof UserSettings; label: string; hint: string }[] = [
  { key: 'show_presence', label: 'Show when you are active', hint: 'Off: you always appear offline to others, with no last-active time.' },
  { key: 'show_last_seen', label: 'Show when you were last active', hint: 'Off: people see whether you are active now, never "Active 5m ago".' },
  { key: 'send_read_receipts', label: 'Send read receipts', hint: 'Off: people do not see when you have read their messages.' },
  { key: 'discoverable', label: 'Let people find you by name', hint: 'Off: only someone who knows your exact username can start a chat with you.' },
];

export function SettingsDialog(props: {
  store: AppStore;
  onClose: () => void;
  onSignOut: (everywhere: boolean) => Promise<void>;
  onTransport: (t: ChatTransportOption) => void;
}) {
  const { store } = props;
  const [settings, setSettings] = useState<UserSettings | null>(null);
  const [name, setName] = useState(store.me.display_name);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const dialog = useRef<HTMLDivElement>(null);
  useDialogFocus(dialog, props.onClose);
  const [confirmAll, setConfirmAll] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    store.loadSettings().then(setSettings, (err: unknown) => setError(`Could not load your settings: ${String(err instanceof Error ? err.message : err)}`));
  }, [store]);

  const toggle = async (key: keyof UserSettings) => {
    if (settings === null) return;
    const before = settings;
    // Shown at once; put back if the server refuses.
    setSettings({ ...before, [key]: !before[key] });
    setError(null);
    try {
      setSettings(await store.updateSettings({ [key]: !before[key] }));
    } catch (err) {
      setSettings(before);
      setError(`Could not change that setting: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const rename = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(null);
    try {
      await store.rename(name.trim());
      setSaved('Saved');
    } catch (err) {
      setError(`Could not change your name: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const signOut = async (everywhere: boolean) => {
    setBusy(true);
    setError(null);
    try {
      await props.onSignOut(everywhere);
    } catch (err) {
      setError(`Could not sign out: ${err instanceof Error ? err.message : String(err)}`);
      setBusy(false);
    }
  };

  const unchanged = name.trim() === store.me.display_name || name.trim() === '';
  return (
    <div class="overlay" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="dialog settings-view" ref={dialog} role="dialog" aria-modal="true" aria-labelledby="settings-title" data-testid="settings-view">
        <header>
          <h2 id="settings-title">Settings</h2>
          <button type="button" class="icon-btn" aria-label="Close settings" data-testid="settings-close" onClick={props.onClose}>
            ✕
          </button>
        </header>

        <section class="settings-section" aria-labelledby="settings-profile">
          <h3 id="settings-profile">Profile</h3>
          <form class="settings-profile" onSubmit={rename}>
            <Avatar id={store.me.user_id} name={store.me.display_name} size={48} />
            <label class="grow">
              Display name
              <input
                data-testid="settings-display-name"
                maxLength={64}
                required
                value={name}
                onInput={(e) => {
                  setName(e.currentTarget.value);
                  setSaved(null);
                }}
              />
            </label>
            <button class="secondary" type="submit" disabled={unchanged} data-testid="settings-save-name">
              Save
            </button>
          </form>
          <p class="hint">
            Signed in as <b data-testid="me-name">{store.me.display_name}</b> @{store.me.username}
            {saved && (
              <span class="saved" data-testid="settings-saved">
                {' '}
                · {saved}
              </span>
            )}
          </p>
        </section>

        <section class="settings-section" aria-labelledby="settings-privacy">
          <h3 id="settings-privacy">Privacy</h3>
          {privacy.map((p) => (
            <Switch key={p.key} id={p.key} label={p.label} hint={p.hint} value={settings?.[p.key] ?? null} onToggle={() => void toggle(p.key)} />
          ))}
        </section>

        <section class="settings-section" aria-labelledby="settings-notifications">
          <h3 id="settings-notifications">Notifications</h3>
          <PushToggle client={store.client} />
          <Switch
            id="push_previews"
            label="Show names and text in notifications"
            hint='Off: notifications say only "New message".'
            value={settings?.push_previews ?? null}
            onToggle={() => void toggle('push_previews')}
          />
        </section>

        <section class="settings-section" aria-labelledby="settings-connection">
          <h3 id="settings-connection">Connection</h3>
          <label class="settings-row">
            How to connect
            <select data-testid="transport-select" value={store.transportPref} onChange={(e) => props.onTransport(e.currentTarget.value as ChatTransportOption)}>
              <option value="auto">Automatic</option>
              <option value="websocket">WebSocket only</option>
              <option value="longpoll">Long-poll only</option>
            </select>
          </label>
        </section>

        {error && (
          <p class="error" role="alert" data-testid="settings-error">
            {error}
          </p>
        )}

        <section class="settings-section settings-signout">
          <button class="danger" disabled={busy} data-testid="sign-out" onClick={() => void signOut(false)}>
            Sign out
          </button>
          {confirmAll ? (
            <div class="confirm" data-testid="sign-out-all-confirm">
              <span>Sign out of every device, this one included?</span>
              <button class="danger" disabled={busy} data-testid="sign-out-all-yes" onClick={() => void signOut(true)}>
                Sign out everywhere
              </button>
              <button class="secondary" disabled={busy} onClick={() => setConfirmAll(false)}>
                Cancel
              </button>
            </div>
          ) : (
            <button class="danger" disabled={busy} data-testid="sign-out-all" onClick={() => setConfirmAll(true)}>
              Sign out of all devices
            </button>
          )}
        </section>
      </div>
    </div>
  );
}

/** A labelled on/off switch (a checkbox underneath, so keyboards and screen readers know it); null while loading. */
function Switch(props: { id: string; label: string; hint: string; value: boolean | null; onToggle: () => void }) {
  return (
    <label class="switch-row" data-testid={`setting-${props.id}`} data-on={props.value === null ? '' : String(props.value)}>
      <span class="switch-text">
        <span>{props.label}</span>
        <span class="hint">{props.hint}</span>
      </span>
      <input type="checkbox" role="switch" class="switch" checked={props.value === true} disabled={props.value === null} onChange={props.onToggle} />
    </label>
  );
}

/** The settings row that turns notifications on and off for this browser (the only place permission is asked for). */
import { useEffect, useState } from 'preact/hooks';
import type { ChatClient } from '../../client';
import { pushStatus, turnOff, turnOn, type PushStatus } from '../push';

export function PushToggle(props: { client: ChatClient }) {
  const [status, setStatus] = useState<PushStatus | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void pushStatus().then(setStatus, () => setStatus('unsupported'));
  }, []);

  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      const next = await (status === 'on' ? turnOff(props.client) : turnOn(props.client));
      // The prompt was dismissed (or the browser answered for the user, as headless ones do).
      if (status !== 'on' && next === 'off') setError('Notifications stay off: the browser did not give permission.');
      setStatus(next);
    } catch (err) {
      setError(`Could not turn notifications ${status === 'on' ? 'off' : 'on'}: ${err instanceof Error ? err.message : String(err)}`);
      setStatus(await pushStatus().catch(() => 'off' as const));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="settings-col" data-testid="push-setting" data-status={status ?? 'checking'}>
      <div class="settings-row">
        <span>Notifications</span>
        {status === 'unsupported' ? (
          <span class="hint">Not available in this browser</span>
        ) : status === 'denied' ? (
          <span class="hint" data-testid="push-blocked">
            Blocked in the browser's site settings
          </span>
        ) : (
          <button class="secondary" data-testid="push-toggle" disabled={status === null || busy} onClick={() => void toggle()}>
            {status === 'on' ? 'Turn off' : 'Turn on notifications'}
          </button>
        )}
      </div>
      {error && (
        <p class="error" data-testid="push-error">
          {error}
        </p>
      )}
    </div>
  );
}

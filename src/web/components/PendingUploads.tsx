/** The composer's attached files: a thumbnail or icon each, its upload progress, its error, a remove button. */
import { fileBadge, humanSize } from '../attachments';
import type { Uploads } from './uploads';

export function PendingUploads(props: { uploads: Uploads }) {
  const { uploads } = props;
  if (!uploads.list.length) return null;
  return (
    <div class="uploads" data-testid="pending-uploads">
      {uploads.list.map((u) => {
        const state = u.error ? 'error' : u.done ? 'done' : 'uploading';
        return (
          <div key={u.key} class={'upload ' + state} data-testid="pending-upload" data-state={state} data-name={u.name} title={u.name}>
            {u.preview && !u.error ? (
              // Bytes the browser cannot show (not an image after all) leave an empty tile, not a broken icon.
              <img class="upload-thumb" src={u.preview} alt="" onError={(e) => e.currentTarget.classList.add('broken')} />
            ) : (
              <span class="upload-icon" aria-hidden="true">
                {fileBadge({ name: u.name })}
              </span>
            )}
            <span class="upload-text">
              <span class="upload-name">{u.name}</span>
              {u.error ? (
                <span class="upload-error" data-testid="upload-error" role="alert" title={u.error}>
                  {u.error}
                </span>
              ) : (
                <span class="upload-size">{humanSize(u.size)}</span>
              )}
            </span>
            {state === 'uploading' && (
              <progress class="upload-progress" data-testid="upload-progress" value={u.sent} max={Math.max(u.total, 1)} aria-label={`Uploading ${u.name}`} />
            )}
            <button type="button" class="upload-remove" data-testid="upload-remove" aria-label={`Remove ${u.name}`} onClick={() => uploads.remove(u.key)}>
              ✕
            </button>
          </div>
        );
      })}
    </div>
  );
}

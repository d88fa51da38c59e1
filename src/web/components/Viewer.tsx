/**
 * A photo full screen: the thumbnail (or placeholder) at once, then the display size once
 * it can be had (made a moment after the upload: asked again until then). Takes the focus while
 * open (Tab stays inside); closes on Esc, on a click anywhere, or with its button; offers the download.
 */
import { useRef } from 'preact/hooks';
import type { Attachment } from '../../client';
import { placeholderUrl, startDownload } from '../attachments';
import type { AppStore } from '../store';
import { useDialogFocus } from './focus';
import { useAttachmentUrl } from './useAttachmentUrl';

export function Viewer(props: { store: AppStore; a: Attachment; onClose: () => void }) {
  const { store, a, onClose } = props;
  const thumb = useAttachmentUrl(store, a.id, 'thumbnail', a.thumbnail !== null);
  const display = useAttachmentUrl(store, a.id, 'display', true, a.display !== null);
  const src = display ?? thumb ?? (a.placeholder ? placeholderUrl(a.placeholder) : null);

  const root = useRef<HTMLDivElement>(null);
  useDialogFocus(root, onClose);

  const download = (e: Event) => {
    e.stopPropagation();
    store.attachmentUrl(a.id, 'original').then((u) => startDownload(u.url, a.name), () => undefined);
  };

  return (
    <div
      class="viewer"
      ref={root}
      role="dialog"
      aria-modal="true"
      aria-label={a.name}
      data-testid="viewer"
      onClick={(e) => {
        // Not to the message bubble it sits in: that would select the message.
        e.stopPropagation();
        onClose();
      }}
    >
      <div class="viewer-bar">
        <span class="viewer-name">{a.name}</span>
        <button type="button" class="icon-btn" aria-label="Download" data-testid="viewer-download" onClick={download}>
          ⤓
        </button>
        <button type="button" class="icon-btn" aria-label="Close" data-testid="viewer-close">
          ✕
        </button>
      </div>
      {src && (
        <img
          class="viewer-image"
          data-testid="viewer-image"
          data-rendition={display ? 'display' : 'thumbnail'}
          src={src}
          alt={a.name}
          width={a.display?.width ?? a.width ?? undefined}
          height={a.display?.height ?? a.height ?? undefined}
        />
      )}
    </div>
  );
}

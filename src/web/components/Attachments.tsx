/**
 * A message's attachments: photos as tiles that take their final size at once (the
 * ThumbHash placeholder, then the thumbnail over it; a click opens the viewer), other
 * files as chips (icon, name, size) that download the original.
 */
import { useState } from 'preact/hooks';
import type { Attachment } from '../../client';
import { fileBadge, fitBox, humanSize, placeholderUrl, startDownload } from '../attachments';
import type { AppStore } from '../store';
import { useAttachmentUrl } from './useAttachmentUrl';
import { Viewer } from './Viewer';

/** One photo alone fits this box; several are square tiles of `tile` px, two a row. */
const single = { width: 280, height: 320 };
const tile = 136;

export function MessageAttachments(props: { store: AppStore; list: Attachment[] }) {
  const { store, list } = props;
  const [open, setOpen] = useState<string | null>(null);
  const images = list.filter((a) => a.kind === 'image');
  const files = list.filter((a) => a.kind !== 'image');
  const viewing = open !== null ? images.find((a) => a.id === open) : undefined;
  return (
    <div class="attachments" data-testid="attachments">
      {images.length > 0 && (
        <div class={'att-images' + (images.length > 1 ? ' grid' : '')}>
          {images.map((a) => (
            <ImageTile key={a.id} store={store} a={a} box={images.length > 1 ? { width: tile, height: tile } : fitBox(a, single.width, single.height)} onOpen={() => setOpen(a.id)} />
          ))}
        </div>
      )}
      {files.map((a) => (
        <FileChip key={a.id} store={store} a={a} />
      ))}
      {viewing && <Viewer store={store} a={viewing} onClose={() => setOpen(null)} />}
    </div>
  );
}

function ImageTile(props: { store: AppStore; a: Attachment; box: { width: number; height: number }; onOpen: () => void }) {
  const { store, a, box } = props;
  const thumb = useAttachmentUrl(store, a.id, 'thumbnail', a.thumbnail !== null);
  const [loaded, setLoaded] = useState<string | null>(null);
  const placeholder = a.placeholder ? placeholderUrl(a.placeholder) : null;
  const shown = thumb !== null && loaded === thumb;
  return (
    <button
      type="button"
      class={'att-image' + (shown ? ' loaded' : '')}
      data-testid="attachment-image"
      data-state={shown ? 'loaded' : 'placeholder'}
      aria-label={`Photo ${a.name}`}
      style={{ width: `${box.width}px`, height: `${box.height}px` }}
      onClick={(e) => {
        e.stopPropagation();
        props.onOpen();
      }}
    >
      {placeholder && <img class="att-placeholder" data-testid="attachment-placeholder" src={placeholder} alt="" />}
      {thumb && <img class="att-thumb" data-testid="attachment-thumbnail" src={thumb} alt={a.name} onLoad={() => setLoaded(thumb)} />}
    </button>
  );
}

function FileChip(props: { store: AppStore; a: Attachment }) {
  const { store, a } = props;
  const [failed, setFailed] = useState(false);
  const download = (e: Event) => {
    e.stopPropagation();
    setFailed(false);
    store.attachmentUrl(a.id, 'original').then(
      (u) => startDownload(u.url, a.name),
      () => setFailed(true),
    );
  };
  return (
    <button type="button" class="att-file" data-testid="attachment-file" data-name={a.name} title={`Download ${a.name}`} onClick={download}>
      <span class="att-file-icon" aria-hidden="true">
        {fileBadge(a)}
      </span>
      <span class="att-file-text">
        <span class="att-file-name" data-testid="attachment-file-name">
          {a.name}
        </span>
        <span class="att-file-size" data-testid="attachment-file-size">
          {failed ? 'Download failed' : humanSize(a.size)}
        </span>
      </span>
    </button>
  );
}

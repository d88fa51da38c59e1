/**
 * The files being attached to the next message: each uploads at once (slot, PUT,
 * complete) with its progress, and waits in the composer until sent or removed.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Attachment } from '../../client';
import { defaultLimits } from '../../protocol/frames';
import type { AppStore } from '../store';

/** One file in the composer. */
export interface PendingUpload {
  key: number;
  name: string;
  size: number;
  /** An object URL of the file itself, for images: shown while it uploads. */
  preview: string | null;
  sent: number;
  total: number;
  /** The completed attachment, once the server accepted it. */
  done: Attachment | null;
  /** Why the server (or the network) refused it. */
  error: string | null;
  abort: AbortController;
}

export interface Uploads {
  list: readonly PendingUpload[];
  /** How many are uploaded and ready to send. */
  ready: number;
  add(files: Iterable<File>): void;
  remove(key: number): void;
  /** The uploaded ones, taken out of the composer to be sent (the others stay). */
  take(): Attachment[];
}

/** Most files one message carries (the server's default; it refuses more). */
const maxFiles = defaultLimits.maxAttachments;
let nextKey = 1;

/** What a chip says when an upload failed. */
function failure(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'too_large') return 'Too large';
    if (err.status === 0) return 'Upload failed';
    return err.message ? err.message[0].toUpperCase() + err.message.slice(1) : err.code;
  }
  return 'Upload failed';
}

export function useUploads(store: AppStore): Uploads {
  const items = useRef<PendingUpload[]>([]);
  const [, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);

  const drop = (u: PendingUpload, abort: boolean) => {
    if (abort && !u.done && !u.error) u.abort.abort();
    if (u.preview) URL.revokeObjectURL(u.preview);
  };

  // Leaving the conversation abandons what was not sent (the server collects unsent uploads).
  useEffect(() => () => items.current.forEach((u) => drop(u, true)), []);

  const add = (files: Iterable<File>) => {
    for (const file of files) {
      if (items.current.length >= maxFiles) break;
      const u: PendingUpload = {
        key: nextKey++,
        name: file.name || 'file',
        size: file.size,
        preview: file.type.startsWith('image/') ? URL.createObjectURL(file) : null,
        sent: 0,
        total: file.size,
        done: null,
        error: null,
        abort: new AbortController(),
      };
      items.current = [...items.current, u];
      store
        .upload(file, {
          signal: u.abort.signal,
          onProgress: (sent, total) => {
            u.sent = sent;
            u.total = total;
            changed();
          },
        })
        .then(
          (att) => {
            u.done = att;
            changed();
          },
          (err: unknown) => {
            if (u.abort.signal.aborted) return;
            u.error = failure(err);
            changed();
          },
        );
    }
    changed();
  };

  const remove = (key: number) => {
    const u = items.current.find((x) => x.key === key);
    if (!u) return;
    drop(u, true);
    items.current = items.current.filter((x) => x !== u);
    changed();
  };

  const take = (): Attachment[] => {
    const ready = items.current.filter((u) => u.done);
    if (!ready.length) return [];
    for (const u of ready) drop(u, false);
    items.current = items.current.filter((u) => !u.done);
    changed();
    return ready.map((u) => u.done as Attachment);
  };

  return { list: items.current, ready: items.current.filter((u) => u.done).length, add, remove, take };
}

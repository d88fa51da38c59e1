/** A signed URL of one rendition, asked for once per attachment and rendition (the SDK caches it). */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Rendition } from '../../client';
import type { AppStore } from '../store';

/** How long to wait before asking again for a rendition not made yet (503), and how many times. */
const retryMs = 1500;
const retries = 20;

/**
 * The URL, or null until known (or when `enabled` is false, or it cannot be had). A
 * rendition not made yet (503) is asked for again shortly, and at once when `made` turns
 * true (its `attachment_ready` came).
 */
export function useAttachmentUrl(store: AppStore, id: string, rendition: Rendition, enabled: boolean, made = true): string | null {
  const [url, setUrl] = useState<{ id: string; rendition: Rendition; url: string } | null>(null);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ask = (attempt: number) =>
      store.attachmentUrl(id, rendition).then(
        (u) => live && setUrl({ id, rendition, url: u.url }),
        (err: unknown) => {
          if (live && err instanceof ApiError && err.status === 503 && attempt < retries) timer = setTimeout(() => ask(attempt + 1), retryMs);
        },
      );
    void ask(0);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id, rendition, enabled, made]);
  return url && url.id === id && url.rendition === rendition ? url.url : null;
}

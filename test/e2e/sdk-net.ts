/**
 * A network the SDK's e2e tests can break: a FetchLike over the global fetch that can be
 * cut (requests in flight fail, new ones fail at once) and restored, or that cuts itself
 * when an answer matches (a lost response). Real requests to the real server otherwise.
 */
import type { FetchLike, ResponseLike } from '../../src/client';

export interface Net {
  fetch: FetchLike;
  /** Fails every request in flight and every new one until restore(). */
  cut(): void;
  restore(): void;
  /** Cuts the network when a response body matches, failing that response (the client never sees it). */
  cutOnAnswer(match: ((url: string, text: string) => boolean) | null): void;
}

export function breakableNet(): Net {
  let down = false;
  let matcher: ((url: string, text: string) => boolean) | null = null;
  const inflight = new Set<AbortController>();
  const cut = (): void => {
    down = true;
    for (const ctl of inflight) ctl.abort();
  };
  const fetchFn: FetchLike = async (url, init) => {
    if (down) throw new TypeError('fetch failed: network down');
    const ctl = new AbortController();
    const outer = init.signal;
    if (outer?.aborted) ctl.abort();
    const onAbort = (): void => ctl.abort();
    outer?.addEventListener('abort', onAbort);
    inflight.add(ctl);
    try {
      const res = await fetch(url, { ...init, signal: ctl.signal });
      const text = await res.text();
      if (down && !outer?.aborted) throw new TypeError('fetch failed: network down');
      if (matcher?.(url, text)) {
        matcher = null;
        cut();
        throw new TypeError('fetch failed: connection reset');
      }
      const answer: ResponseLike = { status: res.status, ok: res.ok, text: async () => text };
      return answer;
    } catch (err) {
      // An abort by cut() looks like a network failure to the caller; one by the caller stays an abort.
      if (down && !outer?.aborted) throw new TypeError('fetch failed: network down');
      throw err;
    } finally {
      outer?.removeEventListener('abort', onAbort);
      inflight.delete(ctl);
    }
  };
  return {
    fetch: fetchFn,
    cut,
    restore: () => {
      down = false;
    },
    cutOnAnswer: (match) => {
      matcher = match;
    },
  };
}

/** Waits until `cond` holds, polling every 10 ms; throws after `ms`. */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A network the SDK's e2e tests can break: a FetchLike over the global fetch that can be
 * cut (requests in flight fail, new ones fail at once) and restored, or that cuts itself
 * when an answer matches (a lost response). Real requests to the real server otherwise.
 */
import type { ChatClient, FetchLike, ResponseLike } from '../../src/client';
import type { ConvEvent } from '../../src/protocol/frames';

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

/** The message events of `convId` that `c` receives, in order (filled as they come). */
export function messagesOf(c: ChatClient, convId: string): ConvEvent[] {
  const got: ConvEvent[] = [];
  c.on('event', (e) => {
    if (e.conv_id === convId && e.kind === 'message') got.push(e);
  });
  return got;
}

/**
 * Two clients of one direct conversation, whatever carries each, chat both ways: `a`'s
 * message reaches `b`, `b`'s typing reaches `a`, `b`'s two messages reach `a` (unread 2),
 * and `a`'s read marker reaches `b` as a read receipt and clears `a`'s unread count. Both
 * clients are connected here; `label` names `a`'s carrier in the bodies.
 */
export async function chatBothWays(a: ChatClient, b: ChatClient, conv: string, ids: { a: string; b: string }, label: string): Promise<void> {
  const toA = messagesOf(a, conv);
  const toB = messagesOf(b, conv);
  a.connect();
  b.connect();
  await Promise.all([a.once('connected'), b.once('connected')]);

  const first = await a.send(conv, `over ${label}`);
  await until(() => toB.length === 1);
  expect(toB[0]).toMatchObject({ seq: first.seq, body: `over ${label}`, sender_id: ids.a });

  const typing = a.once('typing');
  expect(b.typing(conv, 'started')).toBe(true);
  expect((await typing)[0]).toEqual({ conv_id: conv, user_id: ids.b, state: 'started' });

  const replies = await Promise.all([b.send(conv, 'over websocket 1'), b.send(conv, 'over websocket 2')]);
  await until(() => toA.length === 2);
  expect(toA.map((e) => [e.seq, e.body])).toEqual(replies.map((r, i) => [r.seq, `over websocket ${i + 1}`]));
  expect(a.unreadCount(conv)).toBe(2);

  const receipt = b.once('receipt');
  a.markRead(conv, replies[1].seq);
  expect((await receipt)[0]).toMatchObject({ conv_id: conv, user_id: ids.a, seq: replies[1].seq, kind: 'read' });
  await until(() => a.unreadCount(conv) === 0);
}

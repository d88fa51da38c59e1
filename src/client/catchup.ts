/**
 * Catch-up over REST when CONNACK was capped (`more: true`): pages
 * `GET /conversations/:id/events?after=` for each conversation until caught up, while
 * the SyncTracker holds that conversation's live DELIVERs; each conversation's held
 * events are applied (duplicates dropped) as soon as it is caught up.
 */
import { ApiError } from './errors';
import type { RestClient } from './rest';
import type { SyncTracker } from './sync';

/** Conversations paged at once. */
const concurrency = 4;

export interface CatchUpDeps {
  rest: RestClient;
  sync: SyncTracker;
  pageLimit: number;
}

/**
 * Resolves when every conversation is caught up, or early (applying nothing more) once
 * `live()` turns false. Rejects with the first REST failure other than 403/404.
 */
export async function catchUp(deps: CatchUpDeps, convIds: string[], live: () => boolean): Promise<void> {
  deps.sync.hold(convIds);
  const queue = [...convIds];
  const worker = async (): Promise<void> => {
    for (let conv = queue.shift(); conv !== undefined; conv = queue.shift()) {
      await pageConversation(deps, conv, live);
      if (!live()) return;
      deps.sync.release(conv);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
}

async function pageConversation(deps: CatchUpDeps, convId: string, live: () => boolean): Promise<void> {
  let after = deps.sync.highWater(convId) ?? 0;
  for (;;) {
    let page;
    try {
      page = await deps.rest.getEvents(convId, { after, limit: deps.pageLimit });
    } catch (err) {
      // No longer a member, or the conversation is gone: nothing to catch up on.
      if (err instanceof ApiError && (err.status === 403 || err.status === 404)) return;
      throw err;
    }
    if (!live()) return;
    for (const ev of page.events) deps.sync.apply(ev);
    const last = page.events[page.events.length - 1];
    if (!page.more || !last || last.seq <= after) return;
    after = last.seq;
  }
}

/**
 * The heartbeat's re-check of the users with sessions on this shard. A session that sends
 * nothing is not checked by frames, so without it a revocation whose bus announcement was
 * lost would leave it open. It reads from the store only the users whose cached state is
 * due (AUTH_RECHECK_MS, see AuthCache), so a sweep reads about HEARTBEAT_MS / AUTH_RECHECK_MS
 * of the shard's users, not all of them; an entry older than the TTL but not yet due is
 * trusted as it is (frames and REST requests read it again, not the heartbeat).
 */
import type { AuthCache } from '../auth';
import type { AuthState } from '../store';

/** Users whose auth state one store call of the re-check reads (SQLite: one statement). */
const chunk = 256;

/** Closes the user's sessions here whose token `state` no longer counts. */
export type Enforce = (userId: string, state: AuthState | null) => void;

export class AuthRecheck {
  private running = false;

  constructor(
    private readonly cache: AuthCache,
    private readonly enforce: Enforce,
  ) {}

  /**
   * One sweep over `userIds` (the users with sessions here): the users due are read from
   * the store, a chunk per call, and their states enforced; every other user's cached state
   * is enforced without a read, since a REST request or CONNECT may have read a revocation
   * into the cache since the last sweep. Skipped (answers 0) while the previous sweep runs;
   * `stop` is asked between store calls (a draining gateway). Answers the users read; a
   * store failure rejects, the users of the chunks before it enforced.
   */
  async sweep(userIds: readonly string[], stop: () => boolean = () => false): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const due: string[] = [];
      for (const userId of userIds) {
        const cached = this.cache.peek(userId);
        if (cached === undefined || cached.recheckDue) due.push(userId);
        else this.enforce(userId, cached.state);
      }
      let read = 0;
      for (let i = 0; i < due.length && !stop(); i += chunk) {
        const ids = due.slice(i, i + chunk);
        const states = await this.cache.reload(ids);
        read += ids.length;
        for (const [userId, state] of states) this.enforce(userId, state);
      }
      return read;
    } finally {
      this.running = false;
    }
  }
}

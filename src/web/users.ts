/**
 * The names behind user ids: a directory filled lazily. Ids asked for within a few
 * milliseconds (a history page, a member list) go to the server as one
 * `GET /users?user_ids=` request of up to 200, instead of one request each.
 */
import type { User } from '../client';

const batchDelayMs = 30;
/** The server's limit of ids per request. */
const batchMax = 200;

export class UserDirectory {
  private readonly users = new Map<string, User>();
  private readonly wanted = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param load fetches profiles (RestClient.getUsers); unknown ids are left out.
   * @param onLoaded called after profiles arrived; `onError` when a batch failed.
   */
  constructor(
    private readonly load: (ids: string[]) => Promise<User[]>,
    private readonly onLoaded: () => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  get(userId: string): User | undefined {
    return this.users.get(userId);
  }

  /** Records a profile learned elsewhere (sign-in, a username search, the saved record). */
  set(user: User): void {
    this.users.set(user.user_id, user);
  }

  all(): User[] {
    return [...this.users.values()];
  }

  /** Fetches the names of users not known yet, batched. */
  request(ids: string[]): void {
    let added = false;
    for (const id of ids) {
      if (!this.users.has(id) && !this.wanted.has(id)) {
        this.wanted.add(id);
        added = true;
      }
    }
    if (!added || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const batch = [...this.wanted].slice(0, batchMax);
      for (const id of batch) this.wanted.delete(id);
      void this.fetch(batch);
    }, batchDelayMs);
  }

  /** Cancels a batch not sent yet (the store is stopping). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async fetch(ids: string[]): Promise<void> {
    if (!ids.length) return;
    try {
      for (const u of await this.load(ids)) this.users.set(u.user_id, u);
      this.onLoaded();
    } catch (err) {
      for (const id of ids) this.wanted.delete(id);
      this.onError(err);
    }
  }
}

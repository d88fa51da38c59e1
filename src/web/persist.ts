/**
 * What survives a reload: one localStorage record per user holding the SDK's sync state
 * with the model it describes (inbox rows, members, names, receipts, the newest messages
 * of each conversation). Written as one record so history and unread state always match
 * the seqs the next CONNECT resumes from; a record of another version is ignored.
 */
import type { InboxRow, SyncState, User } from '../client';
import type { Inbox } from './inbox';
import { confirmed, type MessageStore, type Msg } from './messages';
import type { Progress, Receipts } from './receipts';
import { readJson, remove, writeJson } from './storage';

/** Messages kept per conversation (the newest ones): bounds the record's size. */
const persistPerConv = 150;

/** The record's shape, version 1. */
interface Persisted {
  v: 1;
  sync: SyncState;
  rows: InboxRow[];
  members: Record<string, string[]>;
  users: User[];
  receipts: Record<string, Record<string, Progress>>;
  msgs: Record<string, { hasOlder: boolean; list: Msg[] }>;
}

/** The parts of the model the record holds. */
export interface Persistable {
  inbox: Inbox;
  users: { set(u: User): void; all(): User[] };
  receipts: Receipts;
  msgs: MessageStore;
}

function key(userId: string): string {
  return `data.${userId}`;
}

/** Fills `into` from the user's saved record; returns its sync state, or undefined when there is none. */
export function restore(userId: string, into: Persistable): SyncState | undefined {
  const p = readJson<Persisted>(key(userId));
  if (!p || p.v !== 1) return undefined;
  for (const row of p.rows ?? []) into.inbox.restore(row);
  for (const [id, list] of Object.entries(p.members ?? {})) into.inbox.members.set(id, list);
  for (const u of p.users ?? []) into.users.set(u);
  into.receipts.restore(p.receipts ?? {});
  for (const [conv, saved] of Object.entries(p.msgs ?? {})) {
    const c = into.msgs.conv(conv);
    for (const m of saved.list) if (m.seq !== null) c.bySeq.set(m.seq, m);
    c.hasOlder = saved.hasOlder;
  }
  return p.sync;
}

/** Writes the model with the SDK's sync state it matches. Local echoes are not kept. */
export function save(userId: string, from: Persistable, sync: SyncState): void {
  const msgs: Persisted['msgs'] = {};
  for (const [conv, c] of from.msgs.entries()) {
    const list = confirmed(c);
    const kept = list.slice(-persistPerConv);
    // Dropping the oldest means there is older history again (on the server).
    msgs[conv] = { hasOlder: c.hasOlder || kept.length < list.length, list: kept };
  }
  const data: Persisted = {
    v: 1,
    sync,
    rows: from.inbox.all(),
    members: Object.fromEntries(from.inbox.members),
    users: from.users.all(),
    receipts: from.receipts.toRecord(),
    msgs,
  };
  writeJson(key(userId), data);
}

/** Deletes the user's record (sign-out forgets their cached data). */
export function forget(userId: string): void {
  remove(key(userId));
}

/** Debounces writes of the record: a burst of changes is written once, `delayMs` after the first. */
export class SaveTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly write: () => void, private readonly delayMs: number) {}

  schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write();
    }, this.delayMs);
  }

  /** Writes now (pagehide, stop): the page may not live until the timer fires. */
  flush(): void {
    this.cancel();
    this.write();
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

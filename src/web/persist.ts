/**
 * What survives a reload: one localStorage record per user holding the SDK's sync state
 * with the model it describes (inbox rows, members, names, receipts, the newest messages
 * of each conversation), written as one record so history and unread state always match
 * the seqs the next CONNECT resumes from (a record of another version is ignored); and
 * beside it, under its own small key, the SDK's unacknowledged frames (its outbox), so a
 * message still waiting for its ACK is sent by the next run instead of lost. The outbox is
 * written on every change, the big record on a timer: resending a frame the server already
 * has is harmless (its client_msg_id dedupes it), losing one is not.
 */
import type { InboxRow, OutboxFrame, SyncState, User } from '../client';
import type { Inbox } from './inbox';
import { localEcho, type MessageStore, type Msg } from './messages';
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
  /** Unsent frames, as records written before the outbox had its own key held them (read, no longer written). */
  outbox?: OutboxFrame[];
}

/** What `restore` hands back for the next `ChatClient`. */
export interface Restored {
  /** Absent when only an outbox was saved (the run ended before its first record). */
  sync: SyncState | undefined;
  /** For the `outbox` option: resent after the first CONNACK, outcomes as `restoredAck` / `restoredError`. */
  outbox: OutboxFrame[];
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

function outboxKey(userId: string): string {
  return `outbox.${userId}`;
}

/**
 * Fills `into` from the user's saved record; returns its sync state and unsent frames, or
 * undefined when neither was saved. Each unsent SEND becomes a local echo again (pending,
 * as before the reload) in its conversation, keyed by its `client_msg_id` like any echo, so
 * its ACK or DELIVER replaces it the usual way.
 */
export function restore(userId: string, into: Persistable): Restored | undefined {
  const read = readJson<Persisted>(key(userId));
  const p = read?.v === 1 ? read : undefined;
  if (p) {
    for (const row of p.rows ?? []) into.inbox.restore(row);
    for (const [id, list] of Object.entries(p.members ?? {})) into.inbox.members.set(id, list);
    for (const u of p.users ?? []) into.users.set(u);
    into.receipts.restore(p.receipts ?? {});
    for (const [conv, saved] of Object.entries(p.msgs ?? {})) into.msgs.restore(conv, saved.list, saved.hasOlder);
  }
  const own = readJson<OutboxFrame[]>(outboxKey(userId));
  const outbox = Array.isArray(own) ? own : Array.isArray(p?.outbox) ? p.outbox : [];
  if (!p && !outbox.length) return undefined;
  for (const f of outbox) {
    // Anything malformed is left to the SDK, which refuses it with `restoredError`.
    if (!f || f.type !== 'SEND' || typeof f.conv_id !== 'string' || typeof f.client_msg_id !== 'string' || typeof f.body !== 'string') continue;
    into.msgs.conv(f.conv_id).pending.set(f.client_msg_id, localEcho(f.client_msg_id, userId, f.body, f.reply_to ?? null));
  }
  return { sync: p?.sync, outbox };
}

/**
 * Writes the model with the SDK's sync state it matches. Local echoes are not kept: the
 * SEND frames of the outbox (`saveOutbox`) are, and become echoes again on restore.
 */
export function save(userId: string, from: Persistable, sync: SyncState): void {
  const msgs: Persisted['msgs'] = {};
  for (const [conv, c] of from.msgs.entries()) {
    const list = from.msgs.confirmed(conv);
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

/** Writes `ChatClient.pendingFrames()`: SEND/REACT/EDIT/DELETE frames without an ACK yet. */
export function saveOutbox(userId: string, outbox: OutboxFrame[]): void {
  writeJson(outboxKey(userId), outbox);
}

/** Deletes the user's record and outbox (sign-out forgets their cached data). */
export function forget(userId: string): void {
  remove(key(userId));
  remove(outboxKey(userId));
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

/**
 * Idempotency of ACKed commands (SEND, REACT, EDIT, DELETE): a command retried with the
 * same (sender, client_msg_id) gets the original ACK with `duplicate: true`, whatever
 * happened since (its target deleted, a mention left, the edit window passed, the sender
 * removed, a restart). A client_msg_id already used by a command of another kind is
 * refused with `conflict`, never answered with the other command's ACK.
 *
 * The decision is taken before any rule's refusal is answered, in three places that
 * together cost no store read on the happy path:
 * 1. the in-memory window (recent and in-flight keys): answered before the rules run;
 * 2. a command the rules accept is sequenced, and the store's unique key decides at
 *    commit (`duplicate` carries the original's seq, ts and kind);
 * 3. a command the rules refuse is looked up in the store before the refusal is sent.
 */
import { ProtocolError, type EventKind } from '../protocol';
import type { Store } from '../store';
import type { AckResult, DeleteCommand, EditCommand, ReactCommand, SendCommand } from './commands';

/** Commands answered by an ACK, each keyed by (user_id, client_msg_id). */
export type AckedCommand = SendCommand | ReactCommand | EditCommand | DeleteCommand;

/** The event kind each ACKed command appends: a key reused across kinds is a conflict. */
const kindOf: Readonly<Record<AckedCommand['op'], EventKind>> = { send: 'message', react: 'reaction', edit: 'edit', delete: 'delete' };

/** Whether the command is answered by an ACK (and so keyed by its client_msg_id). */
export function isAcked(cmd: { op: string }): cmd is AckedCommand {
  return Object.hasOwn(kindOf, cmd.op);
}

/** The kind of event the command appends; a retry must append the same kind. */
export function eventKindOf(cmd: AckedCommand): EventKind {
  return kindOf[cmd.op];
}

/** The window's key of a command: its sender and client_msg_id (the conversation is the actor's). */
export function dedupKey(cmd: AckedCommand): string {
  return cmd.user_id + '\u0000' + cmd.client_msg_id;
}

/** The original event of a key: where it landed and what it was. */
export interface Original {
  seq: number;
  ts: number;
  kind: EventKind;
}

/** How a command is answered: its ACK, or the error that refuses it. */
export interface Answer {
  resolve: (ack: AckResult) => void;
  reject: (err: unknown) => void;
}

/** The answer to a retry of `kind` whose key belongs to `original`. */
export function answerRetry(original: Original, kind: EventKind, answer: Answer): void {
  if (original.kind === kind) answer.resolve({ seq: original.seq, ts: original.ts, duplicate: true });
  else answer.reject(conflict(original.kind));
}

/** What a key reused across kinds is refused with: the other command's kind, as the client named it. */
const commandOf: Readonly<Record<EventKind, string>> = {
  message: 'SEND',
  reaction: 'REACT',
  edit: 'EDIT',
  delete: 'DELETE',
  link_preview: 'another command',
  attachment_ready: 'another command',
  member_added: 'another command',
  member_removed: 'another command',
  conversation_updated: 'another command',
};

function conflict(kind: EventKind): ProtocolError {
  const by = commandOf[kind];
  return new ProtocolError('conflict', `client_msg_id already used by ${by.startsWith('another') ? by : `a ${by}`}`);
}

/** Window size: retries older than this many keyed commands are decided by the store. */
const capacity = 1024;

interface Pending {
  kind: EventKind;
  waiters: Answer[];
}

/**
 * The actor's in-memory window of keys: retries that arrive while the original is still
 * committing wait for its ACK; recent retries are answered without touching the store.
 */
export class DedupWindow {
  private readonly done = new Map<string, Original>();
  private readonly pending = new Map<string, Pending>();

  /** If `key` is known, arranges the answer of a retry of `kind` and returns true. */
  answer(key: string, kind: EventKind, answer: Answer): boolean {
    const original = this.done.get(key);
    if (original) {
      answerRetry(original, kind, answer);
      return true;
    }
    const p = this.pending.get(key);
    if (!p) return false;
    if (p.kind !== kind) answer.reject(conflict(p.kind));
    else p.waiters.push(answer);
    return true;
  }

  /** The command under `key` was sequenced and is committing. */
  begin(key: string, kind: EventKind): void {
    this.pending.set(key, { kind, waiters: [] });
  }

  /** The key's original is durable (this command's event, or an older one the store found). */
  settle(key: string, original: Original): void {
    const p = this.pending.get(key);
    this.pending.delete(key);
    this.done.set(key, original);
    if (this.done.size > capacity) this.done.delete(this.done.keys().next().value as string);
    for (const w of p?.waiters ?? []) answerRetry(original, p?.kind ?? original.kind, w);
  }

  /** The commit failed: waiting retries fail with it (the client retries again). */
  fail(key: string, err: unknown): void {
    const p = this.pending.get(key);
    this.pending.delete(key);
    for (const w of p?.waiters ?? []) w.reject(err);
  }
}

/**
 * Step 3 above: after the rules refused `cmd`, whether the store holds its key. True when
 * the answer (the original ACK, or conflict) was given; false when the refusal stands.
 */
export async function answeredByStore(store: Store, window: DedupWindow, cmd: AckedCommand, answer: Answer): Promise<boolean> {
  const original = await store.findByClientMsgId(cmd.conv_id, cmd.user_id, cmd.client_msg_id);
  if (original === null) return false;
  window.settle(dedupKey(cmd), original);
  answerRetry(original, eventKindOf(cmd), answer);
  return true;
}

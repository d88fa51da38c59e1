/**
 * The embedded Store with writes on a writer thread: reads run on the event loop's own
 * connection (WAL readers never wait for the writer), every write goes to the thread
 * through a StoreWriter. A read issued after a write resolved sees it: the write committed
 * before its answer was posted, and each read is a fresh snapshot. The thread itself
 * (src/embedded) serves these calls on its own SqliteStore.
 */
import type Database from 'better-sqlite3';
import type { Attachment } from '../../protocol';
import type {
  AppendItem,
  AppendResult,
  AttachmentRecord,
  AuthState,
  ConversationRecord,
  MarkerUpdate,
  NewAttachment,
  NewConversation,
  NewUser,
  PushDeadLetter,
  PushRegistration,
  PushTarget,
  UserRecord,
  UserSettings,
} from '../types';
import { SqliteStore } from './store';

/** Each Store write the writer serves, its arguments and what it resolves with. */
export interface StoreWrites {
  createUser: { args: [NewUser]; result: UserRecord };
  updateUserSettings: { args: [string, Partial<UserSettings>]; result: UserRecord | null };
  updateDisplayName: { args: [string, string]; result: UserRecord | null };
  revokeTokens: { args: [string]; result: AuthState | null };
  revokeDevice: { args: [string, string, number]; result: AuthState | null };
  deleteUser: { args: [string, number]; result: AuthState | null };
  createConversation: { args: [NewConversation]; result: { conversation: ConversationRecord; created: boolean } };
  appendEvents: { args: [readonly AppendItem[]]; result: AppendResult[] };
  saveMarkers: { args: [readonly MarkerUpdate[]]; result: void };
  setMute: { args: [string, string, number | null]; result: boolean };
  createAttachment: { args: [NewAttachment]; result: void };
  completeAttachment: { args: [string, string, Attachment]; result: boolean };
  updateAttachmentMeta: { args: [string, Attachment]; result: boolean };
  deleteAttachments: { args: [readonly string[]]; result: AttachmentRecord[] };
  /** refBlob's one attempt: its wait for a claimed blob runs on the caller's side, not the thread's. */
  tryRefBlob: { args: [string]; result: boolean };
  unrefBlob: { args: [string]; result: void };
  claimBlob: { args: [string, number, number | null]; result: boolean };
  dropBlob: { args: [string]; result: void };
  putPushRegistration: { args: [PushRegistration]; result: void };
  deletePushRegistration: { args: [string, string]; result: boolean };
  deletePushRegistrationIfTarget: { args: [string, string, PushTarget]; result: boolean };
  addPushDeadLetter: { args: [PushDeadLetter, number]; result: void };
}

/**
 * What ThreadedSqliteStore needs of the writer: one call per write, answered in the order
 * sent, with the result (or the error, its class and code kept) the same method of a
 * SqliteStore on the writer's connection gives.
 */
export interface StoreWriter {
  call<M extends keyof StoreWrites>(method: M, ...args: StoreWrites[M]['args']): Promise<StoreWrites[M]['result']>;
  /** Waits for the calls already sent and ends the writer; later calls reject. */
  stop(): Promise<void>;
  /** What every call fails with once the writer is gone (null while it runs). */
  readonly failure: Error | null;
}

/** A Store whose writes go to a StoreWriter and whose reads run on `readDb`. */
/**
 * Reads are SqliteStore's own, on the loop's connection; only the writes are overridden,
 * so a Store method added later reads correctly here without a line of forwarding (and a
 * write added to StoreWrites must be overridden, or it would run on the reading connection:
 * the contract suite on the thread mode catches that).
 */
export class ThreadedSqliteStore extends SqliteStore {
  /** Takes ownership of both: close() stops the writer and closes `readDb`. */
  constructor(
    readDb: Database.Database,
    private readonly thread: StoreWriter,
  ) {
    super(readDb);
  }

  override createUser(user: NewUser): Promise<UserRecord> {
    return this.thread.call('createUser', user);
  }

  override updateDisplayName(userId: string, displayName: string): Promise<UserRecord | null> {
    return this.thread.call('updateDisplayName', userId, displayName);
  }

  override updateUserSettings(userId: string, settings: Partial<UserSettings>): Promise<UserRecord | null> {
    return this.thread.call('updateUserSettings', userId, settings);
  }

  override revokeTokens(userId: string): Promise<AuthState | null> {
    return this.thread.call('revokeTokens', userId);
  }

  override revokeDevice(userId: string, deviceId: string, keepMs: number): Promise<AuthState | null> {
    return this.thread.call('revokeDevice', userId, deviceId, keepMs);
  }

  override deleteUser(userId: string, reserveUntil: number): Promise<AuthState | null> {
    return this.thread.call('deleteUser', userId, reserveUntil);
  }

  override createConversation(conv: NewConversation): Promise<{ conversation: ConversationRecord; created: boolean }> {
    return this.thread.call('createConversation', conv);
  }

  override appendEvents(items: readonly AppendItem[]): Promise<AppendResult[]> {
    return this.thread.call('appendEvents', items);
  }

  override saveMarkers(updates: readonly MarkerUpdate[]): Promise<void> {
    return this.thread.call('saveMarkers', updates);
  }

  override setMute(convId: string, userId: string, mutedUntil: number | null): Promise<boolean> {
    return this.thread.call('setMute', convId, userId, mutedUntil);
  }

  override createAttachment(att: NewAttachment): Promise<void> {
    return this.thread.call('createAttachment', att);
  }

  override completeAttachment(id: string, sha256: string, meta: Attachment): Promise<boolean> {
    return this.thread.call('completeAttachment', id, sha256, meta);
  }

  override updateAttachmentMeta(id: string, meta: Attachment): Promise<boolean> {
    return this.thread.call('updateAttachmentMeta', id, meta);
  }

  override deleteAttachments(ids: readonly string[]): Promise<AttachmentRecord[]> {
    return this.thread.call('deleteAttachments', ids);
  }

  // refBlob itself is SqliteStore's: its polling loop calls this.
  override tryRefBlob(sha256: string): Promise<boolean> {
    return this.thread.call('tryRefBlob', sha256);
  }

  override unrefBlob(sha256: string): Promise<void> {
    return this.thread.call('unrefBlob', sha256);
  }

  override claimBlob(sha256: string, since: number, claimedAt: number | null): Promise<boolean> {
    return this.thread.call('claimBlob', sha256, since, claimedAt);
  }

  override dropBlob(sha256: string): Promise<void> {
    return this.thread.call('dropBlob', sha256);
  }

  override putPushRegistration(reg: PushRegistration): Promise<void> {
    return this.thread.call('putPushRegistration', reg);
  }

  override deletePushRegistration(userId: string, deviceId: string): Promise<boolean> {
    return this.thread.call('deletePushRegistration', userId, deviceId);
  }

  override deletePushRegistrationIfTarget(userId: string, deviceId: string, target: PushTarget): Promise<boolean> {
    return this.thread.call('deletePushRegistrationIfTarget', userId, deviceId, target);
  }

  override addPushDeadLetter(letter: PushDeadLetter, keep: number): Promise<void> {
    return this.thread.call('addPushDeadLetter', letter, keep);
  }

  /** The reads' connection, and the writer thread: without it no write succeeds. */
  override async probe(): Promise<void> {
    if (this.thread.failure !== null) throw this.thread.failure;
    await super.probe();
  }

  override async close(): Promise<void> {
    await this.thread.stop();
    await super.close();
  }
}

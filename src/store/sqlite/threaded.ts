/**
 * The embedded Store with writes on a writer thread: reads run on the event loop's own
 * connection (WAL readers never wait for the writer), every write goes to the thread
 * through a StoreWriter. A read issued after a write resolved sees it: the write committed
 * before its answer was posted, and each read is a fresh snapshot. The thread itself
 * (src/embedded) serves these calls on its own SqliteStore.
 */
import type Database from 'better-sqlite3';
import type { AppendItem, AppendResult, ConversationRecord, MarkerUpdate, NewConversation, NewUser, UserRecord, UserSettings } from '../types';
import { SqliteStore } from './store';

/** Each Store write the writer serves, its arguments and what it resolves with. */
export interface StoreWrites {
  createUser: { args: [NewUser]; result: UserRecord };
  updateUserSettings: { args: [string, Partial<UserSettings>]; result: UserRecord | null };
  createConversation: { args: [NewConversation]; result: { conversation: ConversationRecord; created: boolean } };
  appendEvents: { args: [readonly AppendItem[]]; result: AppendResult[] };
  saveMarkers: { args: [readonly MarkerUpdate[]]; result: void };
  setMute: { args: [string, string, number | null]; result: boolean };
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

  override updateUserSettings(userId: string, settings: Partial<UserSettings>): Promise<UserRecord | null> {
    return this.thread.call('updateUserSettings', userId, settings);
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

  override async close(): Promise<void> {
    await this.thread.stop();
    await super.close();
  }
}

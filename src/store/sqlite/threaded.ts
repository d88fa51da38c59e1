/**
 * The embedded Store with writes on a writer thread: reads run on the event loop's own
 * connection (WAL readers never wait for the writer), every write goes to the thread
 * through a StoreWriter. A read issued after a write resolved sees it: the write committed
 * before its answer was posted, and each read is a fresh snapshot. The thread itself
 * (src/embedded) serves these calls on its own SqliteStore.
 */
import type Database from 'better-sqlite3';
import type { ConvEvent, InboxRow } from '../../protocol';
import type {
  AppendItem,
  AppendResult,
  ConversationRecord,
  InboxPage,
  KeyedEvent,
  MarkerUpdate,
  MemberRecord,
  MessageView,
  NewConversation,
  NewUser,
  Store,
  UnreadCounts,
  UserRecord,
  UserSettings,
} from '../types';
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
export class ThreadedSqliteStore implements Store {
  private readonly reads: SqliteStore;

  /** Takes ownership of both: close() stops the writer and closes `readDb`. */
  constructor(
    readDb: Database.Database,
    private readonly writer: StoreWriter,
  ) {
    this.reads = new SqliteStore(readDb);
  }

  createUser(user: NewUser): Promise<UserRecord> {
    return this.writer.call('createUser', user);
  }

  getUser(userId: string): Promise<UserRecord | null> {
    return this.reads.getUser(userId);
  }

  getUserByUsername(username: string): Promise<UserRecord | null> {
    return this.reads.getUserByUsername(username);
  }

  getUsers(userIds: readonly string[]): Promise<UserRecord[]> {
    return this.reads.getUsers(userIds);
  }

  updateUserSettings(userId: string, settings: Partial<UserSettings>): Promise<UserRecord | null> {
    return this.writer.call('updateUserSettings', userId, settings);
  }

  createConversation(conv: NewConversation): Promise<{ conversation: ConversationRecord; created: boolean }> {
    return this.writer.call('createConversation', conv);
  }

  getConversation(convId: string): Promise<ConversationRecord | null> {
    return this.reads.getConversation(convId);
  }

  getMembers(convId: string): Promise<MemberRecord[]> {
    return this.reads.getMembers(convId);
  }

  getMember(convId: string, userId: string): Promise<MemberRecord | null> {
    return this.reads.getMember(convId, userId);
  }

  appendEvents(items: readonly AppendItem[]): Promise<AppendResult[]> {
    return this.writer.call('appendEvents', items);
  }

  readEvents(convId: string, afterSeq: number, limit: number): Promise<ConvEvent[]> {
    return this.reads.readEvents(convId, afterSeq, limit);
  }

  readMessages(convId: string, beforeSeq: number, limit: number): Promise<MessageView[]> {
    return this.reads.readMessages(convId, beforeSeq, limit);
  }

  readMessage(convId: string, seq: number): Promise<MessageView | null> {
    return this.reads.readMessage(convId, seq);
  }

  readThreadReplies(convId: string, rootSeq: number, afterSeq: number, limit: number): Promise<MessageView[]> {
    return this.reads.readThreadReplies(convId, rootSeq, afterSeq, limit);
  }

  findByClientMsgId(convId: string, senderId: string, clientMsgId: string): Promise<KeyedEvent | null> {
    return this.reads.findByClientMsgId(convId, senderId, clientMsgId);
  }

  saveMarkers(updates: readonly MarkerUpdate[]): Promise<void> {
    return this.writer.call('saveMarkers', updates);
  }

  countUnread(convId: string, userId: string, afterSeq: number): Promise<UnreadCounts> {
    return this.reads.countUnread(convId, userId, afterSeq);
  }

  setMute(convId: string, userId: string, mutedUntil: number | null): Promise<boolean> {
    return this.writer.call('setMute', convId, userId, mutedUntil);
  }

  listInbox(userId: string, cursor: string | null, limit: number): Promise<InboxPage> {
    return this.reads.listInbox(userId, cursor, limit);
  }

  inboxChangedSince(userId: string, sinceMs: number, limit: number): Promise<InboxRow[]> {
    return this.reads.inboxChangedSince(userId, sinceMs, limit);
  }

  async close(): Promise<void> {
    await this.writer.stop();
    await this.reads.close();
  }
}

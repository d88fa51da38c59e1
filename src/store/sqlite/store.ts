/** SqliteStore: the embedded Store engine, composed of one query class per table group. */
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
} from '../index';
import { EventWriter } from './append';
import { ConversationTable } from './conversations';
import { EventReader } from './events';
import { InboxQueries } from './inbox';
import { UserTable } from './users';

/**
 * Store on one better-sqlite3 connection opened by openSqliteDatabase; keeps every
 * point of the Store contract. Calls run synchronously inside the returned promise, so
 * each one is a single SQLite transaction that no other call of this process interleaves.
 * A deleted message reads back with body '' (in readEvents and readMessages), and so do
 * the edit events that targeted it; the reactions to it read back with emoji null.
 * close() closes the connection it was given.
 */
export class SqliteStore implements Store {
  private readonly users: UserTable;
  private readonly conversations: ConversationTable;
  private readonly writer: EventWriter;
  private readonly reader: EventReader;
  private readonly inbox: InboxQueries;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number = Date.now,
  ) {
    this.users = new UserTable(db);
    this.conversations = new ConversationTable(db);
    this.writer = new EventWriter(db);
    this.reader = new EventReader(db);
    this.inbox = new InboxQueries(db);
  }

  async createUser(user: NewUser): Promise<UserRecord> {
    return this.users.create(user);
  }

  async getUser(userId: string): Promise<UserRecord | null> {
    return this.users.get(userId);
  }

  async getUserByUsername(username: string): Promise<UserRecord | null> {
    return this.users.getByUsername(username);
  }

  async getUsers(userIds: readonly string[]): Promise<UserRecord[]> {
    return this.users.getMany(userIds);
  }

  async updateUserSettings(userId: string, settings: Partial<UserSettings>): Promise<UserRecord | null> {
    return this.users.updateSettings(userId, settings);
  }

  async createConversation(conv: NewConversation): Promise<{ conversation: ConversationRecord; created: boolean }> {
    return this.conversations.create(conv);
  }

  async getConversation(convId: string): Promise<ConversationRecord | null> {
    return this.conversations.get(convId);
  }

  async getMembers(convId: string): Promise<MemberRecord[]> {
    return this.conversations.getMembers(convId);
  }

  async getMember(convId: string, userId: string): Promise<MemberRecord | null> {
    return this.conversations.getMember(convId, userId);
  }

  async appendEvents(items: readonly AppendItem[]): Promise<AppendResult[]> {
    return this.writer.append(items);
  }

  async readEvents(convId: string, afterSeq: number, limit: number): Promise<ConvEvent[]> {
    return this.reader.readEvents(convId, afterSeq, limit);
  }

  async readMessages(convId: string, beforeSeq: number, limit: number): Promise<MessageView[]> {
    return this.reader.readMessages(convId, beforeSeq, limit);
  }

  async readMessage(convId: string, seq: number): Promise<MessageView | null> {
    return this.reader.readMessage(convId, seq);
  }

  async readThreadReplies(convId: string, rootSeq: number, afterSeq: number, limit: number): Promise<MessageView[]> {
    return this.reader.readThreadReplies(convId, rootSeq, afterSeq, limit);
  }

  async findByClientMsgId(convId: string, senderId: string, clientMsgId: string): Promise<KeyedEvent | null> {
    return this.reader.findByClientMsgId(convId, senderId, clientMsgId);
  }

  async saveMarkers(updates: readonly MarkerUpdate[]): Promise<void> {
    this.inbox.saveMarkers(updates, this.now());
  }

  async countUnread(convId: string, userId: string, afterSeq: number): Promise<UnreadCounts> {
    return this.inbox.countUnread(convId, userId, afterSeq);
  }

  async setMute(convId: string, userId: string, mutedUntil: number | null): Promise<boolean> {
    return this.inbox.setMute(convId, userId, mutedUntil, this.now());
  }

  async listInbox(userId: string, cursor: string | null, limit: number): Promise<InboxPage> {
    return this.inbox.listInbox(userId, cursor, limit, this.now());
  }

  async inboxChangedSince(userId: string, sinceMs: number, limit: number): Promise<InboxRow[]> {
    return this.inbox.inboxChangedSince(userId, sinceMs, limit, this.now());
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

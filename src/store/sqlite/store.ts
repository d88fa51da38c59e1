/** SqliteStore: the embedded Store engine, composed of one query class per table group. */
import type Database from 'better-sqlite3';
import type { Attachment, ConvEvent, InboxRow } from '../../protocol';
import type {
  AppendItem,
  AppendResult,
  AttachmentRecord,
  AuthState,
  ConversationRecord,
  InboxPage,
  KeyedEvent,
  MarkerUpdate,
  MemberRecord,
  MessageView,
  NewAttachment,
  NewConversation,
  NewUser,
  PushDeadLetter,
  PushRegistration,
  PushTarget,
  Store,
  UnreadCounts,
  UnreferencedBlob,
  UserRecord,
  UserSearchCursor,
  UserSearchPage,
  UserSettings,
} from '../index';
import { searchUsers, type SearchSource } from '../search';
import { EventWriter } from './append';
import { AttachmentTable, BlobTable } from './attachments';
import { ConversationTable } from './conversations';
import { EventReader } from './events';
import { InboxQueries } from './inbox';
import { PushTable } from './push';
import { UserTable } from './users';
import { ContentionError } from '../../observability';

/** How often refBlob looks again at a blob claimed for deletion, and for how long at most. */
const claimPollMs = 20;
const claimWaitMs = 5000;

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
  private readonly attachments: AttachmentTable;
  private readonly blobs: BlobTable;
  private readonly push: PushTable;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number = Date.now,
  ) {
    this.users = new UserTable(db);
    this.conversations = new ConversationTable(db);
    this.attachments = new AttachmentTable(db);
    this.blobs = new BlobTable(db, now);
    this.push = new PushTable(db);
    this.writer = new EventWriter(db, this.attachments, this.blobs);
    this.reader = new EventReader(db);
    this.inbox = new InboxQueries(db);
  }

  async createUser(user: NewUser): Promise<UserRecord> {
    return this.users.create(user, this.now());
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

  async updateDisplayName(userId: string, displayName: string): Promise<UserRecord | null> {
    return this.users.rename(userId, displayName);
  }

  async searchUsers(query: string, cursor: UserSearchCursor | null, limit: number): Promise<UserSearchPage> {
    return searchUsers(this.searchSource, query, cursor, limit);
  }

  private readonly searchSource: SearchSource = {
    scan: async (prefix, after, limit) => this.users.scanSearch(prefix, after, limit),
    getUsers: async (ids) => this.users.getMany(ids),
  };

  async getAuthStates(userIds: readonly string[]): Promise<AuthState[]> {
    return this.users.authStates(userIds, this.now());
  }

  async revokeTokens(userId: string): Promise<AuthState | null> {
    return this.users.revokeTokens(userId, this.now());
  }

  async revokeDevice(userId: string, deviceId: string, keepMs: number): Promise<AuthState | null> {
    return this.users.revokeDevice(userId, deviceId, keepMs, this.now());
  }

  async deleteUser(userId: string, reserveUntil: number): Promise<AuthState | null> {
    return this.users.delete(userId, reserveUntil, this.now());
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

  async countUnreadConversations(userId: string, except: string | null, limit: number): Promise<number> {
    return this.inbox.countUnreadConversations(userId, except, limit);
  }

  async inboxChangedSince(userId: string, sinceMs: number, limit: number): Promise<InboxRow[]> {
    return this.inbox.inboxChangedSince(userId, sinceMs, limit, this.now());
  }

  async createAttachment(att: NewAttachment): Promise<void> {
    this.attachments.create(att);
  }

  async getAttachments(ids: readonly string[]): Promise<AttachmentRecord[]> {
    return this.attachments.getMany(ids);
  }

  async completeAttachment(id: string, sha256: string, meta: Attachment): Promise<boolean> {
    return this.attachments.completeOne(id, sha256, meta);
  }

  async updateAttachmentMeta(id: string, meta: Attachment): Promise<boolean> {
    return this.attachments.updateMeta(id, meta);
  }

  async deleteAttachments(ids: readonly string[]): Promise<AttachmentRecord[]> {
    return this.attachments.deleteMany(ids);
  }

  async listUnposted(before: number, limit: number): Promise<AttachmentRecord[]> {
    return this.attachments.listUnposted(before, limit);
  }

  /** Polls tryRefBlob while the blob is claimed (stale claims too); rejects if no dropBlob came within 5 s. */
  async refBlob(sha256: string): Promise<void> {
    const deadline = Date.now() + claimWaitMs;
    while (!(await this.tryRefBlob(sha256))) {
      if (Date.now() >= deadline) throw new ContentionError(`store: blob ${sha256} stayed claimed for deletion for ${claimWaitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, claimPollMs));
    }
  }

  /** One attempt of refBlob: false (nothing done) while the blob is claimed for deletion. */
  async tryRefBlob(sha256: string): Promise<boolean> {
    return this.blobs.tryRef(sha256);
  }

  async unrefBlob(sha256: string): Promise<void> {
    this.blobs.unref(sha256);
  }

  async listUnreferencedBlobs(before: number, limit: number, claimedBefore: number): Promise<UnreferencedBlob[]> {
    return this.blobs.listUnreferenced(before, limit, claimedBefore);
  }

  async claimBlob(sha256: string, since: number, claimedAt: number | null): Promise<boolean> {
    return this.blobs.claim(sha256, since, claimedAt);
  }

  async dropBlob(sha256: string): Promise<void> {
    this.blobs.drop(sha256);
  }

  async putPushRegistration(reg: PushRegistration): Promise<void> {
    this.push.put(reg);
  }

  async getPushRegistrations(userIds: readonly string[]): Promise<PushRegistration[]> {
    return this.push.getMany(userIds);
  }

  async deletePushRegistration(userId: string, deviceId: string): Promise<boolean> {
    return this.push.delete(userId, deviceId);
  }

  async deletePushRegistrationIfTarget(userId: string, deviceId: string, target: PushTarget): Promise<boolean> {
    return this.push.deleteIfTarget(userId, deviceId, target);
  }

  async addPushDeadLetter(letter: PushDeadLetter, keep: number): Promise<void> {
    this.push.addDeadLetter(letter, keep);
  }

  async listPushDeadLetters(userId: string, limit: number): Promise<PushDeadLetter[]> {
    return this.push.listDeadLetters(userId, limit);
  }

  async probe(): Promise<void> {
    // A read of a table, not `SELECT 1`: a file replaced or unreadable since it was opened fails here.
    this.db.prepare('SELECT user_id FROM users LIMIT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

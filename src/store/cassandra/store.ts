/** CassandraStore: the distributed Store engine, composed of one class per table group. */
import type { Cassandra } from '../../cassandra';
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
} from '../types';
import { EventAppender } from './append';
import { AttachmentTable, BlobTable } from './attachments';
import { ConversationTable, memberRecord, record } from './conversations';
import { Cql } from './db';
import { Inbox } from './inbox';
import { EventLog } from './log';
import { addMissingColumns, hasTable } from './migrate';
import { PushTable } from './push';
import { UserTable } from './users';
import { searchUsers } from '../search';

export interface CassandraStoreOptions {
  /** Clock for marker and mute times (updated_at); tests may pin it. */
  now?: () => number;
  /** Whether close() also closes the connection (false when the sequencer shares it). */
  ownsConnection?: boolean;
}

/**
 * Store on Cassandra 5 / ScyllaDB; keeps every point of the Store contract
 * (src/store/index.ts). Every statement is prepared and runs at the connection's
 * consistency (LWTs at its serial consistency). Group commit, dedup and repair:
 * append.ts; markers and inbox: inbox.ts; the schema: schema.cql and README.md.
 */
export class CassandraStore implements Store {
  private readonly users: UserTable;
  private readonly conversations: ConversationTable;
  private readonly log: EventLog;
  private readonly appender: EventAppender;
  private readonly inbox: Inbox;
  private readonly attachments: AttachmentTable;
  private readonly blobs: BlobTable;
  private readonly push: PushTable;
  private readonly now: () => number;
  private readonly db: Cql;

  private constructor(
    private readonly cassandra: Cassandra,
    private readonly options: CassandraStoreOptions,
  ) {
    const db = new Cql(cassandra);
    this.db = db;
    this.now = options.now ?? Date.now;
    this.users = new UserTable(db, this.now);
    this.conversations = new ConversationTable(db);
    this.log = new EventLog(db);
    this.attachments = new AttachmentTable(db);
    this.blobs = new BlobTable(db, this.now);
    this.push = new PushTable(db);
    this.appender = new EventAppender(db, this.log, this.conversations, this.attachments, this.blobs);
    this.inbox = new Inbox(db, this.conversations, this.log);
  }

  /** Applies schema.cql and added columns (idempotent) to the connection's keyspace and returns the store. */
  static async open(cassandra: Cassandra, options: CassandraStoreOptions = {}): Promise<CassandraStore> {
    // Loaded here, not at the top: src/store/index.ts exports this engine, and loading
    // cassandra-driver costs ~0.4 s, which the SQLite-only processes (and the SQLite writer
    // thread) should not pay. Every other import of this engine is type-only.
    const { applyCqlFile, cqlFile } = await import('../../cassandra');
    const hadSearch = await hasTable(cassandra, 'user_search');
    await applyCqlFile(cassandra.client, cqlFile(__dirname, 'schema.cql'));
    await addMissingColumns(cassandra);
    const store = new CassandraStore(cassandra, options);
    // A keyspace from before people search: its users are indexed once, so they can be found too.
    if (!hadSearch) await store.users.indexAll();
    return store;
  }

  createUser(user: NewUser): Promise<UserRecord> {
    return this.users.create(user);
  }

  getUser(userId: string): Promise<UserRecord | null> {
    return this.users.get(userId);
  }

  getUserByUsername(username: string): Promise<UserRecord | null> {
    return this.users.getByUsername(username);
  }

  getUsers(userIds: readonly string[]): Promise<UserRecord[]> {
    return this.users.getMany(userIds);
  }

  updateUserSettings(userId: string, settings: Partial<UserSettings>): Promise<UserRecord | null> {
    return this.users.updateSettings(userId, settings);
  }

  updateDisplayName(userId: string, displayName: string): Promise<UserRecord | null> {
    return this.users.rename(userId, displayName);
  }

  searchUsers(query: string, cursor: UserSearchCursor | null, limit: number): Promise<UserSearchPage> {
    return searchUsers({ scan: (p, a, l) => this.users.scanSearch(p, a, l), getUsers: (ids) => this.users.getMany(ids) }, query, cursor, limit);
  }

  getAuthStates(userIds: readonly string[]): Promise<AuthState[]> {
    return this.users.authStates(userIds);
  }

  revokeTokens(userId: string): Promise<AuthState | null> {
    return this.users.revokeTokens(userId);
  }

  revokeDevice(userId: string, deviceId: string, keepMs: number): Promise<AuthState | null> {
    return this.users.revokeDevice(userId, deviceId, keepMs);
  }

  deleteUser(userId: string, reserveUntil: number): Promise<AuthState | null> {
    return this.users.delete(userId, reserveUntil);
  }

  createConversation(conv: NewConversation): Promise<{ conversation: ConversationRecord; created: boolean }> {
    return this.conversations.create(conv);
  }

  async getConversation(convId: string): Promise<ConversationRecord | null> {
    const row = await this.conversations.get(convId);
    return row === null ? null : record(row);
  }

  async getMembers(convId: string): Promise<MemberRecord[]> {
    return (await this.conversations.getMembers(convId)).map(memberRecord);
  }

  async getMember(convId: string, userId: string): Promise<MemberRecord | null> {
    const m = await this.conversations.getMember(convId, userId);
    return m === null ? null : memberRecord(m);
  }

  appendEvents(items: readonly AppendItem[]): Promise<AppendResult[]> {
    return this.appender.append(items);
  }

  readEvents(convId: string, afterSeq: number, limit: number): Promise<ConvEvent[]> {
    return this.log.readEvents(convId, afterSeq, limit);
  }

  readMessages(convId: string, beforeSeq: number, limit: number): Promise<MessageView[]> {
    return this.log.readMessages(convId, beforeSeq, limit);
  }

  readMessage(convId: string, seq: number): Promise<MessageView | null> {
    return this.log.readMessage(convId, seq);
  }

  readThreadReplies(convId: string, rootSeq: number, afterSeq: number, limit: number): Promise<MessageView[]> {
    return this.log.readThreadReplies(convId, rootSeq, afterSeq, limit);
  }

  findByClientMsgId(convId: string, senderId: string, clientMsgId: string): Promise<KeyedEvent | null> {
    return this.log.findByClientMsgId(convId, senderId, clientMsgId);
  }

  saveMarkers(updates: readonly MarkerUpdate[]): Promise<void> {
    return this.inbox.saveMarkers(updates, this.now());
  }

  countUnread(convId: string, userId: string, afterSeq: number): Promise<UnreadCounts> {
    return this.log.countUnread(convId, userId, afterSeq);
  }

  setMute(convId: string, userId: string, mutedUntil: number | null): Promise<boolean> {
    return this.inbox.setMute(convId, userId, mutedUntil, this.now());
  }

  listInbox(userId: string, cursor: string | null, limit: number): Promise<InboxPage> {
    return this.inbox.listInbox(userId, cursor, limit, this.now());
  }

  countUnreadConversations(userId: string, except: string | null, limit: number): Promise<number> {
    return this.inbox.countUnreadConversations(userId, except, limit);
  }

  inboxChangedSince(userId: string, sinceMs: number, limit: number): Promise<InboxRow[]> {
    return this.inbox.inboxChangedSince(userId, sinceMs, limit, this.now());
  }

  createAttachment(att: NewAttachment): Promise<void> {
    return this.attachments.create(att);
  }

  getAttachments(ids: readonly string[]): Promise<AttachmentRecord[]> {
    return this.attachments.getMany(ids);
  }

  completeAttachment(id: string, sha256: string, meta: Attachment): Promise<boolean> {
    return this.attachments.complete(id, sha256, meta);
  }

  updateAttachmentMeta(id: string, meta: Attachment): Promise<boolean> {
    return this.attachments.updateMeta(id, meta);
  }

  deleteAttachments(ids: readonly string[]): Promise<AttachmentRecord[]> {
    return this.attachments.deleteMany(ids);
  }

  listUnposted(before: number, limit: number): Promise<AttachmentRecord[]> {
    return this.attachments.listUnposted(before, limit);
  }

  refBlob(sha256: string): Promise<void> {
    return this.blobs.ref(sha256);
  }

  unrefBlob(sha256: string): Promise<void> {
    return this.blobs.unref(sha256);
  }

  listUnreferencedBlobs(before: number, limit: number, claimedBefore: number): Promise<UnreferencedBlob[]> {
    return this.blobs.listUnreferenced(before, limit, claimedBefore);
  }

  claimBlob(sha256: string, since: number, claimedAt: number | null): Promise<boolean> {
    return this.blobs.claim(sha256, since, claimedAt);
  }

  dropBlob(sha256: string): Promise<void> {
    return this.blobs.drop(sha256);
  }

  putPushRegistration(reg: PushRegistration): Promise<void> {
    return this.push.put(reg);
  }

  getPushRegistrations(userIds: readonly string[]): Promise<PushRegistration[]> {
    return this.push.getMany(userIds);
  }

  deletePushRegistration(userId: string, deviceId: string): Promise<boolean> {
    return this.push.delete(userId, deviceId);
  }

  deletePushRegistrationIfTarget(userId: string, deviceId: string, target: PushTarget): Promise<boolean> {
    return this.push.deleteIfTarget(userId, deviceId, target);
  }

  addPushDeadLetter(letter: PushDeadLetter, keep: number): Promise<void> {
    return this.push.addDeadLetter(letter, keep);
  }

  listPushDeadLetters(userId: string, limit: number): Promise<PushDeadLetter[]> {
    return this.push.listDeadLetters(userId, limit);
  }

  async probe(): Promise<void> {
    // Not '': Cassandra refuses an empty partition key. No username has a space.
    await this.db.first('SELECT user_id FROM users_by_username WHERE username = ?', ['readiness probe']);
  }

  /** Every call awaits its writes, so there is nothing to flush; closes the connection if owned. */
  async close(): Promise<void> {
    if (this.options.ownsConnection === true) await this.cassandra.close();
  }
}

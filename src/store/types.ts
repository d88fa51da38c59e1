/** Store records, the Store interface and its contract (see index.ts). */
import type {
  Attachment,
  ConvEvent,
  ConversationType,
  EventKind,
  InboxRow,
  LinkPreview,
  MemberRole,
  PushTarget,
} from '../protocol';

export type { PushTarget } from '../protocol';

/** Per-user privacy settings. */
export interface UserSettings {
  /** Others see this user online/offline; when false the user always appears offline. */
  show_presence: boolean;
  /** Others see last_seen; when false it is null. */
  show_last_seen: boolean;
  /** Others get RECEIPT kind "read" for this user's READs. */
  send_read_receipts: boolean;
  /** Notifications show sender and text; when false they say only "New message". */
  push_previews: boolean;
  /** Others find this user by name (searchUsers); when false only an exact username finds them. */
  discoverable: boolean;
}

export const defaultUserSettings: Readonly<UserSettings> = {
  show_presence: true,
  show_last_seen: true,
  send_read_receipts: true,
  push_previews: true,
  discoverable: true,
};

export interface UserRecord {
  user_id: string;
  /** Lowercase; '' for a deleted account (its name is reserved for a while, never shown). */
  username: string;
  display_name: string;
  password_hash: string;
  created_at: number;
  settings: UserSettings;
  /**
   * When the account was deleted (ms), else null. A deleted account keeps its row so the
   * messages others received still name a sender: display name "Deleted user", no password,
   * presence hidden, username kept only while reserved (deleteUser).
   */
  deleted_at: number | null;
}

/** The display name every deleted account shows. */
export const deletedUserName = 'Deleted user';

/** A deleted account's settings: never online, no last seen, no read receipts. */
export const deletedUserSettings: Readonly<UserSettings> = {
  show_presence: false,
  show_last_seen: false,
  send_read_receipts: false,
  push_previews: false,
  discoverable: false,
};

/**
 * What decides whether a user's tokens still count (src/auth/state.ts). Generations, not
 * times: a token carries the user's `token_gen` when it was issued, and every revocation
 * raises `token_gen`, so comparing numbers needs no agreement between shards' clocks.
 */
export interface AuthState {
  user_id: string;
  /** The account was deleted: no token counts. */
  deleted: boolean;
  /** The generation new tokens are issued with. */
  token_gen: number;
  /** Tokens with a lower generation are refused (signed out everywhere). */
  valid_from_gen: number;
  /**
   * Signed-out devices: tokens naming the device (or used as it) with a generation at or
   * below the number are refused. Kept as long as such a token may live (revokeDevice).
   */
  revoked_devices: Record<string, number>;
}

export interface NewUser {
  user_id: string;
  username: string;
  display_name: string;
  password_hash: string;
  created_at: number;
}

export interface ConversationRecord {
  conv_id: string;
  type: ConversationType;
  title: string | null;
  created_at: number;
  /** Highest committed seq (0 when empty). */
  last_seq: number;
  member_count: number;
}

export interface MemberRecord {
  conv_id: string;
  user_id: string;
  role: MemberRole;
  joined_at: number;
  last_read_seq: number;
  last_delivered_seq: number;
  /** ms since epoch; MUTED_FOREVER (-1) until unmuted; null when not muted. */
  muted_until: number | null;
  marked_unread: boolean;
}

export interface NewConversation {
  conv_id: string;
  type: ConversationType;
  title: string | null;
  created_at: number;
  members: { user_id: string; role: MemberRole }[];
}

/** One event to append; membership changes ride along and commit atomically with it. */
export interface AppendItem {
  event: ConvEvent;
  /** For member_added / member_removed: the rows to insert or delete with the event. */
  members?: {
    /** New members; their read marker starts at `last_read_seq` (the join event: history before it is not unread). */
    add?: { user_id: string; role: MemberRole; last_read_seq: number }[];
    remove?: string[];
  };
}

/**
 * An upload slot, and once completed an attachment. Created `pending` when a client asks
 * to upload; `ready` once the server checked the stored bytes; posted (conv_id and seq
 * set) by the store when a message event carrying it is appended; removed when that
 * message is deleted, or by the collector when never posted within a day.
 */
export interface AttachmentRecord {
  attachment_id: string;
  owner_id: string;
  /** What the client declared when it asked for the slot (the server checks it at completion). */
  name: string;
  declared_type: string;
  declared_size: number;
  /** Lowercase hex. */
  declared_sha256: string;
  created_at: number;
  state: 'pending' | 'ready';
  /** ready: sha256 (lowercase hex) the server computed from the stored bytes: names the blob. */
  sha256: string | null;
  /** ready: the attachment as messages carry it (renditions filled in as they are made). */
  meta: Attachment | null;
  /** Set when a message carrying it was appended; null until then. */
  conv_id: string | null;
  seq: number | null;
}

export type NewAttachment = Omit<AttachmentRecord, 'state' | 'sha256' | 'meta' | 'conv_id' | 'seq'>;

/** A stored blob (one per sha256) that no attachment references any more. */
export interface UnreferencedBlob {
  sha256: string;
  /** When its reference count reached 0 (ms). */
  unreferenced_since: number;
  /**
   * null: not claimed. A number: when a collector claimed it (ms; 0 for a claim taken
   * before claims recorded their time), a claim listed because it is stale (older than the
   * caller's lease, so presumed abandoned): claimBlob with this value takes it over.
   */
  claimed_at: number | null;
}

/**
 * The committed event holding an idempotency key. Its kind lets the caller tell a retry
 * (same command) from a key reused by another command (a REACT with the id of a SEND).
 */
export interface KeyedEvent {
  seq: number;
  ts: number;
  kind: EventKind;
}

/** Outcome of one AppendItem, in the same order as the input; a duplicate names the original. */
export type AppendResult = { status: 'ok' } | ({ status: 'duplicate' } & KeyedEvent);

/** A marker update: seqs only move forward; absent fields are left alone. */
export interface MarkerUpdate {
  conv_id: string;
  user_id: string;
  last_read_seq?: number;
  last_delivered_seq?: number;
  /** Set as given (MARK_UNREAD sets it, READ clears it). */
  marked_unread?: boolean;
}

/** One member's unread state of a conversation. */
export interface UnreadCounts {
  /** Messages from others above the read marker, deleted ones not counted. */
  unread: number;
  /** Those of them that mention the member. */
  mentions: number;
}

/** A message with its current state folded in, as history shows it. */
export interface MessageView extends ConvEvent {
  reactions: Record<string, string>;
  edited_at: number | null;
  deleted: boolean;
  reply_to: number | null;
  thread_root: number | null;
  /** Live replies of the thread this message starts or belongs to. */
  reply_count: number;
  link_preview: LinkPreview | null;
}

/** Where a user search page ended: the index row last looked at (opaque to clients). */
export interface UserSearchCursor {
  term: string;
  user_id: string;
}

export interface UserSearchPage {
  users: UserRecord[];
  /** null when there are no more matches. */
  next_cursor: UserSearchCursor | null;
}

export interface InboxPage {
  rows: InboxRow[];
  /** Opaque; null when there are no more rows. */
  next_cursor: string | null;
}


/** A device's push registration: one per (user_id, device_id). */
export interface PushRegistration {
  user_id: string;
  device_id: string;
  /** What the device is: a browser, an Android or an iOS app. */
  platform: 'web' | 'android' | 'ios';
  /** The app the device runs (a bundle or package id), '' when not given. */
  app_id: string;
  target: PushTarget;
  /** When the device first registered (ms); a replace keeps the stored one. */
  created_at: number;
  /** When the target was last set (ms). */
  updated_at: number;
}

/** A push that failed for good (dead target, retries exhausted), kept for operators. */
export interface PushDeadLetter {
  /** Unique (the caller's id, e.g. newId): writing the same letter twice keeps one. */
  letter_id: string;
  user_id: string;
  device_id: string;
  provider: PushTarget['provider'];
  /** When it was given up (ms); letters are ordered by it, then by letter_id. */
  failed_at: number;
  /** The provider's last answer, for people ("410 Gone", "registration-token-not-registered"). */
  reason: string;
  attempts: number;
  /** The notification as it would have been sent (JSON text). */
  payload: string;
}

/** The durable store. Every method may reject with an engine error; callers map it. */
export interface Store {
  // users
  /**
   * Rejects with ProtocolError('conflict') when the username is taken: by a live account,
   * or by a deleted one whose reservation has not ended (see deleteUser).
   */
  createUser(user: NewUser): Promise<UserRecord>;
  /** The user, deleted accounts included (deleted_at set). */
  getUser(userId: string): Promise<UserRecord | null>;
  /** The live account with this username; null for a deleted one. */
  getUserByUsername(username: string): Promise<UserRecord | null>;
  /** Users that exist among `userIds` (deleted ones included, deleted_at set), in no particular order. */
  getUsers(userIds: readonly string[]): Promise<UserRecord[]>;
  updateUserSettings(userId: string, settings: Partial<UserSettings>): Promise<UserRecord | null>;
  /** Renames a live account (search finds it by the new name, no longer by the old); null for an unknown or deleted user. */
  updateDisplayName(userId: string, displayName: string): Promise<UserRecord | null>;
  /**
   * Live, discoverable users whose username, display name or a word of it starts with
   * `query` (case-insensitive; at least minSearchChars characters, else bad_request), each
   * once, ordered by the matching name, then user id. A page may hold fewer than `limit`
   * users (hidden ones skipped) and still have a next cursor.
   */
  searchUsers(query: string, cursor: UserSearchCursor | null, limit: number): Promise<UserSearchPage>;

  // accounts: sign-out and deletion (AuthState)
  /** The auth state of the users that exist among `userIds` (deleted ones included), in no particular order. */
  getAuthStates(userIds: readonly string[]): Promise<AuthState[]>;
  /**
   * Signs the user out everywhere: raises token_gen and refuses every token issued before
   * (valid_from_gen = the new token_gen). The new state; null for an unknown user.
   */
  revokeTokens(userId: string): Promise<AuthState | null>;
  /**
   * Signs one device out: its tokens issued so far are refused (revoked_devices[device] =
   * token_gen before the call), then token_gen is raised so its next login counts. The
   * entry is kept `keepMs` (the token lifetime: older tokens have expired by then). The
   * new state; null for an unknown user.
   */
  revokeDevice(userId: string, deviceId: string, keepMs: number): Promise<AuthState | null>;
  /**
   * Deletes the account, keeping its row as a tombstone: deleted_at set, display name
   * deletedUserName, password and settings cleared (presence hidden), every token refused.
   * Its username stays taken until `reserveUntil` (ms; a time already past frees it at
   * once); after that createUser may give it to someone else, and getUserByUsername never
   * finds a deleted account. Deleting twice keeps the first deletion. The new state; null
   * for an unknown user.
   */
  deleteUser(userId: string, reserveUntil: number): Promise<AuthState | null>;

  // conversations
  /**
   * Creates a conversation with its members. For type "direct", a conversation between
   * the same two users is returned instead (created: false), never duplicated.
   */
  createConversation(conv: NewConversation): Promise<{ conversation: ConversationRecord; created: boolean }>;
  getConversation(convId: string): Promise<ConversationRecord | null>;
  getMembers(convId: string): Promise<MemberRecord[]>;
  getMember(convId: string, userId: string): Promise<MemberRecord | null>;

  // events
  /** Group commit: see the contract above. Results are in input order. */
  appendEvents(items: readonly AppendItem[]): Promise<AppendResult[]>;
  /** Events with seq > afterSeq, ascending, at most `limit`. */
  readEvents(convId: string, afterSeq: number, limit: number): Promise<ConvEvent[]>;
  /** Messages with seq < beforeSeq, ascending, the `limit` newest of them, state folded. */
  readMessages(convId: string, beforeSeq: number, limit: number): Promise<MessageView[]>;
  /** One message (kind `message`, deleted or not) with its state folded; null for any other seq. */
  readMessage(convId: string, seq: number): Promise<MessageView | null>;
  /** Replies of the thread started by `rootSeq` with seq > afterSeq, ascending, at most `limit`. */
  readThreadReplies(convId: string, rootSeq: number, afterSeq: number, limit: number): Promise<MessageView[]>;
  /** Looks up a committed event (any kind) by its idempotency key. */
  findByClientMsgId(convId: string, senderId: string, clientMsgId: string): Promise<KeyedEvent | null>;

  // markers and unread
  /** Applies forward-only marker updates in one write. */
  saveMarkers(updates: readonly MarkerUpdate[]): Promise<void>;
  /** Messages from users other than `userId` with seq > afterSeq (not deleted), and how many mention `userId`. */
  countUnread(convId: string, userId: string, afterSeq: number): Promise<UnreadCounts>;
  /** Sets a member's mute (ms, MUTED_FOREVER, or null); false when not a member. */
  setMute(convId: string, userId: string, mutedUntil: number | null): Promise<boolean>;

  // inbox
  /** The user's conversations, newest activity first. */
  listInbox(userId: string, cursor: string | null, limit: number): Promise<InboxPage>;
  /** The user's inbox rows changed at or after `sinceMs` (member or conversation changes). */
  inboxChangedSince(userId: string, sinceMs: number, limit: number): Promise<InboxRow[]>;
  /**
   * How many of `userId`'s conversations have unread messages (messages from others, not
   * deleted, after the user's read marker) or are marked unread; `except` (a conversation
   * just read) is not counted. Counts at most `limit` (the badge says "many" past that).
   * The same rows listInbox reports with `unread > 0 || marked_unread`, without counting
   * each one's unread messages: one unread message is enough.
   */
  countUnreadConversations(userId: string, except: string | null, limit: number): Promise<number>;

  // attachments and blobs (see AttachmentRecord; a message event's `attachments` are posted by appendEvents)
  createAttachment(att: NewAttachment): Promise<void>;
  /** The records that exist among `ids`, in no particular order. */
  getAttachments(ids: readonly string[]): Promise<AttachmentRecord[]>;
  /** pending -> ready with the server's sha256 and meta; false when the record is missing or not pending. */
  completeAttachment(id: string, sha256: string, meta: Attachment): Promise<boolean>;
  /** Replaces the meta of a ready attachment (renditions made); false when missing or not ready. */
  updateAttachmentMeta(id: string, meta: Attachment): Promise<boolean>;
  /**
   * Removes records; returns those it removed (a record already gone is not returned, so
   * callers release each blob reference once).
   */
  deleteAttachments(ids: readonly string[]): Promise<AttachmentRecord[]>;
  /** Records created before `before` (ms) that were never posted (pending or ready), oldest first. */
  listUnposted(before: number, limit: number): Promise<AttachmentRecord[]>;
  /**
   * Takes one reference to the blob of `sha256` (created with one reference if missing). A
   * blob claimed for deletion is waited for until dropped, then created anew, so the caller
   * (which writes the bytes after this resolves) never loses them to a collector. The wait
   * is bounded (5 s): a claim its collector abandoned makes it reject until a later
   * collector takes the claim over and drops the blob.
   */
  refBlob(sha256: string): Promise<void>;
  /** Releases one reference; at zero the blob is unreferenced since now. */
  unrefBlob(sha256: string): Promise<void>;
  /**
   * Blobs at zero references since before `before` (ms), oldest first: those not claimed,
   * and those whose claim was taken before `claimedBefore` (ms): a collector that died
   * (or failed) between claimBlob and dropBlob, so the next one finishes its job. The
   * cutoff is the caller's lease (a claim is trusted that long), as `before` is its grace.
   */
  listUnreferencedBlobs(before: number, limit: number, claimedBefore: number): Promise<UnreferencedBlob[]>;
  /**
   * Claims an unreferenced blob for deletion: true only if it still has no reference, is
   * unreferenced since `since` (no one took and released it meanwhile), and its claim is
   * still `claimedAt` as listed: null for an unclaimed blob, or the stale claim this one
   * replaces (so of two collectors taking over the same stale claim, one wins). The claim
   * is timed now, always later than the one it replaces. Until dropBlob, refBlob of it
   * waits, a stale claim included: its objects may be half deleted.
   */
  claimBlob(sha256: string, since: number, claimedAt: number | null): Promise<boolean>;
  /** Forgets a claimed blob (after its objects were deleted); refBlob of it then creates it anew. */
  dropBlob(sha256: string): Promise<void>;

  // push registrations (one per (user_id, device_id))
  /** Creates or replaces the device's registration (created_at kept on replace). */
  putPushRegistration(reg: PushRegistration): Promise<void>;
  /** Every registration of these users, in no particular order. */
  getPushRegistrations(userIds: readonly string[]): Promise<PushRegistration[]>;
  /** Removes the device's registration; false when there was none. */
  deletePushRegistration(userId: string, deviceId: string): Promise<boolean>;
  /**
   * Removes the device's registration only if its target is still `target` (a provider said
   * it is gone; the device may have registered a new one since); false otherwise.
   */
  deletePushRegistrationIfTarget(userId: string, deviceId: string, target: PushTarget): Promise<boolean>;
  /** Keeps a push that failed for good; at most the newest `keep` per user are kept. */
  addPushDeadLetter(letter: PushDeadLetter, keep: number): Promise<void>;
  /** The newest dead letters of a user, newest first. */
  listPushDeadLetters(userId: string, limit: number): Promise<PushDeadLetter[]>;

  /**
   * Resolves when the store can serve requests now: one point read of one of its tables
   * (for readiness, at most about once a second). Rejects when the engine cannot answer,
   * or its keyspace or tables are missing.
   */
  probe(): Promise<void>;

  /** Flushes and releases the engine. */
  close(): Promise<void>;
}


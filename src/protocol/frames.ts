/**
 * Wire protocol v1 frame and record types (docs/protocol.md). Pure types: the client
 * SDK imports this file, so it must never pull in I/O or server-only dependencies.
 */
import type { ErrorCode } from './errors';

/** Event kinds stored in a conversation's log, each with its own `seq`. */
export type EventKind =
  | 'message'
  | 'reaction'
  | 'edit'
  | 'delete'
  | 'member_added'
  | 'member_removed'
  | 'conversation_updated'
  | 'link_preview'
  | 'attachment_ready';

/** What an attachment is, from the type sniffed from its bytes (never the client's word). */
export type AttachmentKind = 'image' | 'video' | 'audio' | 'file';

/** A rendition of an image made by the server: metadata-free, auto-oriented. */
export interface AttachmentVariant {
  width: number;
  height: number;
  size: number;
  content_type: string;
}

/**
 * An attachment as messages carry it. Its bytes are fetched through a signed URL from
 * `GET /attachments/:id/url` (members of the conversation it was posted in only).
 */
export interface Attachment {
  id: string;
  kind: AttachmentKind;
  /** Sniffed from the bytes. */
  content_type: string;
  size: number;
  /** The file name the uploader gave (sanitised). */
  name: string;
  /** Images: size after auto-orientation; null otherwise. */
  width: number | null;
  height: number | null;
  /** Images: ThumbHash (base64, a few dozen bytes) to blur up at once; null otherwise. */
  placeholder: string | null;
  /** Images: the small rendition (320 px box), null until made. */
  thumbnail: AttachmentVariant | null;
  /** Images: the display rendition (1600 px box), null until made (then `attachment_ready`). */
  display: AttachmentVariant | null;
}

/**
 * One event of a conversation's log, exactly as it travels in DELIVER, CONNACK `missed`
 * and `/events`. Optional fields appear only for the kinds that use them.
 */
export interface ConvEvent {
  conv_id: string;
  seq: number;
  ts: number;
  sender_id: string;
  kind: EventKind;
  /** message, edit */
  body?: string;
  /** message: seq of the message this one answers */
  reply_to?: number | null;
  /** message: seq of the first message of the thread this reply belongs to; null when not a reply */
  thread_root?: number | null;
  /** message: its attachments, in the order sent (history folds `attachment_ready` in) */
  attachments?: Attachment[];
  /** attachment_ready: the attachment of message `target_seq` with the renditions now made */
  attachment?: Attachment;
  /** message: mentioned user ids */
  mentions?: string[];
  /** message, reaction, edit, delete: the sender's idempotency key */
  client_msg_id?: string;
  /** reaction, edit, delete, link_preview, attachment_ready: the message it applies to */
  target_seq?: number;
  /** reaction: null removes the sender's reaction */
  emoji?: string | null;
  /** member_added, member_removed */
  user_ids?: string[];
  /** conversation_updated (the new title); link_preview (the page's title) */
  title?: string | null;
  /** link_preview: the URL as written in the message */
  url?: string;
  /** link_preview */
  description?: string | null;
  /** link_preview: absolute http(s) URL of the page's image */
  image_url?: string | null;
  /** link_preview */
  site_name?: string | null;
}

/** `POST /api/v1/attachments`: what is about to be uploaded (the server checks it again at completion). */
export interface UploadRequest {
  name: string;
  content_type: string;
  /** Bytes. */
  size: number;
  /** 64 hex digits. */
  sha256: string;
}

/** Where and how to PUT the bytes of an upload; `upload_url` holds no token and expires at `expires_at` (ms). */
export interface UploadSlot {
  attachment_id: string;
  upload_url: string;
  upload_method: 'PUT';
  upload_headers: Record<string, string>;
  expires_at: number;
}

/** Which bytes of an attachment: images are served as their renditions only (`original` of an image is its display size). */
export type Rendition = 'thumbnail' | 'display' | 'original';

/** A signed, expiring download URL (usable as an `<img src>`); `expires_at` in ms of the server's clock. */
export interface AttachmentUrl {
  url: string;
  expires_at: number;
  content_type: string;
}

/**
 * What a push notification carries to a device (Web Push: the decrypted body; FCM: the data
 * fields). One notification per conversation: `tag` is the conversation, so a newer one
 * replaces the last instead of stacking.
 */
export interface PushPayload {
  /** `message`: show (or replace) the notification; `retract`: close the one with this `tag` (read elsewhere). */
  kind: 'message' | 'retract';
  conv_id: string;
  seq: number;
  title: string;
  body: string;
  /** Conversations with unread messages: the app badge to set (0 clears it). */
  badge: number;
  tag: string;
}

/** A browser's PushSubscription (RFC 8030 endpoint, RFC 8291 keys, base64url), as PushSubscription.toJSON() gives it. */
export interface WebPushTarget {
  provider: 'webpush';
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** An FCM registration token (Android, or iOS through FCM's APNs bridge). */
export interface FcmTarget {
  provider: 'fcm';
  token: string;
}

/**
 * Where a device's notifications go, one shape for the store, the push service and the
 * providers. Two targets are the same when these fields are equal.
 */
export type PushTarget = WebPushTarget | FcmTarget;

/** A link preview folded into a message of history. */
export interface LinkPreview {
  url: string;
  title: string | null;
  description: string | null;
  image_url: string | null;
  site_name: string | null;
}

/** `muted_until` value meaning "until unmuted". */
export const MUTED_FOREVER = -1;

/** A user's view of one conversation, as listed by the inbox and sent in CONNACK. */
export interface InboxRow {
  conv_id: string;
  type: ConversationType;
  title: string | null;
  /** For direct conversations: the other member. */
  peer_id: string | null;
  last_seq: number;
  /** Short text of the newest message, or null. */
  preview: string | null;
  /** Who sent the message `preview` shows ("Dave: Nice"), null without a preview. */
  preview_sender_id: string | null;
  /** When that message was sent (ms; not when it was last edited), null without a preview. */
  preview_ts: number | null;
  updated_at: number;
  unread: number;
  /** Unread messages (counted as `unread`) that mention this user. */
  unread_mentions: number;
  last_read_seq: number;
  /** Set by MARK_UNREAD, cleared by the next READ (or a message this user sends). */
  marked_unread: boolean;
  /** ms timestamp, MUTED_FOREVER (-1), or null when not muted. */
  muted_until: number | null;
  /** Whether the mute is in force now (muted_until is -1 or in the future). */
  muted: boolean;
}

export type ConversationType = 'direct' | 'group';
export type MemberRole = 'admin' | 'member';
export type TypingState = 'started' | 'stopped';
export type PresenceState = 'online' | 'offline';
export type ReceiptKind = 'delivered' | 'read';

/** What a device tells CONNECT it already holds. */
export interface SyncState {
  /** conv_id -> last seq the device has */
  convs?: Record<string, number>;
  /** opaque cursor returned by the previous CONNACK */
  inbox_cursor?: string;
}

// ---- client -> server ----

export interface ConnectFrame {
  type: 'CONNECT';
  token: string;
  device_id: string;
  sync?: SyncState;
}
export interface SendFrame {
  type: 'SEND';
  client_msg_id: string;
  conv_id: string;
  body: string;
  reply_to?: number;
  attachments?: string[];
  mentions?: string[];
}
/** Sets (emoji), changes, or removes (null) the sender's reaction to a message. */
export interface ReactFrame {
  type: 'REACT';
  client_msg_id: string;
  conv_id: string;
  target_seq: number;
  emoji: string | null;
}
/** Replaces the body of the sender's own message, within the edit window. */
export interface EditFrame {
  type: 'EDIT';
  client_msg_id: string;
  conv_id: string;
  target_seq: number;
  body: string;
}
/** Unsends a message: its author, or a group admin. */
export interface DeleteFrame {
  type: 'DELETE';
  client_msg_id: string;
  conv_id: string;
  target_seq: number;
}
/** Mutes a conversation for this user until a time, forever (MUTED_FOREVER), or unmutes (null). */
export interface MuteFrame {
  type: 'MUTE';
  conv_id: string;
  until: number | null;
}
/** Marks a conversation unread on every device of this user, until the next READ. */
export interface MarkUnreadFrame {
  type: 'MARK_UNREAD';
  conv_id: string;
}
export interface DeliveredFrame {
  type: 'DELIVERED';
  conv_id: string;
  seq: number;
}
export interface ReadFrame {
  type: 'READ';
  conv_id: string;
  seq: number;
}
export interface TypingFrame {
  type: 'TYPING';
  conv_id: string;
  state: TypingState;
}
export interface PresenceSubFrame {
  type: 'PRESENCE_SUB';
  user_ids: string[];
}
export interface PingFrame {
  type: 'PING';
}

/** Every frame a client may send. */
export type ClientFrame =
  | ConnectFrame
  | SendFrame
  | ReactFrame
  | EditFrame
  | DeleteFrame
  | MuteFrame
  | MarkUnreadFrame
  | DeliveredFrame
  | ReadFrame
  | TypingFrame
  | PresenceSubFrame
  | PingFrame;

/**
 * Every client frame type, once: the decoder names unknown types by it and tests
 * enumerate it (the authorization matrix needs a row for each). The check below fails to
 * compile when a frame joins ClientFrame without joining this list.
 */
export const clientFrameTypes = ['CONNECT', 'SEND', 'REACT', 'EDIT', 'DELETE', 'MUTE', 'MARK_UNREAD', 'DELIVERED', 'READ', 'TYPING', 'PRESENCE_SUB', 'PING'] as const satisfies readonly ClientFrame['type'][];
const everyFrameTypeListed: Exclude<ClientFrame['type'], (typeof clientFrameTypes)[number]> extends never ? true : never = true;
void everyFrameTypeListed;

// ---- server -> client ----

export interface ConnackFrame {
  type: 'CONNACK';
  session_id: string;
  user_id: string;
  device_id: string;
  server_ts: number;
  heartbeat_ms: number;
  /** Events after the device's per-conversation seqs, grouped by conversation, ascending seq. */
  missed: ConvEvent[];
  /** True when `missed` was capped: page the rest with GET /conversations/:id/events. */
  more: boolean;
  inbox: InboxRow[];
  inbox_cursor: string;
}
export interface AckFrame {
  type: 'ACK';
  client_msg_id: string;
  conv_id: string;
  seq: number;
  ts: number;
  duplicate?: true;
}
export type DeliverFrame = { type: 'DELIVER' } & ConvEvent;
export interface ReceiptFrame {
  type: 'RECEIPT';
  conv_id: string;
  user_id: string;
  seq: number;
  kind: ReceiptKind;
}
/** This user's read state of a conversation changed (on any of their devices, or by a delete). */
export interface ReadSyncFrame {
  type: 'READ_SYNC';
  conv_id: string;
  last_read_seq: number;
  unread: number;
  unread_mentions: number;
  marked_unread: boolean;
}
/** This user muted or unmuted a conversation (sent to all of their sessions). */
export interface MuteSyncFrame {
  type: 'MUTE_SYNC';
  conv_id: string;
  muted_until: number | null;
}
export interface TypingOutFrame {
  type: 'TYPING';
  conv_id: string;
  user_id: string;
  state: TypingState;
}
export interface PresenceFrame {
  type: 'PRESENCE';
  user_id: string;
  state: PresenceState;
  last_seen: number | null;
}
export interface PongFrame {
  type: 'PONG';
  ts: number;
}
export interface ErrorFrame {
  type: 'ERROR';
  code: ErrorCode;
  message: string;
  ref: string | null;
  /** With `unavailable` (and `rate_limited` where known): wait at least this long (ms) before trying again. */
  retry_after_ms?: number;
}

/** Every frame the server may send. */
export type ServerFrame =
  | ConnackFrame
  | AckFrame
  | DeliverFrame
  | ReceiptFrame
  | ReadSyncFrame
  | MuteSyncFrame
  | TypingOutFrame
  | PresenceFrame
  | PongFrame
  | ErrorFrame;

/** Limits the server enforces; all configurable (docs/protocol.md). */
export interface Limits {
  maxFrameBytes: number;
  maxBodyChars: number;
  maxIdChars: number;
  maxGroupMembers: number;
  maxPresenceSub: number;
  maxAttachments: number;
  maxMentions: number;
  /** Longest reaction emoji, in UTF-16 units (one grapheme cluster in any case). */
  maxEmojiChars: number;
}

export const defaultLimits: Readonly<Limits> = {
  maxFrameBytes: 64 * 1024,
  maxBodyChars: 10_000,
  maxIdChars: 64,
  maxGroupMembers: 250,
  maxPresenceSub: 256,
  maxAttachments: 10,
  maxMentions: 50,
  maxEmojiChars: 32,
};

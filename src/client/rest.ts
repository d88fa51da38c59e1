/**
 * REST client for the server's API (docs/protocol.md and the README: JSON under `/api/v1`, bearer token). Uses the
 * global `fetch` (browsers, Node 20) unless one is injected.
 */
import type {
  Attachment,
  AttachmentUrl,
  ConvEvent,
  ConversationType,
  InboxRow,
  LinkPreview,
  MemberRole,
  PresenceState,
  Rendition,
  UploadRequest,
  UploadSlot,
} from '../protocol/frames';
import { ApiError, parseJson, toApiError } from './errors';
import type { PushDevice, PushRegistered, PushRegistration } from './push';

/**
 * The subset of `fetch` the SDK uses; inject one for platforms without a global fetch.
 * `signal` (set by the long-poll carrier) aborts the request; an implementation that
 * ignores it still works, its abandoned requests just run to their end.
 */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<ResponseLike>;

/**
 * The platform's fetch, bound to globalThis: browsers refuse a fetch called as a method of
 * another object ("Illegal invocation"), which is what storing it in a field does.
 */
export function globalFetch(): FetchLike {
  const f = (globalThis as { fetch?: FetchLike }).fetch;
  if (!f) throw new Error('no global fetch: pass the `fetch` option');
  return (url, init) => f.call(globalThis, url, init);
}

/** The subset of a fetch Response the SDK reads. */
export interface ResponseLike {
  readonly status: number;
  readonly ok: boolean;
  text(): Promise<string>;
}

export interface RestClientOptions {
  /** Server origin, e.g. `https://chat.example.com` (the client appends `/api/v1`). */
  baseUrl: string;
  /** Bearer token; may also be set later with `setToken`. */
  token?: string;
  /** Defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
}

export interface AuthResult {
  user_id: string;
  token: string;
  /** Present on register. */
  username?: string;
  /** The device the token names: the one given, or one the server named (sign it out with `logout`). */
  device_id?: string;
}

/** What signing in or up sends; `device_id` names the device (the id it CONNECTs and registers pushes with). */
export interface Credentials {
  username: string;
  password: string;
  device_id?: string;
}

export interface User {
  user_id: string;
  /** '' for a deleted account. */
  username: string;
  display_name: string | null;
  /** true for a deleted account (display name "Deleted user"): show its messages, offer no way to reach it. */
  deleted?: boolean;
}

export interface Member {
  user_id: string;
  role: MemberRole;
  joined_at?: number;
  /** Details only: the member's read marker; null when that member hides read receipts. */
  read_seq?: number | null;
  /** Details only: the member's delivered marker. */
  delivered_seq?: number;
}

/** A conversation with its members, as returned by create and details. */
export interface Conversation {
  conv_id: string;
  type: ConversationType;
  title: string | null;
  members: Member[];
  created_at: number;
  last_seq?: number;
}

/** The conversation event a membership change was logged as. */
export interface MembershipChange {
  seq?: number;
}

/** The caller's own profile. */
export interface Me extends User {
  settings: UserSettings;
}

export interface ConversationPage {
  conversations: InboxRow[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

/** A history row: a message with its current state (reactions, edits, deletion, preview folded in). */
export interface Message extends ConvEvent {
  /** The latest edit; `''` when deleted. */
  body: string;
  /** user_id -> emoji */
  reactions: Record<string, string>;
  edited_at: number | null;
  deleted: boolean;
  reply_to: number | null;
  /** Seq of the thread's first message when this is a reply, else null. */
  thread_root: number | null;
  /** Live replies in the thread this message starts or belongs to. */
  reply_count: number;
  link_preview: LinkPreview | null;
  /** In the order sent, with later `attachment_ready` renditions folded in; `[]` when none or deleted. */
  attachments: Attachment[];
}

/** A thread: its first message and one page of replies, ascending. */
export interface ThreadPage {
  root: Message;
  replies: Message[];
  /** True when more replies follow: ask again with `after` = the last reply's seq. */
  more: boolean;
}

/** A conversation's mute for the caller, as the server now holds it. */
export interface MuteState {
  conv_id: string;
  /** ms timestamp, MUTED_FOREVER (-1), or null when not muted. */
  muted_until: number | null;
  /** Whether the mute is in force now. */
  muted: boolean;
}

export interface MarkUnreadResult {
  conv_id: string;
  marked_unread: boolean;
}

export interface EventPage {
  events: ConvEvent[];
  more: boolean;
}

/** Options of the frames answered by ACK (`send`, `react`, `edit`, `deleteMessage`). */
export interface ClientMsgOptions {
  /** Idempotency key; generated when omitted. Reuse it to retry the same operation. */
  client_msg_id?: string;
}

/** What a SEND (WebSocket) or POST messages (REST) carries besides the conversation. */
export interface SendOptions extends ClientMsgOptions {
  /** Seq of the message this one answers (a message of the same conversation). */
  reply_to?: number;
  /** Ids of completed uploads (`uploadAttachment(...).id`) this user has not sent before. */
  attachments?: string[];
  /** User ids mentioned; each must be a member. */
  mentions?: string[];
}

/** The server's acknowledgement of a durable send, reaction, edit or delete (same fields as the ACK frame). */
export interface SendResult {
  client_msg_id: string;
  conv_id: string;
  seq: number;
  ts: number;
  /** True when the server had already stored this client_msg_id. */
  duplicate?: true;
}

export interface PresenceInfo {
  user_id: string;
  state: PresenceState;
  /** Null when the user hides it. */
  last_seen: number | null;
}

export interface UserSettings {
  show_presence: boolean;
  show_last_seen: boolean;
  send_read_receipts: boolean;
  /** Notifications show sender and text; when false they say only "New message". */
  push_previews: boolean;
  /** Others find this user by name (`searchUsers`); when false only the exact username finds them. */
  discoverable: boolean;
}

/** A page of people search results. */
export interface UserSearchPage {
  users: User[];
  /** Pass back as `cursor` for the next page; null when there is none. */
  next_cursor: string | null;
}

export type { AttachmentUrl, Rendition, UploadRequest, UploadSlot } from '../protocol/frames';

type Query = Record<string, string | number | undefined>;

/**
 * One method per REST endpoint. Every failure rejects with an ApiError carrying the
 * server's `{error: {code, message}}` code and the HTTP status.
 */
export class RestClient {
  private readonly apiUrl: string;
  private readonly fetchImpl: FetchLike;
  private token: string | undefined;

  constructor(opts: RestClientOptions) {
    this.apiUrl = opts.baseUrl.replace(/\/+$/, '') + '/api/v1';
    this.token = opts.token;
    this.fetchImpl = opts.fetch ?? globalFetch();
  }

  /** Replaces the bearer token used by later calls. */
  setToken(token: string | undefined): void {
    this.token = token;
  }

  register(body: Credentials & { display_name?: string }): Promise<AuthResult> {
    return this.request('POST', '/auth/register', undefined, body);
  }

  /** Signs in; 429 `rate_limited` (ApiError.retryAfterMs) after repeated wrong passwords for the account. */
  login(body: Credentials): Promise<AuthResult> {
    return this.request('POST', '/auth/login', undefined, body);
  }

  /**
   * Signs out the device this token names (or `deviceId`): its tokens stop counting, its
   * sessions end (4001) and its push registration goes. Other devices stay signed in.
   */
  async logout(deviceId?: string): Promise<void> {
    await this.request('POST', '/auth/logout', undefined, deviceId === undefined ? {} : { device_id: deviceId });
  }

  /** Signs out everywhere: every token issued so far, every session and every push registration of the user. */
  async logoutEverywhere(): Promise<void> {
    await this.request('POST', '/auth/logout-all');
  }

  /** Removes another of the caller's devices: as `logout(deviceId)`. */
  async removeDevice(deviceId: string): Promise<void> {
    await this.request('DELETE', `/me/devices/${enc(deviceId)}`);
  }

  /**
   * Deletes the caller's account (the password is asked again: 403 `forbidden` when wrong).
   * Messages already sent stay, shown as sent by "Deleted user"; every session ends.
   */
  async deleteAccount(password: string): Promise<void> {
    await this.request('DELETE', '/me', undefined, { password });
  }

  /** Users whose username matches. */
  async findUsers(username: string): Promise<User[]> {
    const res = await this.request<{ users: User[] }>('GET', '/users', { username });
    return res.users;
  }

  /**
   * People whose username, display name or a word of it starts with `q` (2 to 64
   * characters), found as one types; never the caller, deleted accounts or users who are
   * not discoverable. Rate limited per user (429 `rate_limited`).
   */
  searchUsers(q: string, opts: { cursor?: string; limit?: number } = {}): Promise<UserSearchPage> {
    return this.request('GET', '/users/search', { q, cursor: opts.cursor, limit: opts.limit });
  }

  /** Changes the caller's display name (1 to 64 characters, not blank); answers the profile. */
  updateProfile(body: { display_name: string }): Promise<User> {
    return this.request('PATCH', '/me', undefined, body);
  }

  /** Profiles of these users (up to 200 ids); unknown ids are left out. */
  async getUsers(userIds: string[]): Promise<User[]> {
    if (userIds.length === 0) return [];
    const res = await this.request<{ users: User[] }>('GET', '/users', { user_ids: userIds.join(',') });
    return res.users;
  }

  /** Creates a conversation; a direct one between the same two users is returned again. */
  createConversation(body: {
    type: ConversationType;
    member_ids: string[];
    title?: string;
  }): Promise<Conversation> {
    return this.request('POST', '/conversations', undefined, body);
  }

  /** One page of the inbox, newest activity first. */
  listConversations(opts: { cursor?: string; limit?: number } = {}): Promise<ConversationPage> {
    return this.request('GET', '/conversations', { cursor: opts.cursor, limit: opts.limit });
  }

  getConversation(convId: string): Promise<Conversation> {
    return this.request('GET', `/conversations/${enc(convId)}`);
  }

  /** Adds members (admin only); returns the conversation now, with the event's seq. */
  addMembers(convId: string, userIds: string[]): Promise<Conversation & MembershipChange> {
    return this.request('POST', `/conversations/${enc(convId)}/members`, undefined, { user_ids: userIds });
  }

  /** Removes a member (admin), or leaves when `userId` is the caller. */
  async removeMember(convId: string, userId: string): Promise<MembershipChange> {
    const res = await this.request<MembershipChange | undefined>(
      'DELETE',
      `/conversations/${enc(convId)}/members/${enc(userId)}`,
    );
    return res ?? {};
  }

  /** The messages just before `before` (newest when omitted), in ascending seq. */
  async getMessages(convId: string, opts: { before?: number; limit?: number } = {}): Promise<Message[]> {
    const res = await this.request<{ messages: Message[] }>('GET', `/conversations/${enc(convId)}/messages`, {
      before: opts.before,
      limit: opts.limit,
    });
    return res.messages;
  }

  /** Events with seq above `after`, ascending; `more` says another page follows. */
  getEvents(convId: string, opts: { after: number; limit?: number }): Promise<EventPage> {
    return this.request('GET', `/conversations/${enc(convId)}/events`, { after: opts.after, limit: opts.limit });
  }

  /**
   * Sends a message over REST with the same idempotency as SEND: retrying with the same
   * `client_msg_id` never creates a second message.
   */
  sendMessage(convId: string, body: string, opts: SendOptions & { client_msg_id: string }): Promise<SendResult> {
    const { client_msg_id, ...rest } = opts;
    return this.request('POST', `/conversations/${enc(convId)}/messages`, undefined, {
      client_msg_id,
      body,
      ...rest,
    });
  }

  /**
   * Sets (`emoji`), changes or removes (`null`) the caller's reaction to message `seq`.
   * Idempotent by `clientMsgId`, like `sendMessage`.
   */
  react(convId: string, seq: number, clientMsgId: string, emoji: string | null): Promise<SendResult> {
    return this.request('POST', `${messagePath(convId, seq)}/reactions`, undefined, { client_msg_id: clientMsgId, emoji });
  }

  /** Replaces the body of the caller's message `seq`. Idempotent by `clientMsgId`. */
  edit(convId: string, seq: number, clientMsgId: string, body: string): Promise<SendResult> {
    return this.request('PATCH', messagePath(convId, seq), undefined, { client_msg_id: clientMsgId, body });
  }

  /** Unsends message `seq` (own message, or any as group admin). Idempotent by `clientMsgId`. */
  deleteMessage(convId: string, seq: number, clientMsgId: string): Promise<SendResult> {
    return this.request('DELETE', messagePath(convId, seq), undefined, { client_msg_id: clientMsgId });
  }

  /** The thread `seq` belongs to (any of its messages): its first message and the replies above `after`. */
  thread(convId: string, seq: number, opts: { after?: number; limit?: number } = {}): Promise<ThreadPage> {
    return this.request('GET', `/conversations/${enc(convId)}/threads/${seq}`, { after: opts.after, limit: opts.limit });
  }

  /** Mutes until `until` (ms), forever (MUTED_FOREVER), or unmutes (null); returns the mute now held. */
  mute(convId: string, until: number | null): Promise<MuteState> {
    return this.request('PUT', `/conversations/${enc(convId)}/mute`, undefined, { until });
  }

  /** Marks the conversation unread for the caller, on every device, until their next read. */
  markUnread(convId: string): Promise<MarkUnreadResult> {
    return this.request('POST', `/conversations/${enc(convId)}/unread`);
  }

  /** Presence of each user (last_seen null when hidden). */
  async getPresence(userIds: string[]): Promise<PresenceInfo[]> {
    const res = await this.request<{ presence: PresenceInfo[] }>('GET', '/presence', {
      user_ids: userIds.join(','),
    });
    return res.presence;
  }

  /** Asks for an upload slot. `ChatClient.uploadAttachment` (or `Attachments`) runs the whole upload. */
  createUpload(body: UploadRequest): Promise<UploadSlot> {
    return this.request('POST', '/attachments', undefined, body);
  }

  /** Has the server check what was PUT; answers the attachment (images with placeholder and thumbnail). */
  completeUpload(attachmentId: string): Promise<Attachment> {
    return this.request('POST', `/attachments/${enc(attachmentId)}/complete`);
  }

  /** An attachment the caller uploaded or can see in a conversation. */
  getAttachment(attachmentId: string): Promise<Attachment> {
    return this.request('GET', `/attachments/${enc(attachmentId)}`);
  }

  /** A fresh signed URL of one rendition, uncached (`ChatClient.attachmentUrl` caches). 503 `unavailable` while a display size is being made. */
  getAttachmentUrl(attachmentId: string, rendition: Rendition = 'original'): Promise<AttachmentUrl> {
    return this.request('GET', `/attachments/${enc(attachmentId)}/url`, { rendition });
  }

  /** The caller's profile and settings. */
  me(): Promise<Me> {
    return this.request('GET', '/me');
  }

  /** Changes the caller's privacy settings; returns the settings now in force. */
  async updateSettings(patch: Partial<UserSettings>): Promise<UserSettings> {
    const res = await this.request<{ settings?: UserSettings } & Partial<UserSettings>>('PATCH', '/me/settings', undefined, patch);
    // The server answers `{settings}`; a bare settings object is accepted too.
    return res.settings ?? (res as UserSettings);
  }

  /** The VAPID public key (base64url) browsers subscribe with: `applicationServerKey`. 503 `unavailable` when Web Push is off. */
  async vapidKey(): Promise<string> {
    return (await this.request<{ public_key: string }>('GET', '/push/vapid-key')).public_key;
  }

  /** Registers or replaces the push target of the caller's device `deviceId`. 400 `bad_request` for a bad subscription or token. */
  registerPush(registration: PushRegistration, deviceId: string): Promise<PushRegistered> {
    return this.request('PUT', `/push/devices/${enc(deviceId)}`, undefined, registration);
  }

  /** Stops pushes to the caller's device `deviceId`; 404 `not_found` when it had no registration. */
  async unregisterPush(deviceId: string): Promise<void> {
    await this.request('DELETE', `/push/devices/${enc(deviceId)}`);
  }

  /** The caller's devices with a push registration. */
  async listPushDevices(): Promise<PushDevice[]> {
    return (await this.request<{ devices: PushDevice[] }>('GET', '/push/devices')).devices;
  }

  private async request<T>(method: string, path: string, query?: Query, body?: object): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const init: { method: string; headers: Record<string, string>; body?: string } = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res: ResponseLike;
    let text: string;
    try {
      res = await this.fetchImpl(this.apiUrl + path + queryString(query), init);
      text = await res.text();
    } catch (err) {
      throw new ApiError(0, 'unavailable', `network error: ${err instanceof Error ? err.message : String(err)}`);
    }
    const json = parseJson(text);
    if (!res.ok) throw toApiError(res.status, json, text);
    return json as T;
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function messagePath(convId: string, seq: number): string {
  return `/conversations/${enc(convId)}/messages/${seq}`;
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    // Commas stay literal so `user_ids=a,b` reads as the list the README shows.
    parts.push(`${key}=${encodeURIComponent(String(value)).replace(/%2C/g, ',')}`);
  }
  return parts.length ? '?' + parts.join('&') : '';
}

/**
 * ChatClient: one device's real-time session over the wire protocol (docs/protocol.md),
 * with the sync state, outbox, unread counts and reconnects an app needs.
 * This file is the app-facing surface; the connection lifecycle is in connection.ts,
 * incoming frames in dispatch.ts. The frames ride a WebSocket, the long-poll carrier or
 * MQTT (`transport`, see transport.ts); everything above the carrier is shared. All state
 * lives in the instance; nothing is global.
 */
import type { Attachment, ClientFrame, InboxRow, SendFrame, SyncState, TypingState } from '../protocol/frames';
import { defaultLimits, MUTED_FOREVER } from '../protocol/frames';
import { CloseCode } from '../protocol/errors';
import { Attachments, type UploadOptions } from './attachments';
import { Connection } from './connection';
import { FrameDispatcher } from './dispatch';
import { Emitter } from './emitter';
import { ChatError, ClientClosedError } from './errors';
import { PendingMarkers } from './markers';
import type { PushRegistered, PushRegistration } from './push';
import { newMsgId, Outbox, type OutboxFrame } from './outbox';
import { RestClient, type AttachmentUrl, type ClientMsgOptions, type Rendition, type SendOptions, type SendResult } from './rest';
import { SyncTracker } from './sync';
import { TypingExpiry } from './typing';
import type { ChatClientOptions, ChatEvents, ChatStatus, ChatTransport } from './types';
import type { UploadData } from './upload';

/** Largest `until` the server accepts: the last valid Date (ms). */
const maxMuteUntil = 8.64e15;

/**
 * A device's connection. Call `connect()` once; it reconnects by itself until `close()`
 * (or a 4001). Persist `state` (e.g. on every `event`) and pass it back next run.
 */
export class ChatClient extends Emitter<ChatEvents> {
  /** REST calls with the same base URL and token. */
  readonly rest: RestClient;
  /** This installation's device id (the `deviceId` option): sessions and push registrations are keyed on it. */
  readonly deviceId: string;
  private readonly conn: Connection;
  private readonly sync: SyncTracker;
  private readonly outbox: Outbox;
  private readonly typingExpiry: TypingExpiry;
  private readonly markers = new PendingMarkers();
  /** A flush of DELIVERED markers is queued for the end of this task. */
  private deliveredQueued = false;
  private readonly attachments: Attachments;

  constructor(opts: ChatClientOptions) {
    super();
    const emit = <K extends keyof ChatEvents>(name: K, ...args: ChatEvents[K]): void => this.emit(name, ...args);
    this.sync = new SyncTracker(opts.state, {
      event: (ev) => this.emit('event', ev),
      unread: (conv, count) => this.emit('unread', conv, count),
    });
    this.typingExpiry = new TypingExpiry(opts.typingTimeoutMs ?? 4000, (conv_id, user_id) =>
      this.emit('typing', { conv_id, user_id, state: 'stopped' }),
    );
    const limits = opts.limits ?? {};
    this.outbox = new Outbox(
      { maxBodyChars: limits.maxBodyChars ?? defaultLimits.maxBodyChars, maxFrameBytes: limits.maxFrameBytes ?? defaultLimits.maxFrameBytes },
      () => this.emit('outbox', this.outbox.frames()),
    );
    this.rest = new RestClient({ baseUrl: opts.baseUrl, token: opts.token, fetch: opts.fetch });
    this.deviceId = opts.deviceId;
    this.attachments = new Attachments(this.rest);
    const { sync, outbox, typingExpiry, markers, rest } = this;
    const frames = new FrameDispatcher({ opts, rest, sync, outbox, typingExpiry, markers, emit });
    // Throws without a WebSocket under 'websocket', before anything below has effects.
    this.conn = new Connection({ opts, sync, emit, frames });
    this.outbox.restore(opts.outbox ?? [], {
      ack: (result, frame) => this.emit('restoredAck', result, frame),
      error: (err, frame) => this.emit('restoredError', err, frame),
    });
  }

  /** The sync state to persist: `{convs: {conv_id: last_seq}, inbox_cursor}`. A fresh copy. */
  get state(): SyncState {
    return this.sync.snapshot();
  }

  get status(): ChatStatus {
    return this.conn.status;
  }

  /** The user of the current or last session, known after the first CONNACK. */
  get userId(): string | null {
    return this.conn.userId;
  }

  /** The carrier of the current connection, or of the last one while disconnected; null before the first attempt. */
  get transport(): ChatTransport | null {
    return this.conn.transport;
  }

  /** Sends, reactions, edits and deletes not yet acknowledged. */
  get pendingSends(): number {
    return this.outbox.size;
  }

  /**
   * The unacknowledged frames to persist (copies, oldest first), for the `outbox` option
   * of the next run. After `close()`, the frames it left unsent.
   */
  pendingFrames(): OutboxFrame[] {
    return this.outbox.frames();
  }

  unreadCount(convId: string): number {
    return this.sync.unreadCount(convId);
  }

  unreadCounts(): Record<string, number> {
    return this.sync.unreadCounts();
  }

  /** Seeds unread counts from rows the app persisted or fetched (`rest.listConversations`). */
  applyInbox(rows: InboxRow[]): void {
    for (const row of rows) this.sync.applyInboxRow(row);
  }

  /** Replaces the token for the next CONNECT and for REST calls. */
  setToken(token: string): void {
    this.conn.setToken(token);
    this.rest.setToken(token);
  }

  /** Opens the connection (also after `unauthorized`, once `setToken` gave a new token). No-op while connected. */
  connect(): void {
    this.conn.connect();
  }

  /** Stops for good: closes the socket, cancels reconnects, rejects pending sends (`pendingFrames()` keeps them) and pings. */
  close(): void {
    if (this.conn.status === 'closed') return;
    const hadSocket = this.conn.close();
    this.typingExpiry.clear();
    const err = new ClientClosedError();
    this.outbox.abandon(err);
    this.conn.pinger.failAll(err);
    if (hadSocket) this.emit('disconnected', CloseCode.normal, 'client closed');
  }

  /**
   * Sends a message. Resolves with the ACK once durable; rejects with a ChatError when
   * the server answers ERROR for it. Survives dropped connections: it is resent with
   * the same `client_msg_id` after every reconnect until answered.
   */
  send(convId: string, body: string, opts: SendOptions = {}): Promise<SendResult> {
    const frame: SendFrame = { type: 'SEND', client_msg_id: opts.client_msg_id ?? newMsgId(), conv_id: convId, body };
    if (opts.reply_to !== undefined) frame.reply_to = opts.reply_to;
    if (opts.attachments !== undefined) frame.attachments = opts.attachments;
    if (opts.mentions !== undefined) frame.mentions = opts.mentions;
    return this.enqueue(frame, body);
  }

  /**
   * Uploads a file (Blob or File in browsers, Uint8Array or Buffer in Node) and resolves
   * with the completed Attachment: pass its `id` in `send`'s `attachments`. Over REST, so it
   * works while disconnected; `onProgress(sent, total)` follows the PUT. Rejects with an
   * ApiError carrying the server's code (see `Attachments.upload`).
   */
  uploadAttachment(data: UploadData, opts: UploadOptions): Promise<Attachment> {
    return this.attachments.upload(data, opts);
  }

  /** A signed download URL of one rendition (`{url, expires_at, content_type}`), cached until shortly before it expires. */
  attachmentUrl(attachmentId: string, rendition: Rendition = 'original'): Promise<AttachmentUrl> {
    return this.attachments.url(attachmentId, rendition);
  }

  /**
   * Sets (`emoji`), changes or removes (`null`) this user's reaction to message
   * `targetSeq`. Acknowledged and retried exactly like `send`.
   */
  react(convId: string, targetSeq: number, emoji: string | null, opts: ClientMsgOptions = {}): Promise<SendResult> {
    const client_msg_id = opts.client_msg_id ?? newMsgId();
    return this.enqueue({ type: 'REACT', client_msg_id, conv_id: convId, target_seq: targetSeq, emoji });
  }

  /** Replaces the body of this user's message `targetSeq`. Acknowledged and retried exactly like `send`. */
  edit(convId: string, targetSeq: number, body: string, opts: ClientMsgOptions = {}): Promise<SendResult> {
    const client_msg_id = opts.client_msg_id ?? newMsgId();
    return this.enqueue({ type: 'EDIT', client_msg_id, conv_id: convId, target_seq: targetSeq, body }, body);
  }

  /** Unsends message `targetSeq` (own message, or any as group admin). Acknowledged and retried exactly like `send`. */
  deleteMessage(convId: string, targetSeq: number, opts: ClientMsgOptions = {}): Promise<SendResult> {
    const client_msg_id = opts.client_msg_id ?? newMsgId();
    return this.enqueue({ type: 'DELETE', client_msg_id, conv_id: convId, target_seq: targetSeq });
  }

  /**
   * Mutes `convId` until `until` (ms), forever (`MUTED_FOREVER`), or unmutes (`null`).
   * Resolves once MUTE is written; the server's confirmation is the `muteSync` event.
   * MUTE has no `client_msg_id`, so its ERROR cannot be told apart (it is emitted as
   * `error`) and it is not resent: a blind resend could undo a later change made on
   * another device. Rejects when not connected; `rest.mute` works without a session.
   */
  mute(convId: string, until: number | null): Promise<void> {
    if (until !== null && until !== MUTED_FOREVER && !(Number.isSafeInteger(until) && until >= 0 && until <= maxMuteUntil)) {
      return Promise.reject(new ChatError('bad_request', 'until must be a time in ms, MUTED_FOREVER or null', null));
    }
    const err = this.writeNow({ type: 'MUTE', conv_id: convId, until });
    return err ? Promise.reject(err) : Promise.resolve();
  }

  /**
   * Marks `convId` unread on all of this user's devices until the next READ. Resolves
   * once MARK_UNREAD is written; the confirmation is a `readSync` with `marked_unread:
   * true`. Same caveats as `mute`.
   */
  markUnread(convId: string): Promise<void> {
    const err = this.writeNow({ type: 'MARK_UNREAD', conv_id: convId });
    if (err) return Promise.reject(err);
    // A READ still awaiting its READ_SYNC went out before this frame; resending it after
    // a reconnect would clear the mark the user just asked for.
    this.markers.forgetRead(convId);
    return Promise.resolve();
  }

  /** Moves the read marker (forward only). Resent after reconnects until READ_SYNC confirms it. */
  markRead(convId: string, seq: number): void {
    this.sync.markRead(convId, seq);
    this.markers.read(convId, seq);
    if (this.conn.status === 'ready') this.conn.write({ type: 'READ', conv_id: convId, seq });
  }

  /**
   * Tells the server this device has `seq`; queued while disconnected. Written at the end of
   * the current task, so events handled together (a CONNACK's replay, a catch-up page, a
   * long-poll answer) send one DELIVERED per conversation rather than one per event: the
   * marker is forward-only, and the server budgets DELIVERED per user.
   */
  markDelivered(convId: string, seq: number): void {
    this.markers.delivered(convId, seq);
    if (this.conn.status !== 'ready' || this.deliveredQueued) return;
    this.deliveredQueued = true;
    queueMicrotask(() => {
      this.deliveredQueued = false;
      if (this.conn.status === 'ready') this.markers.flushDelivered(this.conn);
    });
  }

  /** Sends a typing indicator (refresh "started" about every 3 s). Dropped when not connected; returns whether it went out. */
  typing(convId: string, state: TypingState): boolean {
    return this.conn.status === 'ready' && this.conn.write({ type: 'TYPING', conv_id: convId, state });
  }

  /** Replaces the set of users whose presence is pushed; kept across reconnects. */
  subscribePresence(userIds: string[]): void {
    const user_ids = this.markers.subscribe(userIds);
    if (this.conn.status === 'ready') this.conn.write({ type: 'PRESENCE_SUB', user_ids });
  }

  /** Sends PING; resolves with the PONG's server time. Rejects when not connected or the connection drops. */
  ping(): Promise<number> {
    if (this.conn.status !== 'ready') return Promise.reject(new Error('not connected'));
    return this.conn.pinger.ping();
  }

  /**
   * Asks the server to push to this device (or `deviceId`) while it has no live session:
   * a browser's `PushSubscription.toJSON()` as `webpush`, or an app's `fcm_token`.
   * Registering again replaces the target. Over REST, so it works while disconnected.
   */
  registerPush(registration: PushRegistration, deviceId: string = this.deviceId): Promise<PushRegistered> {
    return this.rest.registerPush(registration, deviceId);
  }

  /** Stops pushes to this device (or `deviceId`); rejects with ApiError `not_found` when none was registered. */
  unregisterPush(deviceId: string = this.deviceId): Promise<void> {
    return this.rest.unregisterPush(deviceId);
  }

  /** The server's VAPID public key (base64url), the `applicationServerKey` of `pushManager.subscribe`. */
  vapidKey(): Promise<string> {
    return this.rest.vapidKey();
  }

  /** Puts a frame answered by ACK in the outbox (unless `Outbox.refusal` objects) and writes it when connected. */
  private enqueue(frame: OutboxFrame, body?: string): Promise<SendResult> {
    if (this.conn.status === 'closed') return Promise.reject(new ClientClosedError());
    const refused = this.outbox.refusal(frame, body);
    if (refused) return Promise.reject(refused);
    const result = this.outbox.add(frame);
    if (this.conn.status === 'ready') this.conn.write(frame);
    return result;
  }

  /** Writes a frame nobody acknowledges at once; returns why it could not, or null once written. */
  private writeNow(frame: ClientFrame): Error | null {
    if (this.conn.status === 'closed') return new ClientClosedError();
    if (this.conn.status !== 'ready' || !this.conn.write(frame)) return new Error('not connected');
    return null;
  }
}

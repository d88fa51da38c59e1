/**
 * ChatClient: one device's real-time session over the wire protocol (DESIGN.md
 * section 4), with the sync state, outbox, unread counts and reconnects an app needs.
 * The frames ride a WebSocket or the long-poll carrier (`transport`, see transport.ts);
 * everything above the carrier is shared. All state lives in the instance; nothing is global.
 */
import type { ClientFrame, ConnackFrame, InboxRow, SendFrame, ServerFrame, SyncState, TypingState } from '../protocol/frames';
import { defaultLimits, MUTED_FOREVER } from '../protocol/frames';
import { CloseCode } from '../protocol/errors';
import { backoffDelay } from './backoff';
import { catchUp } from './catchup';
import { Emitter } from './emitter';
import { ApiError, ChatError, ClientClosedError } from './errors';
import { LongPollSocket } from './longpoll';
import { OpenTimeoutSocket } from './open-timeout';
import { newMsgId, Outbox, type OutboxFrame } from './outbox';
import { Pinger } from './pinger';
import { RestClient, type ClientMsgOptions, type SendOptions, type SendResult } from './rest';
import { defaultWebSocket, OPEN, wsUrlFor, type WebSocketConstructor, type WebSocketLike } from './socket';
import { SyncTracker } from './sync';
import { TransportPolicy } from './transport';
import { TypingExpiry } from './typing';
import type { ChatClientOptions, ChatEvents, ChatStatus, ChatTransport } from './types';

/** Client-chosen close code for connections the SDK drops itself (ping timeout, failed catch-up). */
const dropCode = 4000;

/** `wsOpenTimeoutMs` when not given. */
const defaultWsOpenTimeoutMs = 5000;

/** Largest `until` the server accepts: the last valid Date (ms). */
const maxMuteUntil = 8.64e15;

/**
 * A device's connection. Call `connect()` once; it reconnects by itself until `close()`
 * (or a 4001). Persist `state` (e.g. on every `event`) and pass it back next run.
 */
export class ChatClient extends Emitter<ChatEvents> {
  /** REST calls with the same base URL and token. */
  readonly rest: RestClient;
  private readonly opts: ChatClientOptions;
  /** Resolved at the first WebSocket attempt, so 'longpoll' (and 'auto' without one) needs no WebSocket. */
  private WS: WebSocketConstructor | undefined;
  private readonly policy: TransportPolicy;
  private readonly wsUrl: string;
  private readonly sync: SyncTracker;
  private readonly outbox: Outbox;
  private readonly typingExpiry: TypingExpiry;
  private token: string;
  private ws: WebSocketLike | null = null;
  private currentStatus: ChatStatus = 'idle';
  /** Bumped per connection, so async work of a dead connection recognises itself. */
  private generation = 0;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly pinger = new Pinger(
    () => this.write({ type: 'PING' }),
    () => this.drop('ping timeout'),
  );
  /** READ markers not yet confirmed by READ_SYNC; resent after a reconnect. */
  private readonly pendingReads = new Map<string, number>();
  /** DELIVERED markers not yet written. */
  private readonly pendingDelivered = new Map<string, number>();
  private presenceSub: string[] = [];
  private sessionUser: string | null = null;
  private currentTransport: ChatTransport | null = null;

  constructor(opts: ChatClientOptions) {
    super();
    this.opts = opts;
    this.token = opts.token;
    this.policy = new TransportPolicy(opts.transport ?? 'auto');
    // Only 'websocket' cannot do without one, so only it fails here, as it always did.
    this.WS = opts.WebSocketImpl ?? (this.policy.mode === 'websocket' ? defaultWebSocket() : undefined);
    this.wsUrl = opts.wsUrl ?? wsUrlFor(opts.baseUrl);
    this.rest = new RestClient({ baseUrl: opts.baseUrl, token: opts.token, fetch: opts.fetch });
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
    return this.currentStatus;
  }

  /** The user of the current or last session, known after the first CONNACK. */
  get userId(): string | null {
    return this.sessionUser;
  }

  /** The carrier of the current connection, or of the last one while disconnected; null before the first attempt. */
  get transport(): ChatTransport | null {
    return this.currentTransport;
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
    this.token = token;
    this.rest.setToken(token);
  }

  /** Opens the connection (also after `unauthorized`, once `setToken` gave a new token). No-op while connected. */
  connect(): void {
    if (this.currentStatus === 'closed') throw new ClientClosedError();
    if (this.currentStatus === 'connecting' || this.currentStatus === 'handshake' || this.currentStatus === 'ready') return;
    this.clearReconnect();
    this.open();
  }

  /** Stops for good: closes the socket, cancels reconnects, rejects pending sends (`pendingFrames()` keeps them) and pings. */
  close(): void {
    if (this.currentStatus === 'closed') return;
    const hadSocket = this.ws !== null;
    this.currentStatus = 'closed';
    this.generation++;
    this.detach(CloseCode.normal, 'client closed');
    this.clearReconnect();
    this.typingExpiry.clear();
    const err = new ClientClosedError();
    this.outbox.abandon(err);
    this.pinger.failAll(err);
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
    this.pendingReads.delete(convId);
    return Promise.resolve();
  }

  /** Moves the read marker (forward only). Resent after reconnects until READ_SYNC confirms it. */
  markRead(convId: string, seq: number): void {
    this.sync.markRead(convId, seq);
    this.pendingReads.set(convId, Math.max(seq, this.pendingReads.get(convId) ?? seq));
    if (this.currentStatus === 'ready') this.write({ type: 'READ', conv_id: convId, seq });
  }

  /** Tells the server this device has `seq`; queued while disconnected. */
  markDelivered(convId: string, seq: number): void {
    this.pendingDelivered.set(convId, Math.max(seq, this.pendingDelivered.get(convId) ?? seq));
    if (this.currentStatus === 'ready') this.flushDelivered();
  }

  /** Sends a typing indicator (refresh "started" about every 3 s). Dropped when not connected; returns whether it went out. */
  typing(convId: string, state: TypingState): boolean {
    return this.currentStatus === 'ready' && this.write({ type: 'TYPING', conv_id: convId, state });
  }

  /** Replaces the set of users whose presence is pushed; kept across reconnects. */
  subscribePresence(userIds: string[]): void {
    this.presenceSub = [...userIds];
    if (this.currentStatus === 'ready') this.write({ type: 'PRESENCE_SUB', user_ids: this.presenceSub });
  }

  /** Sends PING; resolves with the PONG's server time. Rejects when not connected or the connection drops. */
  ping(): Promise<number> {
    if (this.currentStatus !== 'ready') return Promise.reject(new Error('not connected'));
    return this.pinger.ping();
  }

  /** Puts a frame answered by ACK in the outbox (unless `Outbox.refusal` objects) and writes it when connected. */
  private enqueue(frame: OutboxFrame, body?: string): Promise<SendResult> {
    if (this.currentStatus === 'closed') return Promise.reject(new ClientClosedError());
    const refused = this.outbox.refusal(frame, body);
    if (refused) return Promise.reject(refused);
    const result = this.outbox.add(frame);
    if (this.currentStatus === 'ready') this.write(frame);
    return result;
  }

  /** Writes a frame nobody acknowledges at once; returns why it could not, or null once written. */
  private writeNow(frame: ClientFrame): Error | null {
    if (this.currentStatus === 'closed') return new ClientClosedError();
    if (this.currentStatus !== 'ready' || !this.write(frame)) return new Error('not connected');
    return null;
  }

  // ---- connection lifecycle ----

  /** Starts a connection attempt over `via` (by default what the transport policy picks). */
  private open(via: ChatTransport = this.policy.choose()): void {
    const gen = ++this.generation;
    this.currentStatus = 'connecting';
    this.currentTransport = via;
    let ws: WebSocketLike;
    try {
      ws = this.carrier(via);
    } catch (err) {
      if (via === 'websocket' && this.policy.webSocketFailed()) {
        this.open('longpoll');
        return;
      }
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
      this.onClosed(1006, 'cannot open socket');
      return;
    }
    this.ws = ws;
    // Connect-time state is what the server answers in CONNACK, so remember which
    // conversations it covered: those are the ones to page when `more` is set.
    let sent: SyncState = {};
    let opened = false;
    /** Under 'auto', a WebSocket that fails before 'open' hands this attempt to long-poll at once. */
    const fellBack = (): boolean => {
      if (opened || via !== 'websocket' || !this.policy.webSocketFailed()) return false;
      this.detach(1000, 'falling back to long-poll');
      this.open('longpoll');
      return true;
    };
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      opened = true;
      this.currentStatus = 'handshake';
      sent = this.sync.snapshot();
      this.write({ type: 'CONNECT', token: this.token, device_id: this.opts.deviceId, sync: sent });
    });
    ws.addEventListener('message', (event) => {
      if (this.ws !== ws || typeof event.data !== 'string') return;
      this.onFrame(event.data, gen, sent);
    });
    ws.addEventListener('close', (event) => {
      if (this.ws !== ws || fellBack()) return;
      this.ws = null;
      this.onClosed(event.code, event.reason);
    });
    // Otherwise 'error' is always followed by 'close', which does the work.
    ws.addEventListener('error', () => {
      if (this.ws === ws) fellBack();
    });
  }

  /** Builds the carrier of one connection; throws when it cannot even start. */
  private carrier(via: ChatTransport): WebSocketLike {
    if (via === 'longpoll') return new LongPollSocket(this.opts.baseUrl, { fetch: this.opts.fetch });
    this.WS ??= defaultWebSocket();
    const ws = new this.WS(this.wsUrl);
    const timeoutMs = this.opts.wsOpenTimeoutMs ?? defaultWsOpenTimeoutMs;
    return timeoutMs > 0 ? new OpenTimeoutSocket(ws, timeoutMs) : ws;
  }

  /** Forgets the current socket (its late events are ignored) and closes it. */
  private detach(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    this.pinger.stop();
    if (!ws) return;
    try {
      ws.close(code, reason);
    } catch {
      // Already closing; nothing to do.
    }
  }

  /** Drops a live connection the SDK no longer trusts and reconnects. */
  private drop(reason: string): void {
    if (!this.ws) return;
    this.detach(dropCode, reason);
    this.onClosed(dropCode, reason);
  }

  private onClosed(code: number, reason: string): void {
    this.generation++; // async work of the dead connection now stands down
    this.pinger.stop();
    this.sync.dropHeld();
    this.pinger.failAll(new Error('connection closed'));
    if (this.currentStatus === 'closed') return;
    const unauthorized = code === CloseCode.unauthorized;
    const next: ChatStatus = unauthorized ? 'stopped' : 'waiting';
    this.currentStatus = next;
    this.emit('disconnected', code, reason);
    // A listener may have called close() or connect(); theirs is the last word.
    if (this.currentStatus !== next) return;
    if (unauthorized) {
      this.emit('unauthorized', reason);
      return;
    }
    // 1012 means "shard moving, come back now"; only the first try after a healthy
    // session is immediate, so a server restarting in a loop still gets backoff.
    const delay = code === CloseCode.restarting && this.attempt === 0 ? 0 : backoffDelay(this.attempt, this.opts.reconnect);
    this.attempt++;
    this.emit('reconnecting', this.attempt, delay);
    if (this.currentStatus !== 'waiting') return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, delay);
  }

  private clearReconnect(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private write(frame: ClientFrame): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  // ---- incoming frames ----

  private onFrame(text: string, gen: number, sent: SyncState): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      this.emit('error', new ChatError('bad_request', 'server sent a frame that is not a JSON object', null));
      return;
    }
    // The server is trusted to send well-formed frames; only the shape above is checked.
    const frame = parsed as ServerFrame;
    switch (frame.type) {
      case 'CONNACK':
        this.onConnack(frame, gen, sent);
        break;
      case 'ACK':
        this.outbox.ack(frame);
        break;
      case 'ERROR':
        this.onError(new ChatError(frame.code, frame.message, frame.ref ?? null));
        break;
      case 'DELIVER': {
        const { type: _type, ...event } = frame;
        this.sync.offer(event);
        break;
      }
      case 'READ_SYNC': {
        const { conv_id, last_read_seq, unread, unread_mentions, marked_unread } = frame;
        this.sync.applyReadSync(conv_id, last_read_seq, unread);
        const pending = this.pendingReads.get(conv_id);
        if (pending !== undefined && last_read_seq >= pending) this.pendingReads.delete(conv_id);
        this.emit('readSync', { conv_id, last_read_seq, unread, unread_mentions, marked_unread });
        break;
      }
      case 'MUTE_SYNC':
        this.emit('muteSync', { conv_id: frame.conv_id, muted_until: frame.muted_until });
        break;
      case 'RECEIPT':
        this.emit('receipt', { conv_id: frame.conv_id, user_id: frame.user_id, seq: frame.seq, kind: frame.kind });
        break;
      case 'TYPING':
        this.typingExpiry.seen(frame.conv_id, frame.user_id, frame.state);
        this.emit('typing', { conv_id: frame.conv_id, user_id: frame.user_id, state: frame.state });
        break;
      case 'PRESENCE':
        this.emit('presence', { user_id: frame.user_id, state: frame.state, last_seen: frame.last_seen });
        break;
      case 'PONG':
        this.pinger.pong(frame.ts);
        break;
      default:
        // Frame types newer than this SDK are ignored, so servers can add them.
        break;
    }
  }

  private onError(err: ChatError): void {
    if (err.ref !== null && this.outbox.fail(err.ref, err)) return;
    this.emit('error', err);
  }

  private onConnack(f: ConnackFrame, gen: number, sent: SyncState): void {
    this.currentStatus = 'ready';
    this.attempt = 0;
    if (this.currentTransport) this.policy.connected(this.currentTransport);
    this.sessionUser = f.user_id;
    this.sync.userId = f.user_id;
    this.emit('connected', {
      session_id: f.session_id,
      user_id: f.user_id,
      device_id: f.device_id,
      server_ts: f.server_ts,
      heartbeat_ms: f.heartbeat_ms,
      more: f.more,
    });
    if (gen !== this.generation) return; // a listener closed or reconnected
    // Rows first: they set unread counts that already include the missed events.
    for (const row of f.inbox) {
      this.sync.applyInboxRow(row);
      this.emit('inbox', row);
    }
    for (const ev of f.missed) this.sync.apply(ev);
    this.sync.setInboxCursor(f.inbox_cursor);
    if (gen !== this.generation) return;
    this.flushAfterConnect();
    this.pinger.start(this.opts.pingIntervalMs ?? 0);
    if (f.more) void this.catchUp(gen, Object.keys(sent.convs ?? {}));
    else this.emit('synced');
  }

  /** Resends what must survive a reconnect: unacked outbox frames, read markers, presence subscription. */
  private flushAfterConnect(): void {
    for (const frame of this.outbox.frames()) this.write(frame);
    for (const [conv_id, seq] of this.pendingReads) this.write({ type: 'READ', conv_id, seq });
    this.flushDelivered();
    if (this.presenceSub.length) this.write({ type: 'PRESENCE_SUB', user_ids: this.presenceSub });
  }

  private flushDelivered(): void {
    for (const [conv_id, seq] of this.pendingDelivered) {
      if (this.write({ type: 'DELIVERED', conv_id, seq })) this.pendingDelivered.delete(conv_id);
    }
  }

  // ---- catch-up over REST when CONNACK was capped ----

  private async catchUp(gen: number, convIds: string[]): Promise<void> {
    try {
      await catchUp(
        { rest: this.rest, sync: this.sync, pageLimit: this.opts.syncPageLimit ?? 100 },
        convIds,
        () => gen === this.generation,
      );
    } catch (err) {
      if (gen !== this.generation) return;
      const error = err instanceof Error ? err : new Error(String(err));
      if (error instanceof ApiError && error.status === 401) {
        this.detach(CloseCode.unauthorized, 'unauthorized');
        this.onClosed(CloseCode.unauthorized, error.message);
        return;
      }
      // Nothing applied is lost; the next CONNECT resumes from the high-water seqs.
      this.emit('error', error);
      this.drop('catch-up failed');
      return;
    }
    if (gen === this.generation) this.emit('synced');
  }
}

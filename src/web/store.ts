/**
 * The web client's model: one signed-in user's conversations, messages, receipts,
 * typing and presence, kept up to date by the SDK's ChatClient. This file orchestrates:
 * it wires SDK events and REST calls to the parts that hold state (`inbox.ts` rows and
 * members, `messages.ts` message folding, `receipts.ts` ticks and "Seen by", `users.ts`
 * names) and saves them through `persist.ts`. No UI here: components read `AppStore` and
 * call its methods; `subscribe` tells them when to render again.
 */
import {
  ApiError,
  ChatClient,
  ChatError,
  MUTED_FOREVER,
  type ChatStatus,
  type ChatTransport,
  type ChatTransportOption,
  type ConvEvent,
  type InboxRow,
  type Message,
  type OutboxFrame,
  type RestClient,
  type SendResult,
  type User,
} from '../client';
import { newSortableId } from '../protocol/ids';
import { Inbox, isMuted } from './inbox';
import { localEcho, MessageStore, type Msg } from './messages';
import * as persist from './persist';
import { Receipts, type Tick } from './receipts';
import { saveSession, type Session } from './storage';
import { Typing } from './typing';
import { UserDirectory } from './users';

const pageSize = 30;
/** Local changes are written at most this often (and on pagehide). */
const saveDelayMs = 300;

export class AppStore {
  readonly me: Session;
  readonly client: ChatClient;
  readonly rest: RestClient;
  readonly transportPref: ChatTransportOption;
  private readonly inbox = new Inbox();
  private readonly msgs = new MessageStore();
  private readonly receipts = new Receipts();
  private readonly users: UserDirectory;
  private readonly typingState: Typing;
  private readonly presenceMap = new Map<string, 'online' | 'offline'>();
  private readonly listeners = new Set<() => void>();
  private readonly saver = new persist.SaveTimer(() => this.save(), saveDelayMs);
  private listTimer: ReturnType<typeof setTimeout> | undefined;
  private notifyQueued = false;
  private openConvId: string | null = null;
  private readonly readSent = new Map<string, number>();
  private presenceKey = '';
  private closed = false;
  /** Set when the server refused the token: the app signs out. */
  onSignedOut: ((reason: string) => void) | null = null;
  status: ChatStatus = 'idle';
  transport: ChatTransport | null = null;
  /** A short message for the status line (e.g. a refused action). */
  notice: string | null = null;

  constructor(me: Session, deviceId: string, transportPref: ChatTransportOption) {
    this.me = me;
    this.transportPref = transportPref;
    // `this.rest` does not exist yet: the loader looks it up when a batch goes out.
    this.users = new UserDirectory((ids) => this.rest.getUsers(ids), () => this.changed(), (err) => this.fail(err));
    this.users.set({ user_id: me.user_id, username: me.username, display_name: me.display_name });
    // Unsent frames of the last run come back as pending echoes (SEND) and go out again after the first CONNACK.
    const saved = persist.restore(me.user_id, this.parts());
    this.client = new ChatClient({
      baseUrl: location.origin,
      token: me.token,
      deviceId,
      state: saved?.sync,
      outbox: saved?.outbox ?? [],
      transport: transportPref,
      reconnect: { minDelayMs: 500, maxDelayMs: 15_000 },
    });
    this.rest = this.client.rest;
    this.typingState = new Typing((convId, state) => this.client.typing(convId, state));
    this.client.applyInbox(this.inbox.all());
    this.wire();
  }

  // ---- lifecycle ----

  start(): void {
    this.client.connect();
    void this.refreshList();
    this.users.request(this.inbox.all().map((r) => r.peer_id).filter((id): id is string => id !== null));
    window.addEventListener('pagehide', this.flushSave);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  /** Stops for good (sign-out, or switching transport). Saves first unless `forget`. */
  stop(forget = false): void {
    if (this.closed) return;
    this.closed = true;
    window.removeEventListener('pagehide', this.flushSave);
    document.removeEventListener('visibilitychange', this.onVisible);
    this.users.stop();
    if (this.listTimer !== undefined) clearTimeout(this.listTimer);
    this.saver.cancel();
    if (forget) persist.forget(this.me.user_id);
    else this.save();
    this.client.close();
    this.listeners.clear();
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Coalesces a burst of changes into one render. */
  private changed(persist = true): void {
    if (persist) this.scheduleSave();
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const fn of [...this.listeners]) fn();
    });
  }

  // ---- reading the model ----

  conversations(): InboxRow[] {
    return this.inbox.sorted();
  }

  row(convId: string): InboxRow | undefined {
    return this.inbox.get(convId);
  }

  user(userId: string): User | undefined {
    return this.users.get(userId);
  }

  nameOf(userId: string): string {
    if (userId === this.me.user_id) return 'You';
    const u = this.users.get(userId);
    if (!u) {
      this.users.request([userId]);
      return '…';
    }
    return u.display_name || u.username;
  }

  titleOf(row: InboxRow): string {
    if (row.type === 'direct') return row.peer_id ? this.nameOf(row.peer_id) : row.title ?? 'Direct chat';
    if (row.title) return row.title;
    const others = (this.inbox.members.get(row.conv_id) ?? []).filter((id) => id !== this.me.user_id);
    return others.length ? others.map((id) => this.nameOf(id)).join(', ') : 'Group';
  }

  presence(userId: string): 'online' | 'offline' | null {
    return this.presenceMap.get(userId) ?? null;
  }

  typing(convId: string): string[] {
    return this.typingState.who(convId);
  }

  isMuted(row: InboxRow): boolean {
    return isMuted(row);
  }

  /** Confirmed messages ascending, then local echoes in send order. */
  messages(convId: string): Msg[] {
    return this.msgs.list(convId);
  }

  message(convId: string, seq: number): Msg | undefined {
    return this.msgs.get(convId, seq);
  }

  hasOlder(convId: string): boolean {
    return this.msgs.peek(convId)?.hasOlder ?? true;
  }

  loadingOlder(convId: string): boolean {
    return this.msgs.peek(convId)?.loadingOlder ?? false;
  }

  /** The other members (known after the conversation was opened once). */
  others(convId: string): string[] {
    return this.inbox.others(convId, this.me.user_id);
  }

  tick(convId: string, m: Msg): Tick {
    return this.receipts.tick(convId, this.others(convId), m);
  }

  /** seq -> the other members whose read marker's last visible message is that one ("Seen by"). */
  seenBy(convId: string): Map<number, string[]> {
    return this.receipts.seenBy(convId, this.me.user_id, this.messages(convId).filter((m) => m.seq !== null));
  }

  // ---- actions ----

  /**
   * The conversation on screen: it is read while visible, and its members' presence is
   * watched. Its details are fetched on every open, not once: their read and delivered
   * markers catch this device up on RECEIPTs it missed while offline (or before it existed).
   */
  open(convId: string | null): void {
    if (this.openConvId === convId) return;
    this.openConvId = convId;
    if (convId === null) return;
    const c = this.msgs.conv(convId);
    if (!c.fresh) void this.loadLatest(convId);
    void this.loadMembers(convId);
    this.updatePresenceSub();
    this.markReadIfVisible(convId);
    this.changed(false);
  }

  get openConversation(): string | null {
    return this.openConvId;
  }

  async loadOlder(convId: string): Promise<void> {
    const c = this.msgs.conv(convId);
    if (c.loadingOlder || !c.hasOlder) return;
    const oldest = Math.min(...[...c.bySeq.keys()]);
    if (!Number.isFinite(oldest)) return this.loadLatest(convId);
    c.loadingOlder = true;
    this.changed(false);
    try {
      const page = await this.rest.getMessages(convId, { before: oldest, limit: pageSize });
      this.mergeHistory(convId, page);
      c.hasOlder = page.length === pageSize;
    } catch (err) {
      this.fail(err);
    } finally {
      c.loadingOlder = false;
      this.changed();
    }
  }

  send(convId: string, body: string, replyTo: number | null): void {
    const text = body.trim();
    if (!text) return;
    this.stopTyping(convId);
    const c = this.msgs.conv(convId);
    // Our own id, so the echo, its ACK and any DELIVER of it (other devices) share one key.
    const localId = newSortableId('m');
    const promise = this.client.send(convId, text, replyTo !== null ? { reply_to: replyTo, client_msg_id: localId } : { client_msg_id: localId });
    const echo = localEcho(localId, this.me.user_id, text, replyTo);
    c.pending.set(localId, echo);
    this.inbox.touch(convId, { preview: text, updated_at: echo.ts });
    this.changed();
    promise.then(
      (ack) => this.echoAcked(convId, echo, ack),
      (err: unknown) => this.echoFailed(echo, err),
    );
  }

  /** A local echo's ACK: it becomes the confirmed message (unless its DELIVER came first). */
  private echoAcked(convId: string, echo: Msg, ack: SendResult): void {
    this.msgs.confirm(convId, echo, ack.seq, ack.ts);
    this.inbox.touch(convId, { last_seq: ack.seq, updated_at: ack.ts });
    const row = this.inbox.get(convId);
    if (row) row.last_read_seq = Math.max(row.last_read_seq, ack.seq);
    this.changed();
  }

  private echoFailed(echo: Msg, err: unknown): void {
    echo.failed = err instanceof ChatError ? err.code : 'not sent';
    this.changed();
  }

  /** Drops a failed local echo. */
  discard(convId: string, m: Msg): void {
    if (m.client_msg_id) this.msgs.conv(convId).pending.delete(m.client_msg_id);
    this.changed();
  }

  react(convId: string, seq: number, emoji: string): void {
    const m = this.message(convId, seq);
    if (!m) return;
    const mine = m.reactions[this.me.user_id];
    const next = mine === emoji ? null : emoji;
    // This session gets the ACK, not a DELIVER of its own event: fold it in on the ACK.
    this.client.react(convId, seq, next).then(
      (ack) => this.foldOwn({ conv_id: convId, seq: ack.seq, ts: ack.ts, sender_id: this.me.user_id, kind: 'reaction', target_seq: seq, emoji: next }),
      (err) => this.fail(err),
    );
  }


  edit(convId: string, seq: number, body: string): void {
    const text = body.trim();
    if (!text) return;
    this.stopTyping(convId);
    this.client.edit(convId, seq, text).then(
      (ack) => this.foldOwn({ conv_id: convId, seq: ack.seq, ts: ack.ts, sender_id: this.me.user_id, kind: 'edit', target_seq: seq, body: text }),
      (err) => this.fail(err),
    );
  }

  unsend(convId: string, seq: number): void {
    this.client.deleteMessage(convId, seq).then(
      (ack) => this.foldOwn({ conv_id: convId, seq: ack.seq, ts: ack.ts, sender_id: this.me.user_id, kind: 'delete', target_seq: seq }),
      (err) => this.fail(err),
    );
  }

  /**
   * The outcome of a frame the last run left unsent (restored from the saved outbox): a
   * SEND confirms or fails its restored echo exactly like a send of this run; a REACT,
   * EDIT or DELETE is folded in on its ACK, as when sent now.
   */
  private restoredAck(ack: SendResult, frame: OutboxFrame): void {
    const base = { conv_id: frame.conv_id, seq: ack.seq, ts: ack.ts, sender_id: this.me.user_id };
    switch (frame.type) {
      case 'SEND': {
        // The echo may be gone already: its DELIVER (catch-up) or a history page replaced it.
        const echo = this.msgs.conv(frame.conv_id).pending.get(frame.client_msg_id) ?? localEcho(frame.client_msg_id, this.me.user_id, frame.body, frame.reply_to ?? null);
        this.echoAcked(frame.conv_id, echo, ack);
        return;
      }
      case 'REACT':
        return this.foldOwn({ ...base, kind: 'reaction', target_seq: frame.target_seq, emoji: frame.emoji });
      case 'EDIT':
        return this.foldOwn({ ...base, kind: 'edit', target_seq: frame.target_seq, body: frame.body });
      case 'DELETE':
        return this.foldOwn({ ...base, kind: 'delete', target_seq: frame.target_seq });
    }
  }

  private restoredError(err: ChatError, frame: OutboxFrame): void {
    const echo = frame.type === 'SEND' ? this.msgs.peek(frame.conv_id)?.pending.get(frame.client_msg_id) : undefined;
    if (echo) this.echoFailed(echo, err);
    else this.fail(err);
  }

  /**
   * Applies this session's own acknowledged reaction, edit or delete to the model (the
   * SDK's sync state is not touched: the event may come back later, and folding is
   * idempotent).
   */
  private foldOwn(ev: ConvEvent): void {
    this.fold(ev);
    this.changed();
  }

  /** Called on every keystroke in the composer: "started", refreshed every 3 s while typing. */
  typed(convId: string, text: string): void {
    this.typingState.typed(convId, text);
  }

  stopTyping(convId: string): void {
    this.typingState.stop(convId);
  }

  async markUnread(convId: string): Promise<void> {
    this.readSent.delete(convId);
    try {
      await this.client.markUnread(convId);
    } catch {
      await this.rest.markUnread(convId).then((r) => this.applyRead(convId, { marked_unread: r.marked_unread }), (err) => this.fail(err));
    }
  }

  async setMuted(convId: string, muted: boolean): Promise<void> {
    const until = muted ? MUTED_FOREVER : null;
    try {
      await this.client.mute(convId, until);
    } catch {
      await this.rest.mute(convId, until).then((m) => this.applyMute(convId, m.muted_until), (err) => this.fail(err));
    }
  }

  /** Opens (or finds) the direct chat with `username`; returns its id. */
  async startDirect(username: string): Promise<string> {
    const user = await this.findUser(username);
    if (user.user_id === this.me.user_id) throw new Error('That is you: pick someone else.');
    const conv = await this.rest.createConversation({ type: 'direct', member_ids: [user.user_id] });
    this.inbox.members.set(conv.conv_id, conv.members.map((m) => m.user_id));
    this.addRow(conv.conv_id, 'direct', null, user.user_id, conv.created_at);
    return conv.conv_id;
  }

  async createGroup(title: string, usernames: string[]): Promise<string> {
    const users = await Promise.all(usernames.map((u) => this.findUser(u)));
    const ids = [...new Set(users.map((u) => u.user_id).filter((id) => id !== this.me.user_id))];
    if (!ids.length) throw new Error('Add at least one other member.');
    const conv = await this.rest.createConversation({ type: 'group', member_ids: ids, ...(title.trim() ? { title: title.trim() } : {}) });
    this.inbox.members.set(conv.conv_id, conv.members.map((m) => m.user_id));
    this.addRow(conv.conv_id, 'group', conv.title, null, conv.created_at);
    return conv.conv_id;
  }

  // ---- SDK events ----

  private wire(): void {
    const c = this.client;
    c.on('connected', () => {
      this.status = c.status;
      this.transport = c.transport;
      this.notice = null;
      this.changed(false);
    });
    c.on('synced', () => {
      if (this.openConvId) {
        this.markReadIfVisible(this.openConvId);
        // RECEIPTs are live only: after a disconnect, the details' markers catch the open chat up.
        void this.loadMembers(this.openConvId);
      }
      this.changed();
    });
    c.on('disconnected', () => {
      this.status = c.status;
      this.typingState.clear();
      this.changed(false);
    });
    c.on('reconnecting', () => {
      this.status = c.status;
      this.changed(false);
    });
    c.on('unauthorized', (reason) => {
      saveSession(null);
      this.onSignedOut?.(reason || 'Your session expired: sign in again.');
    });
    // The unsent frames are written at once, not on the save timer: a reload right after a send keeps it.
    c.on('outbox', () => {
      if (!this.closed) this.saver.flush();
    });
    c.on('restoredAck', (ack, frame) => this.restoredAck(ack, frame));
    c.on('restoredError', (err, frame) => this.restoredError(err, frame));
    c.on('inbox', (row) => this.mergeRow(row));
    c.on('event', (ev) => this.onEvent(ev));
    c.on('unread', (convId, count) => {
      const row = this.inbox.get(convId);
      if (row && row.unread !== count) {
        row.unread = count;
        this.changed();
      }
    });
    c.on('readSync', (s) => this.applyRead(s.conv_id, s));
    c.on('muteSync', (m) => this.applyMute(m.conv_id, m.muted_until));
    c.on('receipt', (r) => {
      if (r.user_id === this.me.user_id) return;
      this.receipts.applyReceipt(r);
      this.changed();
    });
    c.on('typing', (t) => {
      if (t.user_id === this.me.user_id) return;
      this.typingState.seen(t.conv_id, t.user_id, t.state);
      this.users.request([t.user_id]);
      this.changed(false);
    });
    c.on('presence', (p) => {
      this.presenceMap.set(p.user_id, p.state);
      this.changed(false);
    });
    c.on('error', (err) => {
      // Background failures (catch-up, a refused frame) are retried by the SDK; say so discreetly.
      this.notice = err.message;
      this.changed(false);
    });
  }

  private onEvent(ev: ConvEvent): void {
    if (!this.inbox.has(ev.conv_id)) this.scheduleListRefresh();
    this.fold(ev);
    this.changed();
  }

  /** Folds one event into messages and its row, then does what it asks of this device. Idempotent. */
  private fold(ev: ConvEvent): void {
    this.msgs.fold(ev, this.me.user_id);
    this.inbox.applyEvent(ev, (ev.kind === 'edit' || ev.kind === 'delete') && this.msgs.isNewest(ev.conv_id, ev.target_seq));
    switch (ev.kind) {
      case 'message':
        this.users.request([ev.sender_id]);
        if (ev.sender_id !== this.me.user_id) this.client.markDelivered(ev.conv_id, ev.seq);
        if (ev.conv_id === this.openConvId) this.markReadIfVisible(ev.conv_id);
        break;
      case 'member_added':
      case 'member_removed':
        this.users.request(ev.user_ids ?? []);
        this.updatePresenceSub();
        break;
      default:
        break;
    }
  }

  private applyRead(convId: string, s: { last_read_seq?: number; unread?: number; marked_unread?: boolean }): void {
    const row = this.inbox.applyRead(convId, s);
    if (!row) return;
    if (!row.marked_unread && s.last_read_seq !== undefined) this.readSent.set(convId, Math.max(this.readSent.get(convId) ?? 0, s.last_read_seq));
    this.changed();
  }

  private applyMute(convId: string, until: number | null): void {
    if (this.inbox.applyMute(convId, until)) this.changed();
  }

  private readonly onVisible = (): void => {
    if (this.openConvId) this.markReadIfVisible(this.openConvId);
  };

  /** Reads the open conversation up to its newest message while the page is visible. */
  private markReadIfVisible(convId: string): void {
    if (document.visibilityState !== 'visible' || convId !== this.openConvId) return;
    const row = this.inbox.get(convId);
    const c = this.msgs.peek(convId);
    const newest = Math.max(row?.last_seq ?? 0, ...(c ? [...c.bySeq.keys()] : []));
    if (newest <= 0) return;
    const unreadHere = (row?.unread ?? 0) > 0 || row?.marked_unread === true || (row?.last_read_seq ?? 0) < newest;
    if (!unreadHere || (this.readSent.get(convId) ?? 0) >= newest) return;
    this.readSent.set(convId, newest);
    this.client.markRead(convId, newest);
  }

  // ---- inbox rows ----

  private mergeRow(row: InboxRow): void {
    if (!this.inbox.merge(row)) return;
    if (row.peer_id) this.users.request([row.peer_id]);
    this.updatePresenceSub();
    this.changed();
  }

  private addRow(convId: string, type: InboxRow['type'], title: string | null, peerId: string | null, ts: number): void {
    if (!this.inbox.add(convId, type, title, peerId, ts)) return;
    this.updatePresenceSub();
    this.changed();
    this.scheduleListRefresh();
  }

  private async refreshList(): Promise<void> {
    try {
      const rows: InboxRow[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const res = await this.rest.listConversations({ cursor, limit: 100 });
        rows.push(...res.conversations);
        if (!res.next_cursor) break;
        cursor = res.next_cursor;
      }
      const fresh = rows.filter((r) => this.inbox.isFresh(r));
      this.client.applyInbox(fresh);
      for (const r of fresh) this.mergeRow(r);
      if (this.openConvId) this.markReadIfVisible(this.openConvId);
    } catch (err) {
      this.fail(err);
    }
  }

  private scheduleListRefresh(): void {
    if (this.listTimer !== undefined) return;
    this.listTimer = setTimeout(() => {
      this.listTimer = undefined;
      void this.refreshList();
    }, 250);
  }

  /** Watches the presence of direct-chat peers and of the open conversation's members (up to 256). */
  private updatePresenceSub(): void {
    const ids = new Set<string>();
    for (const row of this.inbox.all()) if (row.type === 'direct' && row.peer_id) ids.add(row.peer_id);
    if (this.openConvId) for (const id of this.others(this.openConvId)) ids.add(id);
    const list = [...ids].sort().slice(0, 256);
    if (list.join(',') === this.presenceKey) return;
    this.presenceKey = list.join(',');
    this.client.subscribePresence(list);
  }

  // ---- history and details ----

  private async loadLatest(convId: string): Promise<void> {
    const c = this.msgs.conv(convId);
    try {
      const page = await this.rest.getMessages(convId, { limit: pageSize });
      const had = c.bySeq.size;
      this.mergeHistory(convId, page);
      c.fresh = true;
      // Cached messages older than the page stay; more history exists unless the page was short.
      if (page.length < pageSize) c.hasOlder = false;
      else if (had === 0) c.hasOlder = true;
      if (convId === this.openConvId) this.markReadIfVisible(convId);
    } catch (err) {
      this.fail(err);
    }
    this.changed();
  }

  private mergeHistory(convId: string, page: Message[]): void {
    this.msgs.mergeHistory(convId, page, this.me.user_id);
    this.users.request(page.map((m) => m.sender_id));
  }

  /** Members, and their read and delivered markers (forward-only over what RECEIPTs gave). */
  private async loadMembers(convId: string): Promise<void> {
    try {
      const conv = await this.rest.getConversation(convId);
      this.inbox.members.set(convId, conv.members.map((m) => m.user_id));
      this.receipts.mergeMembers(convId, conv.members, this.me.user_id);
      this.users.request(conv.members.map((m) => m.user_id));
      this.updatePresenceSub();
      this.changed();
    } catch (err) {
      this.fail(err);
    }
  }

  // ---- users ----

  private async findUser(username: string): Promise<User> {
    const name = username.trim().replace(/^@/, '');
    if (!name) throw new Error('Enter a username.');
    const found = await this.rest.findUsers(name);
    const user = found[0];
    if (!user) throw new Error(`No user named "${name}".`);
    this.users.set(user);
    return user;
  }

  // ---- persistence ----

  private scheduleSave(): void {
    if (!this.closed) this.saver.schedule();
  }

  private readonly flushSave = (): void => this.saver.flush();

  /** The state `persist` reads and restores. */
  private parts(): persist.Persistable {
    return { inbox: this.inbox, users: this.users, receipts: this.receipts, msgs: this.msgs };
  }

  /**
   * Writes the model and the SDK's sync state together (history and unread state match the
   * seqs the next CONNECT resumes from), with the SDK's unsent frames.
   */
  private save(): void {
    persist.save(this.me.user_id, this.parts(), this.client.state, this.client.pendingFrames());
  }

  private fail(err: unknown): void {
    if (err instanceof ApiError && err.status === 401) {
      saveSession(null);
      this.onSignedOut?.('Your session expired: sign in again.');
      return;
    }
    this.notice = err instanceof Error ? err.message : String(err);
    this.changed(false);
  }
}

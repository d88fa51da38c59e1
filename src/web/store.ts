/**
 * The web client's model: one signed-in user's conversations, messages, receipts,
 * typing and presence, kept up to date by the SDK's ChatClient and persisted in
 * localStorage so a reload shows the same screen at once and catches up from there.
 * No UI here: components read `AppStore` and call its methods; `subscribe` tells them
 * when to render again.
 */
import {
  ApiError,
  ChatClient,
  ChatError,
  MUTED_FOREVER,
  RestClient,
  type ChatStatus,
  type ChatTransport,
  type ChatTransportOption,
  type ConvEvent,
  type FetchLike,
  type InboxRow,
  type LinkPreview,
  type Message,
  type SyncState,
  type User,
} from '../client';
import { newSortableId } from '../protocol/ids';
import { readJson, remove, saveSession, writeJson, type Session } from './storage';

/** A message as the UI shows it: a confirmed one (seq) or a local echo awaiting its ACK. */
export interface Msg {
  seq: number | null;
  client_msg_id: string | null;
  sender_id: string;
  body: string;
  ts: number;
  reply_to: number | null;
  reactions: Record<string, string>;
  edited_at: number | null;
  deleted: boolean;
  link_preview: LinkPreview | null;
  /** Local echo whose send was refused. */
  failed?: string;
}

/** pending: not acknowledged yet; sent: durable (ACK); delivered / read: by every other member. */
export type Tick = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

interface ConvMessages {
  bySeq: Map<number, Msg>;
  /** Local echoes by client_msg_id, in send order. */
  pending: Map<string, Msg>;
  /** Older history exists on the server (or is not known not to). */
  hasOlder: boolean;
  /** The newest page was fetched over REST in this run. */
  fresh: boolean;
  loadingOlder: boolean;
}

/** Another member's progress in a conversation, from RECEIPT frames. */
interface Progress {
  delivered: number;
  read: number;
}

/** What survives a reload (one key per user, written together so it stays consistent). */
interface Persisted {
  v: 1;
  sync: SyncState;
  rows: InboxRow[];
  members: Record<string, string[]>;
  users: User[];
  receipts: Record<string, Record<string, Progress>>;
  msgs: Record<string, { hasOlder: boolean; list: Msg[] }>;
}

const pageSize = 30;
/** Messages kept per conversation in localStorage (the newest ones). */
const persistPerConv = 150;
const typingRefreshMs = 3000;

export const reactionChoices = ['👍', '❤️', '😂', '😮', '😢'] as const;

/**
 * The SDK keeps `globalThis.fetch` in a field and calls it as a method, which browsers
 * refuse ("Illegal invocation": fetch must be called on the window). A bound wrapper fixes it.
 */
const browserFetch: FetchLike = (url, init) => fetch(url, init);

export class AppStore {
  readonly me: Session;
  readonly client: ChatClient;
  readonly rest: RestClient;
  readonly transportPref: ChatTransportOption;
  private readonly rows = new Map<string, InboxRow>();
  private readonly members = new Map<string, string[]>();
  private readonly users = new Map<string, User>();
  private readonly msgs = new Map<string, ConvMessages>();
  private readonly receipts = new Map<string, Map<string, Progress>>();
  private readonly typingUsers = new Map<string, Set<string>>();
  private readonly presenceMap = new Map<string, 'online' | 'offline'>();
  private readonly listeners = new Set<() => void>();
  private readonly wantedUsers = new Set<string>();
  private usersTimer: ReturnType<typeof setTimeout> | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private listTimer: ReturnType<typeof setTimeout> | undefined;
  private notifyQueued = false;
  private openConvId: string | null = null;
  private readonly lastTypingSent = new Map<string, number>();
  private readonly readSent = new Map<string, number>();
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
    this.users.set(me.user_id, { user_id: me.user_id, username: me.username, display_name: me.display_name });
    const saved = this.load();
    this.client = new ChatClient({
      baseUrl: location.origin,
      token: me.token,
      deviceId,
      state: saved?.sync,
      transport: transportPref,
      reconnect: { minDelayMs: 500, maxDelayMs: 15_000 },
      fetch: browserFetch,
    });
    this.rest = this.client.rest;
    this.client.applyInbox([...this.rows.values()]);
    this.wire();
  }

  // ---- lifecycle ----

  start(): void {
    this.client.connect();
    void this.refreshList();
    this.requestUsers([...this.rows.values()].map((r) => r.peer_id).filter((id): id is string => id !== null));
    window.addEventListener('pagehide', this.flushSave);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  /** Stops for good (sign-out, or switching transport). Saves first unless `forget`. */
  stop(forget = false): void {
    if (this.closed) return;
    this.closed = true;
    window.removeEventListener('pagehide', this.flushSave);
    document.removeEventListener('visibilitychange', this.onVisible);
    for (const t of [this.usersTimer, this.saveTimer, this.listTimer]) if (t !== undefined) clearTimeout(t);
    if (forget) remove(this.dataKey);
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
    return [...this.rows.values()].sort((a, b) => b.updated_at - a.updated_at || b.last_seq - a.last_seq);
  }

  row(convId: string): InboxRow | undefined {
    return this.rows.get(convId);
  }

  user(userId: string): User | undefined {
    return this.users.get(userId);
  }

  nameOf(userId: string): string {
    if (userId === this.me.user_id) return 'You';
    const u = this.users.get(userId);
    if (!u) {
      this.requestUsers([userId]);
      return '…';
    }
    return u.display_name || u.username;
  }

  titleOf(row: InboxRow): string {
    if (row.type === 'direct') return row.peer_id ? this.nameOf(row.peer_id) : row.title ?? 'Direct chat';
    if (row.title) return row.title;
    const others = (this.members.get(row.conv_id) ?? []).filter((id) => id !== this.me.user_id);
    return others.length ? others.map((id) => this.nameOf(id)).join(', ') : 'Group';
  }

  presence(userId: string): 'online' | 'offline' | null {
    return this.presenceMap.get(userId) ?? null;
  }

  typing(convId: string): string[] {
    return [...(this.typingUsers.get(convId) ?? [])];
  }

  isMuted(row: InboxRow): boolean {
    return row.muted_until === MUTED_FOREVER || (row.muted_until !== null && row.muted_until > Date.now());
  }

  /** Confirmed messages ascending, then local echoes in send order. */
  messages(convId: string): Msg[] {
    const c = this.msgs.get(convId);
    if (!c) return [];
    const confirmed = [...c.bySeq.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    return [...confirmed, ...c.pending.values()];
  }

  message(convId: string, seq: number): Msg | undefined {
    return this.msgs.get(convId)?.bySeq.get(seq);
  }

  hasOlder(convId: string): boolean {
    return this.msgs.get(convId)?.hasOlder ?? true;
  }

  loadingOlder(convId: string): boolean {
    return this.msgs.get(convId)?.loadingOlder ?? false;
  }

  /** The other members (known after the conversation was opened once). */
  others(convId: string): string[] {
    const row = this.rows.get(convId);
    if (row?.type === 'direct' && row.peer_id) return [row.peer_id];
    return (this.members.get(convId) ?? []).filter((id) => id !== this.me.user_id);
  }

  tick(convId: string, m: Msg): Tick {
    if (m.failed) return 'failed';
    if (m.seq === null) return 'pending';
    const others = this.others(convId);
    const progress = this.receipts.get(convId);
    if (!others.length || !progress) return 'sent';
    const all = (f: (p: Progress) => boolean) => others.every((id) => {
      const p = progress.get(id);
      return p !== undefined && f(p);
    });
    const seq = m.seq;
    if (all((p) => p.read >= seq)) return 'read';
    if (all((p) => p.delivered >= seq)) return 'delivered';
    return 'sent';
  }

  /** seq -> the other members whose read marker's last visible message is that one ("Seen by"). */
  seenBy(convId: string): Map<number, string[]> {
    const out = new Map<number, string[]>();
    const progress = this.receipts.get(convId);
    if (!progress) return out;
    const list = this.messages(convId).filter((m) => m.seq !== null);
    for (const [userId, p] of progress) {
      if (userId === this.me.user_id || p.read <= 0) continue;
      let at: number | null = null;
      for (const m of list) if ((m.seq as number) <= p.read && m.sender_id !== userId) at = m.seq;
      if (at === null) continue;
      const names = out.get(at) ?? [];
      names.push(userId);
      out.set(at, names);
    }
    return out;
  }

  // ---- actions ----

  /** The conversation on screen: it is read while visible, and its members' presence is watched. */
  open(convId: string | null): void {
    if (this.openConvId === convId) return;
    this.openConvId = convId;
    if (convId === null) return;
    const c = this.conv(convId);
    if (!c.fresh) void this.loadLatest(convId);
    if (!this.members.has(convId)) void this.loadMembers(convId);
    this.updatePresenceSub();
    this.markReadIfVisible(convId);
    this.changed(false);
  }

  get openConversation(): string | null {
    return this.openConvId;
  }

  async loadOlder(convId: string): Promise<void> {
    const c = this.conv(convId);
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
    const c = this.conv(convId);
    // Our own id, so the echo, its ACK and any DELIVER of it (other devices) share one key.
    const localId = newSortableId('m');
    const promise = this.client.send(convId, text, replyTo !== null ? { reply_to: replyTo, client_msg_id: localId } : { client_msg_id: localId });
    const echo: Msg = {
      seq: null,
      client_msg_id: localId,
      sender_id: this.me.user_id,
      body: text,
      ts: Date.now(),
      reply_to: replyTo,
      reactions: {},
      edited_at: null,
      deleted: false,
      link_preview: null,
    };
    c.pending.set(localId, echo);
    this.touchRow(convId, { preview: text, updated_at: echo.ts });
    this.changed();
    promise.then(
      (ack) => {
        c.pending.delete(localId);
        const existing = c.bySeq.get(ack.seq);
        // The DELIVER of this message may have come first (another device, a reconnect).
        c.bySeq.set(ack.seq, existing ?? { ...echo, seq: ack.seq, ts: ack.ts });
        this.touchRow(convId, { last_seq: ack.seq, updated_at: ack.ts });
        const row = this.rows.get(convId);
        if (row) row.last_read_seq = Math.max(row.last_read_seq, ack.seq);
        this.changed();
      },
      (err: unknown) => {
        echo.failed = err instanceof ChatError ? err.code : 'not sent';
        this.changed();
      },
    );
  }

  /** Drops a failed local echo. */
  discard(convId: string, m: Msg): void {
    if (m.client_msg_id) this.conv(convId).pending.delete(m.client_msg_id);
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
    if (text.trim() === '') {
      this.stopTyping(convId);
      return;
    }
    const now = Date.now();
    const last = this.lastTypingSent.get(convId) ?? 0;
    if (now - last < typingRefreshMs) return;
    if (this.client.typing(convId, 'started')) this.lastTypingSent.set(convId, now);
  }

  stopTyping(convId: string): void {
    if (!this.lastTypingSent.has(convId)) return;
    this.lastTypingSent.delete(convId);
    this.client.typing(convId, 'stopped');
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
    this.members.set(conv.conv_id, conv.members.map((m) => m.user_id));
    this.addRow(conv.conv_id, 'direct', null, user.user_id, conv.created_at);
    return conv.conv_id;
  }

  async createGroup(title: string, usernames: string[]): Promise<string> {
    const users = await Promise.all(usernames.map((u) => this.findUser(u)));
    const ids = [...new Set(users.map((u) => u.user_id).filter((id) => id !== this.me.user_id))];
    if (!ids.length) throw new Error('Add at least one other member.');
    const conv = await this.rest.createConversation({ type: 'group', member_ids: ids, ...(title.trim() ? { title: title.trim() } : {}) });
    this.members.set(conv.conv_id, conv.members.map((m) => m.user_id));
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
      if (this.openConvId) this.markReadIfVisible(this.openConvId);
      this.changed();
    });
    c.on('disconnected', () => {
      this.status = c.status;
      this.typingUsers.clear();
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
    c.on('inbox', (row) => this.mergeRow(row));
    c.on('event', (ev) => this.onEvent(ev));
    c.on('unread', (convId, count) => {
      const row = this.rows.get(convId);
      if (row && row.unread !== count) {
        row.unread = count;
        this.changed();
      }
    });
    c.on('readSync', (s) => this.applyRead(s.conv_id, s));
    c.on('muteSync', (m) => this.applyMute(m.conv_id, m.muted_until));
    c.on('receipt', (r) => {
      if (r.user_id === this.me.user_id) return;
      let conv = this.receipts.get(r.conv_id);
      if (!conv) this.receipts.set(r.conv_id, (conv = new Map()));
      const p = conv.get(r.user_id) ?? { delivered: 0, read: 0 };
      p.delivered = Math.max(p.delivered, r.seq);
      if (r.kind === 'read') p.read = Math.max(p.read, r.seq);
      conv.set(r.user_id, p);
      this.changed();
    });
    c.on('typing', (t) => {
      if (t.user_id === this.me.user_id) return;
      let set = this.typingUsers.get(t.conv_id);
      if (!set) this.typingUsers.set(t.conv_id, (set = new Set()));
      if (t.state === 'started') set.add(t.user_id);
      else set.delete(t.user_id);
      this.requestUsers([t.user_id]);
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
    if (!this.rows.has(ev.conv_id)) this.scheduleListRefresh();
    this.fold(ev);
    this.changed();
  }

  /** Folds one event into the model: idempotent, so an event seen twice changes nothing. */
  private fold(ev: ConvEvent): void {
    const c = this.conv(ev.conv_id);
    switch (ev.kind) {
      case 'message': {
        const prev = c.bySeq.get(ev.seq);
        c.bySeq.set(ev.seq, {
          seq: ev.seq,
          client_msg_id: ev.client_msg_id ?? null,
          sender_id: ev.sender_id,
          body: ev.body ?? '',
          ts: ev.ts,
          reply_to: ev.reply_to ?? null,
          reactions: prev?.reactions ?? {},
          edited_at: prev?.edited_at ?? null,
          deleted: prev?.deleted ?? false,
          link_preview: prev?.link_preview ?? null,
        });
        // Our own message sent from this tab, seen again as an event: drop its echo.
        if (ev.client_msg_id && ev.sender_id === this.me.user_id) c.pending.delete(ev.client_msg_id);
        this.touchRow(ev.conv_id, { preview: ev.body ?? '', updated_at: ev.ts, last_seq: ev.seq });
        this.requestUsers([ev.sender_id]);
        if (ev.sender_id !== this.me.user_id) this.client.markDelivered(ev.conv_id, ev.seq);
        if (ev.conv_id === this.openConvId) this.markReadIfVisible(ev.conv_id);
        break;
      }
      case 'reaction': {
        const m = c.bySeq.get(ev.target_seq ?? -1);
        if (m) {
          const reactions = { ...m.reactions };
          if (ev.emoji) reactions[ev.sender_id] = ev.emoji;
          else delete reactions[ev.sender_id];
          m.reactions = reactions;
        }
        this.touchRow(ev.conv_id, { last_seq: ev.seq });
        break;
      }
      case 'edit': {
        const m = c.bySeq.get(ev.target_seq ?? -1);
        if (m) {
          m.body = ev.body ?? '';
          m.edited_at = ev.ts;
          m.link_preview = null;
        }
        if (this.isNewest(ev.conv_id, ev.target_seq)) this.touchRow(ev.conv_id, { preview: ev.body ?? '' });
        this.touchRow(ev.conv_id, { last_seq: ev.seq });
        break;
      }
      case 'delete': {
        const m = c.bySeq.get(ev.target_seq ?? -1);
        if (m) {
          m.deleted = true;
          m.body = '';
          m.reactions = {};
          m.link_preview = null;
        }
        if (this.isNewest(ev.conv_id, ev.target_seq)) this.touchRow(ev.conv_id, { preview: '' });
        this.touchRow(ev.conv_id, { last_seq: ev.seq });
        break;
      }
      case 'link_preview': {
        const m = c.bySeq.get(ev.target_seq ?? -1);
        if (m && !m.deleted) {
          m.link_preview = {
            url: ev.url ?? '',
            title: ev.title ?? null,
            description: ev.description ?? null,
            image_url: ev.image_url ?? null,
            site_name: ev.site_name ?? null,
          };
        }
        this.touchRow(ev.conv_id, { last_seq: ev.seq });
        break;
      }
      case 'member_added':
      case 'member_removed': {
        const ids = ev.user_ids ?? [];
        const now = new Set(this.members.get(ev.conv_id) ?? []);
        for (const id of ids) {
          if (ev.kind === 'member_added') now.add(id);
          else now.delete(id);
        }
        this.members.set(ev.conv_id, [...now]);
        this.requestUsers(ids);
        this.touchRow(ev.conv_id, { last_seq: ev.seq });
        this.updatePresenceSub();
        break;
      }
      default: {
        const row = this.rows.get(ev.conv_id);
        if (ev.kind === 'conversation_updated' && row && ev.title !== undefined) row.title = ev.title;
        this.touchRow(ev.conv_id, { last_seq: ev.seq });
      }
    }
  }

  private isNewest(convId: string, seq: number | undefined): boolean {
    const c = this.msgs.get(convId);
    if (!c || seq === undefined) return false;
    return Math.max(...c.bySeq.keys()) === seq;
  }

  private applyRead(convId: string, s: { last_read_seq?: number; unread?: number; marked_unread?: boolean }): void {
    const row = this.rows.get(convId);
    if (!row) return;
    if (s.last_read_seq !== undefined) row.last_read_seq = Math.max(row.last_read_seq, s.last_read_seq);
    if (s.unread !== undefined) row.unread = s.unread;
    if (s.marked_unread !== undefined) row.marked_unread = s.marked_unread;
    if (!row.marked_unread && s.last_read_seq !== undefined) this.readSent.set(convId, Math.max(this.readSent.get(convId) ?? 0, s.last_read_seq));
    this.changed();
  }

  private applyMute(convId: string, until: number | null): void {
    const row = this.rows.get(convId);
    if (!row) return;
    row.muted_until = until;
    row.muted = this.isMuted(row);
    this.changed();
  }

  private readonly onVisible = (): void => {
    if (this.openConvId) this.markReadIfVisible(this.openConvId);
  };

  /** Reads the open conversation up to its newest message while the page is visible. */
  private markReadIfVisible(convId: string): void {
    if (document.visibilityState !== 'visible' || convId !== this.openConvId) return;
    const row = this.rows.get(convId);
    const c = this.msgs.get(convId);
    const newest = Math.max(row?.last_seq ?? 0, ...(c ? [...c.bySeq.keys()] : []));
    if (newest <= 0) return;
    const unreadHere = (row?.unread ?? 0) > 0 || row?.marked_unread === true || (row?.last_read_seq ?? 0) < newest;
    if (!unreadHere || (this.readSent.get(convId) ?? 0) >= newest) return;
    this.readSent.set(convId, newest);
    this.client.markRead(convId, newest);
  }

  // ---- inbox rows ----

  private mergeRow(row: InboxRow): void {
    const have = this.rows.get(row.conv_id);
    // A row fetched before a live event we already applied is older than what we hold.
    if (have && have.last_seq > row.last_seq) return;
    this.rows.set(row.conv_id, { ...row });
    if (row.peer_id) this.requestUsers([row.peer_id]);
    this.updatePresenceSub();
    this.changed();
  }

  private touchRow(convId: string, patch: Partial<Pick<InboxRow, 'preview' | 'updated_at' | 'last_seq'>>): void {
    const row = this.rows.get(convId);
    if (!row) return;
    if (patch.last_seq !== undefined) {
      if (patch.last_seq < row.last_seq) return;
      row.last_seq = patch.last_seq;
    }
    if (patch.preview !== undefined) row.preview = patch.preview === null ? null : patch.preview.slice(0, 100);
    if (patch.updated_at !== undefined) row.updated_at = Math.max(row.updated_at, patch.updated_at);
  }

  private addRow(convId: string, type: InboxRow['type'], title: string | null, peerId: string | null, ts: number): void {
    if (this.rows.has(convId)) return;
    this.rows.set(convId, {
      conv_id: convId,
      type,
      title,
      peer_id: peerId,
      last_seq: 0,
      preview: null,
      updated_at: ts,
      unread: 0,
      unread_mentions: 0,
      last_read_seq: 0,
      marked_unread: false,
      muted_until: null,
      muted: false,
    });
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
      const fresh = rows.filter((r) => (this.rows.get(r.conv_id)?.last_seq ?? -1) <= r.last_seq);
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

  private updatePresenceSub(): void {
    const ids = new Set<string>();
    for (const row of this.rows.values()) if (row.type === 'direct' && row.peer_id) ids.add(row.peer_id);
    if (this.openConvId) for (const id of this.others(this.openConvId)) ids.add(id);
    const list = [...ids].sort().slice(0, 256);
    if (list.join(',') === this.presenceKey) return;
    this.presenceKey = list.join(',');
    this.client.subscribePresence(list);
  }
  private presenceKey = '';

  // ---- history ----

  private conv(convId: string): ConvMessages {
    let c = this.msgs.get(convId);
    if (!c) {
      c = { bySeq: new Map(), pending: new Map(), hasOlder: true, fresh: false, loadingOlder: false };
      this.msgs.set(convId, c);
    }
    return c;
  }

  private async loadLatest(convId: string): Promise<void> {
    const c = this.conv(convId);
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
    const c = this.conv(convId);
    for (const m of page) {
      c.bySeq.set(m.seq, {
        seq: m.seq,
        client_msg_id: m.client_msg_id ?? null,
        sender_id: m.sender_id,
        body: m.body,
        ts: m.ts,
        reply_to: m.reply_to,
        reactions: { ...m.reactions },
        edited_at: m.edited_at,
        deleted: m.deleted,
        link_preview: m.link_preview,
      });
      this.requestUsers([m.sender_id]);
    }
  }

  private async loadMembers(convId: string): Promise<void> {
    try {
      const conv = await this.rest.getConversation(convId);
      this.members.set(convId, conv.members.map((m) => m.user_id));
      this.requestUsers(conv.members.map((m) => m.user_id));
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
    this.users.set(user.user_id, user);
    return user;
  }

  /** Fetches the names of users not known yet, batched. */
  private requestUsers(ids: string[]): void {
    let added = false;
    for (const id of ids) {
      if (!this.users.has(id) && !this.wantedUsers.has(id)) {
        this.wantedUsers.add(id);
        added = true;
      }
    }
    if (!added || this.usersTimer !== undefined) return;
    this.usersTimer = setTimeout(() => {
      this.usersTimer = undefined;
      const batch = [...this.wantedUsers].slice(0, 200);
      for (const id of batch) this.wantedUsers.delete(id);
      void this.fetchUsers(batch);
    }, 30);
  }

  /**
   * `GET /api/v1/users?user_ids=a,b`: the SDK's RestClient has no method for it yet, so
   * this one call uses fetch directly with the session's token.
   */
  private async fetchUsers(ids: string[]): Promise<void> {
    if (!ids.length) return;
    try {
      const res = await fetch(`/api/v1/users?user_ids=${ids.map(encodeURIComponent).join(',')}`, {
        headers: { authorization: `Bearer ${this.me.token}`, accept: 'application/json' },
      });
      if (!res.ok) throw new ApiError(res.status, 'unavailable', `users: HTTP ${res.status}`);
      const body = (await res.json()) as { users: User[] };
      for (const u of body.users) this.users.set(u.user_id, u);
      this.changed();
    } catch (err) {
      for (const id of ids) this.wantedUsers.delete(id);
      this.fail(err);
    }
  }

  // ---- persistence ----

  private get dataKey(): string {
    return `data.${this.me.user_id}`;
  }

  private load(): Persisted | undefined {
    const p = readJson<Persisted>(this.dataKey);
    if (!p || p.v !== 1) return undefined;
    for (const row of p.rows ?? []) this.rows.set(row.conv_id, row);
    for (const [id, list] of Object.entries(p.members ?? {})) this.members.set(id, list);
    for (const u of p.users ?? []) this.users.set(u.user_id, u);
    for (const [conv, byUser] of Object.entries(p.receipts ?? {})) this.receipts.set(conv, new Map(Object.entries(byUser)));
    for (const [conv, saved] of Object.entries(p.msgs ?? {})) {
      const c = this.conv(conv);
      for (const m of saved.list) if (m.seq !== null) c.bySeq.set(m.seq, m);
      c.hasOlder = saved.hasOlder;
    }
    return p;
  }

  private scheduleSave(): void {
    if (this.saveTimer !== undefined || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, 300);
  }

  private readonly flushSave = (): void => {
    if (this.saveTimer !== undefined) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.save();
  };

  /** Writes the model and the SDK's sync state together: history and unread state match the seqs the next CONNECT resumes from. */
  private save(): void {
    const msgs: Persisted['msgs'] = {};
    for (const [conv, c] of this.msgs) {
      const list = [...c.bySeq.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
      const kept = list.slice(-persistPerConv);
      msgs[conv] = { hasOlder: c.hasOlder || kept.length < list.length, list: kept };
    }
    const receipts: Persisted['receipts'] = {};
    for (const [conv, byUser] of this.receipts) receipts[conv] = Object.fromEntries(byUser);
    const data: Persisted = {
      v: 1,
      sync: this.client.state,
      rows: [...this.rows.values()],
      members: Object.fromEntries(this.members),
      users: [...this.users.values()],
      receipts,
      msgs,
    };
    writeJson(this.dataKey, data);
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

/** Signs in or up over REST; returns the session to keep. */
export async function authenticate(mode: 'signin' | 'signup', username: string, password: string, displayName: string): Promise<Session> {
  const rest = new RestClient({ baseUrl: location.origin, fetch: browserFetch });
  const auth =
    mode === 'signup'
      ? await rest.register({ username, password, ...(displayName.trim() ? { display_name: displayName.trim() } : {}) })
      : await rest.login({ username, password });
  rest.setToken(auth.token);
  const me = await rest.me();
  return { token: auth.token, user_id: auth.user_id, username: me.username, display_name: me.display_name ?? me.username };
}


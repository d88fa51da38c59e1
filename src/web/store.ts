/**
 * The web client's model: one signed-in user's conversations, messages, receipts,
 * typing and presence, kept up to date by the SDK's ChatClient. This file is the
 * composition root and the door components use: it builds the parts that hold state
 * (`inbox.ts`, `messages.ts`, `receipts.ts`, `users.ts`, `typing.ts`, `presence.ts`) and
 * the parts that change it (`events.ts` SDK wiring, `apply.ts` folding, `loading.ts` REST
 * loads, `reading.ts` read marking, `actions.ts` user actions, `create.ts` new chats),
 * renders on change and saves through `persist.ts`. No UI here: components read `AppStore`
 * and call its methods; `subscribe` tells them when to render again.
 */
import { ApiError, ChatClient, type Attachment, type AttachmentUrl, type ChatStatus, type Rendition, type ChatTransport, type ChatTransportOption, type InboxRow, type RestClient, type User, type UserSearchPage, type UserSettings } from '../client';
import { Actions } from './actions';
import { Applier } from './apply';
import { ChatCreator } from './create';
import { wireEvents, type ConnectionState } from './events';
import { Inbox, isMuted } from './inbox';
import { recentContacts } from './people';
import { Loader } from './loading';
import { MessageStore, type Msg } from './messages';
import type { Notify } from './notify';
import * as persist from './persist';
import { closeNotifications } from './push';
import { PresenceWatch, type Seen } from './presence';
import { ReadMarker } from './reading';
import { Receipts, type Tick } from './receipts';
import { saveSession, type Session } from './storage';
import { Typing } from './typing';
import { UserDirectory } from './users';

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
  private readonly reads: ReadMarker;
  private readonly presenceWatch: PresenceWatch;
  private readonly loader: Loader;
  private readonly actions: Actions;
  private readonly creator: ChatCreator;
  private readonly conn: ConnectionState = { status: 'idle', transport: null, notice: null };
  private readonly notify: Notify = { changed: (p) => this.changed(p), fail: (err) => this.fail(err) };
  private readonly listeners = new Set<() => void>();
  private readonly saver = new persist.SaveTimer(() => this.save(), saveDelayMs);
  private notifyQueued = false;
  private closed = false;
  /** Set when the server refused the token: the app signs out and forgets the saved session. */
  onSignedOut: ((reason: string) => void) | null = null;

  constructor(me: Session, deviceId: string, transportPref: ChatTransportOption) {
    this.me = me;
    this.transportPref = transportPref;
    const meId = me.user_id;
    // `this.rest` does not exist yet: the loader looks it up when a batch goes out.
    this.users = new UserDirectory((ids) => this.rest.getUsers(ids), () => this.changed(), (err) => this.fail(err));
    this.users.set({ user_id: meId, username: me.username, display_name: me.display_name });
    // Unsent frames of the last run come back as pending echoes (SEND) and go out again after the first CONNACK.
    const saved = persist.restore(meId, this.parts());
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
    const { client, rest, inbox, msgs, receipts, users, notify } = this;
    const typing = (this.typingState = new Typing((convId, state) => client.typing(convId, state)));
    const reads = (this.reads = new ReadMarker(client, inbox, msgs, closeNotifications));
    const presence = (this.presenceWatch = new PresenceWatch(client, inbox, reads, meId));
    const apply = new Applier({ meId, client, inbox, msgs, users, reads, presence, notify });
    const loader = (this.loader = new Loader({ meId, rest, client, inbox, msgs, receipts, users, reads, presence, apply, notify }));
    const actions = (this.actions = new Actions({ meId, client, rest, inbox, msgs, typing, reads, apply, notify }));
    this.creator = new ChatCreator({ meId, rest, inbox, users, loader });
    client.applyInbox(inbox.all());
    wireEvents(client, {
      meId,
      conn: this.conn,
      inbox,
      receipts,
      typing,
      users,
      presence,
      reads,
      loader,
      apply,
      actions,
      notify,
      outboxChanged: (frames) => {
        if (!this.closed) persist.saveOutbox(meId, frames);
      },
      signedOut: (reason) => this.signOut(reason),
    });
  }

  // ---- lifecycle ----

  start(): void {
    this.client.connect();
    void this.loader.refreshList();
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
    this.loader.stop();
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

  private readonly onVisible = (): void => this.reads.markOpenRead();

  // ---- reading the model ----

  get status(): ChatStatus {
    return this.conn.status;
  }

  get transport(): ChatTransport | null {
    return this.conn.transport;
  }

  /** A short message for the status line (e.g. a refused action). */
  get notice(): string | null {
    return this.conn.notice;
  }

  conversations(): InboxRow[] {
    return this.inbox.sorted();
  }

  row(convId: string): InboxRow | undefined {
    return this.inbox.get(convId);
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

  /** Whether the user is online, as far as this client can tell: never while this client itself is offline (it would be a guess). */
  presence(userId: string): 'online' | 'offline' | null {
    return this.presenceOf(userId)?.state ?? null;
  }

  /**
   * The user's presence for a header. While this client is not connected nobody shows as
   * online (their state may have changed unseen); a last-seen time stays true and is kept.
   */
  presenceOf(userId: string): Seen | null {
    const seen = this.presenceWatch.get(userId);
    if (seen === null || this.conn.status === 'ready') return seen;
    return seen.state === 'online' ? null : seen;
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

  /** The tick of this user's message `m`; `others` is `others(convId)`, taken once for the whole list. */
  tick(convId: string, m: Msg, others: string[]): Tick {
    return this.receipts.tick(convId, others, m);
  }

  /** seq -> the other members whose read marker's last visible message is that one ("Seen by"). */
  seenBy(convId: string): Map<number, string[]> {
    return this.receipts.seenBy(convId, this.me.user_id, this.msgs.confirmed(convId));
  }

  // ---- actions (the work is done in `actions.ts`, `loading.ts` and `create.ts`) ----

  /**
   * The conversation on screen: it is read while visible, and its members' presence is
   * watched. Its details are fetched on every open, not once: their read and delivered
   * markers catch this device up on RECEIPTs it missed while offline (or before it existed).
   */
  open(convId: string | null): void {
    if (!this.reads.setOpen(convId) || convId === null) return;
    const c = this.msgs.conv(convId);
    if (!c.fresh) void this.loader.loadLatest(convId);
    void this.loader.loadMembers(convId);
    this.presenceWatch.update();
    this.reads.markReadIfVisible(convId);
    this.changed(false);
  }

  get openConversation(): string | null {
    return this.reads.openConvId;
  }

  loadOlder(convId: string): Promise<void> {
    return this.loader.loadOlder(convId);
  }

  /** Sends text and completed uploads (their ids); either may be empty, not both. */
  send(convId: string, body: string, replyTo: number | null, attachments: Attachment[] = []): void {
    this.actions.send(convId, body, replyTo, attachments);
  }

  /** Uploads one file (slot, PUT, complete): resolves with the completed attachment, rejects with the server's ApiError. */
  upload(file: File, opts: { onProgress?: (sent: number, total: number) => void; signal?: AbortSignal }): Promise<Attachment> {
    // A type the browser does not know is declared as plain bytes; the server sniffs the real one.
    return this.client.uploadAttachment(file, { name: file.name || 'file', type: file.type || 'application/octet-stream', ...opts });
  }

  /** A signed URL of one rendition of an attachment, cached by the SDK until shortly before it expires. */
  attachmentUrl(id: string, rendition: Rendition): Promise<AttachmentUrl> {
    return this.client.attachmentUrl(id, rendition);
  }

  /** Drops a failed local echo. */
  discard(convId: string, m: Msg): void {
    this.actions.discard(convId, m);
  }

  /** Sets this user's reaction, or removes it when `emoji` is the one already set. */
  react(convId: string, seq: number, emoji: string): void {
    this.actions.react(convId, seq, emoji);
  }

  edit(convId: string, seq: number, body: string): void {
    this.actions.edit(convId, seq, body);
  }

  unsend(convId: string, seq: number): void {
    this.actions.unsend(convId, seq);
  }

  /** Called on every keystroke in the composer: "started", refreshed every 3 s while typing. */
  typed(convId: string, text: string): void {
    this.typingState.typed(convId, text);
  }

  stopTyping(convId: string): void {
    this.typingState.stop(convId);
  }

  markUnread(convId: string): Promise<void> {
    return this.actions.markUnread(convId);
  }

  setMuted(convId: string, muted: boolean): Promise<void> {
    return this.actions.setMuted(convId, muted);
  }

  /** Opens (or finds) the direct chat with `username`; returns its id. */
  startDirect(username: string): Promise<string> {
    return this.creator.direct(username);
  }

  /** Opens (or finds) the direct chat with a person picked from search. */
  startDirectWith(user: User): Promise<string> {
    return this.creator.directWith(user);
  }

  /** Creates a group of this user and people picked from search. */
  createGroupWith(title: string, members: User[]): Promise<string> {
    return this.creator.groupWith(title, members);
  }

  /** Recent direct-chat peers matching `query`, most recent first (from the first letter, no request). */
  recentContacts(query: string, limit = 5): User[] {
    return recentContacts(this.inbox.sorted(), (id) => this.users.get(id), query, limit).filter((u) => u.user_id !== this.me.user_id);
  }

  /** One page of the server's people search; the names found are kept for later. */
  async searchPeople(query: string, cursor?: string): Promise<UserSearchPage> {
    const page = await this.rest.searchUsers(query, { cursor, limit: 20 });
    for (const u of page.users) this.users.set(u);
    return page;
  }

  // ---- the account (the Settings view) ----

  /** This user's privacy settings as the server holds them. */
  async loadSettings(): Promise<UserSettings> {
    return (await this.rest.me()).settings;
  }

  /** Changes some settings; resolves with all of them as now in force. */
  updateSettings(patch: Partial<UserSettings>): Promise<UserSettings> {
    return this.rest.updateSettings(patch);
  }

  /** Renames this user on the server, then here: the name shown, and the saved session for the next start. */
  async rename(displayName: string): Promise<void> {
    const user = await this.rest.updateProfile({ display_name: displayName });
    this.me.display_name = user.display_name ?? displayName;
    this.users.set(user);
    saveSession(this.me);
    this.changed(false);
  }

  /** Signs this device out on the server (its tokens stop counting), as the first step of signing out here. */
  signOutDevice(): Promise<void> {
    return this.rest.logout();
  }

  /** Signs out every device of this user, this one included. */
  signOutEverywhere(): Promise<void> {
    return this.rest.logoutEverywhere();
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
   * seqs the next CONNECT resumes from). The unsent frames are written apart, as they change.
   */
  private save(): void {
    persist.save(this.me.user_id, this.parts(), this.client.state);
  }

  // ---- failures ----

  /** The app forgets the saved session (`onSignedOut`), as on a sign-out by hand. */
  private signOut(reason: string): void {
    this.onSignedOut?.(reason);
  }

  private fail(err: unknown): void {
    if (err instanceof ApiError && err.status === 401) return this.signOut('Your session expired: sign in again.');
    this.conn.notice = err instanceof Error ? err.message : String(err);
    this.changed(false);
  }
}

/**
 * Loading over REST: the conversation list (paged, merged into the inbox when newer),
 * history pages (the latest on open, older ones on scroll-up) and conversation details
 * (members and their read and delivered markers).
 */
import type { ChatClient, InboxRow, Message, RestClient } from '../client';
import type { Applier } from './apply';
import type { Inbox } from './inbox';
import type { MessageStore } from './messages';
import type { Notify } from './notify';
import type { PresenceWatch } from './presence';
import type { ReadMarker } from './reading';
import type { Receipts } from './receipts';
import type { UserDirectory } from './users';

const pageSize = 30;
/** Rows learned one by one (an event of an unknown conversation, a created one) are checked by one list refresh. */
const listRefreshDelayMs = 250;

export interface LoaderDeps {
  meId: string;
  rest: RestClient;
  client: Pick<ChatClient, 'applyInbox'>;
  inbox: Inbox;
  msgs: MessageStore;
  receipts: Receipts;
  users: UserDirectory;
  reads: ReadMarker;
  presence: PresenceWatch;
  apply: Applier;
  notify: Notify;
}

export class Loader {
  private listTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly d: LoaderDeps) {}

  /** Cancels a pending list refresh (the store stops). */
  stop(): void {
    if (this.listTimer !== undefined) clearTimeout(this.listTimer);
  }

  // ---- the list ----

  async refreshList(): Promise<void> {
    const { d } = this;
    try {
      // Read and mute changes applied from here on are newer than anything the list says.
      const since = d.inbox.stamp();
      const rows: InboxRow[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const res = await d.rest.listConversations({ cursor, limit: 100 });
        rows.push(...res.conversations);
        if (!res.next_cursor) break;
        cursor = res.next_cursor;
      }
      // The SDK's unread counts and read markers are seeded from the rows as merged, never
      // from a listed row older than what the inbox holds (its marker would go back).
      d.client.applyInbox(d.apply.mergeRows(rows, since));
      d.reads.markOpenRead();
    } catch (err) {
      d.notify.fail(err);
    }
  }

  scheduleListRefresh(): void {
    if (this.listTimer !== undefined) return;
    this.listTimer = setTimeout(() => {
      this.listTimer = undefined;
      void this.refreshList();
    }, listRefreshDelayMs);
  }

  /** A conversation this user just created or found: shown at once, then checked against the list. */
  addRow(convId: string, type: InboxRow['type'], title: string | null, peerId: string | null, ts: number): void {
    if (!this.d.inbox.add(convId, type, title, peerId, ts)) return;
    this.d.presence.update();
    this.d.notify.changed();
    this.scheduleListRefresh();
  }

  // ---- history ----

  async loadLatest(convId: string): Promise<void> {
    const { d } = this;
    const c = d.msgs.conv(convId);
    try {
      const page = await d.rest.getMessages(convId, { limit: pageSize });
      const had = c.bySeq.size;
      this.mergeHistory(convId, page);
      c.fresh = true;
      // Cached messages older than the page stay; more history exists unless the page was short.
      if (page.length < pageSize) c.hasOlder = false;
      else if (had === 0) c.hasOlder = true;
      if (convId === d.reads.openConvId) d.reads.markReadIfVisible(convId);
    } catch (err) {
      d.notify.fail(err);
    }
    d.notify.changed();
  }

  async loadOlder(convId: string): Promise<void> {
    const { d } = this;
    const c = d.msgs.conv(convId);
    if (c.loadingOlder || !c.hasOlder) return;
    const oldest = d.msgs.oldestSeq(convId);
    if (oldest === undefined) return this.loadLatest(convId);
    c.loadingOlder = true;
    d.notify.changed(false);
    try {
      const page = await d.rest.getMessages(convId, { before: oldest, limit: pageSize });
      this.mergeHistory(convId, page);
      c.hasOlder = page.length === pageSize;
    } catch (err) {
      d.notify.fail(err);
    } finally {
      c.loadingOlder = false;
      d.notify.changed();
    }
  }

  private mergeHistory(convId: string, page: Message[]): void {
    this.d.msgs.mergeHistory(convId, page, this.d.meId);
    this.d.users.request(page.map((m) => m.sender_id));
  }

  // ---- details ----

  /** Members, and their read and delivered markers (forward-only over what RECEIPTs gave). */
  async loadMembers(convId: string): Promise<void> {
    const { d } = this;
    try {
      const conv = await d.rest.getConversation(convId);
      d.inbox.members.set(convId, conv.members.map((m) => m.user_id));
      d.receipts.mergeMembers(convId, conv.members, d.meId);
      d.users.request(conv.members.map((m) => m.user_id));
      d.presence.update();
      d.notify.changed();
    } catch (err) {
      d.notify.fail(err);
    }
  }
}

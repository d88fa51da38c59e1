/**
 * Message state: folds conversation events (messages, reactions, edits, deletes, link
 * previews, attachments made ready) and REST history pages into the messages the UI shows, beside this tab's local
 * echoes awaiting their ACK. Folding is idempotent, so an event seen twice (live, then in
 * catch-up or a history page) changes nothing. Knows nothing of rows, users or the network.
 */
import { foldAttachmentReady, type Attachment, type ConvEvent, type LinkPreview, type Message } from '../client';

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
  /** In the order sent; their renditions as last reported (`attachment_ready`). */
  attachments: Attachment[];
  /** Local echo whose send was refused. */
  failed?: string;
}

/** One conversation's messages and paging state. */
export interface ConvMessages {
  /** Confirmed messages by seq: read here, written only through `MessageStore` (it keeps `sorted` and `newest`). */
  readonly bySeq: ReadonlyMap<number, Msg>;
  /** Local echoes by client_msg_id, in send order. */
  pending: Map<string, Msg>;
  /** Older history exists on the server (or is not known not to). */
  hasOlder: boolean;
  /** The newest page was fetched over REST in this run. */
  fresh: boolean;
  loadingOlder: boolean;
}

/** The state behind `ConvMessages`, with what is derived from `bySeq` on a change. */
interface ConvState extends ConvMessages {
  readonly bySeq: Map<number, Msg>;
  /** `bySeq`'s messages ascending, built on first use after a change. */
  sorted: Msg[] | null;
  /** The highest seq in `bySeq`; 0 when empty. */
  newest: number;
}

/** A message from a history page, as the UI shows it (its reactions copied, not shared). */
function fromHistory(m: Message): Msg {
  return {
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
    attachments: m.attachments ?? [],
  };
}

/** The local echo of a message this tab is sending, shown until its ACK gives it a seq. */
export function localEcho(clientMsgId: string, senderId: string, body: string, replyTo: number | null, attachments: Attachment[] = []): Msg {
  return {
    seq: null,
    client_msg_id: clientMsgId,
    sender_id: senderId,
    body,
    ts: Date.now(),
    reply_to: replyTo,
    reactions: {},
    edited_at: null,
    deleted: false,
    link_preview: null,
    attachments,
  };
}

/** Every conversation's messages, by conversation id. */
export class MessageStore {
  private readonly convs = new Map<string, ConvState>();

  /** The conversation's state, created empty (more history assumed) on first use. */
  conv(convId: string): ConvMessages {
    return this.state(convId);
  }

  /** Puts saved messages back (at start). */
  restore(convId: string, list: Msg[], hasOlder: boolean): void {
    const c = this.state(convId);
    // Records saved before messages had attachments have none.
    for (const m of list) if (m.seq !== null) this.put(c, m.seq, m.attachments ? m : { ...m, attachments: [] });
    c.hasOlder = hasOlder;
  }

  /** The conversation's state if it has any, without creating it. */
  peek(convId: string): ConvMessages | undefined {
    return this.convs.get(convId);
  }

  entries(): IterableIterator<[string, ConvMessages]> {
    return this.convs.entries();
  }

  /** Confirmed messages ascending, then local echoes in send order. */
  list(convId: string): Msg[] {
    const c = this.convs.get(convId);
    if (!c) return [];
    return c.pending.size ? [...this.sortedOf(c), ...c.pending.values()] : this.sortedOf(c).slice();
  }

  /** The conversation's confirmed messages, ascending by seq (do not modify the array). */
  confirmed(convId: string): readonly Msg[] {
    const c = this.convs.get(convId);
    return c ? this.sortedOf(c) : [];
  }

  /** The highest confirmed seq held; 0 when none. */
  newestSeq(convId: string): number {
    return this.convs.get(convId)?.newest ?? 0;
  }

  /** The lowest confirmed seq held, if any. */
  oldestSeq(convId: string): number | undefined {
    const c = this.convs.get(convId);
    return c ? this.sortedOf(c)[0]?.seq ?? undefined : undefined;
  }

  get(convId: string, seq: number): Msg | undefined {
    return this.convs.get(convId)?.bySeq.get(seq);
  }

  /** Whether `seq` is the newest confirmed message held (an edit or delete of it changes the row's preview). */
  isNewest(convId: string, seq: number | undefined): boolean {
    const c = this.convs.get(convId);
    if (!c || seq === undefined) return false;
    return c.bySeq.size > 0 && c.newest === seq;
  }

  /**
   * Adds a history page; a message already held is replaced by the server's current view
   * of it. One of `me`'s messages whose local echo is still shown (its ACK lost, e.g. an
   * echo restored after a reload) replaces the echo, as its DELIVER would.
   */
  mergeHistory(convId: string, page: Message[], me: string): void {
    const c = this.state(convId);
    for (const m of page) {
      this.put(c, m.seq, fromHistory(m));
      if (m.client_msg_id && m.sender_id === me) c.pending.delete(m.client_msg_id);
    }
  }

  /**
   * The ACK of a local echo: it becomes the confirmed message `seq`, unless the DELIVER of
   * it came first (another device, a reconnect) and is kept.
   */
  confirm(convId: string, echo: Msg, seq: number, ts: number): void {
    const c = this.state(convId);
    if (echo.client_msg_id) c.pending.delete(echo.client_msg_id);
    if (!c.bySeq.has(seq)) this.put(c, seq, { ...echo, seq, ts });
  }

  /**
   * Folds one event into the messages; kinds that carry no message content (membership,
   * conversation updates) only make sure the conversation exists. `me` tells this user's
   * own messages, whose local echo a DELIVER of them replaces.
   */
  fold(ev: ConvEvent, me: string): void {
    const c = this.state(ev.conv_id);
    switch (ev.kind) {
      case 'message': {
        const prev = c.bySeq.get(ev.seq);
        this.put(c, ev.seq, {
          seq: ev.seq,
          client_msg_id: ev.client_msg_id ?? null,
          sender_id: ev.sender_id,
          body: ev.body ?? '',
          ts: ev.ts,
          reply_to: ev.reply_to ?? null,
          // The message seen again (catch-up after a history page): what later events did to it stays.
          reactions: prev?.reactions ?? {},
          edited_at: prev?.edited_at ?? null,
          deleted: prev?.deleted ?? false,
          link_preview: prev?.link_preview ?? null,
          // Renditions made since (attachment_ready seen first) are kept.
          attachments: prev?.deleted ? [] : prev?.attachments.length ? prev.attachments : ev.attachments ?? [],
        });
        // Our own message sent from this tab, seen again as an event: drop its echo.
        if (ev.client_msg_id && ev.sender_id === me) c.pending.delete(ev.client_msg_id);
        return;
      }
      case 'reaction': {
        const m = c.bySeq.get(ev.target_seq ?? -1);
        if (!m) return;
        const reactions = { ...m.reactions };
        if (ev.emoji) reactions[ev.sender_id] = ev.emoji;
        else delete reactions[ev.sender_id];
        m.reactions = reactions;
        return;
      }
      case 'edit': {
        const m = c.bySeq.get(ev.target_seq ?? -1);
        if (!m) return;
        m.body = ev.body ?? '';
        m.edited_at = ev.ts;
        m.link_preview = null;
        return;
      }
      case 'delete': {
        const m = c.bySeq.get(ev.target_seq ?? -1);
        if (!m) return;
        m.deleted = true;
        m.body = '';
        m.reactions = {};
        m.link_preview = null;
        m.attachments = [];
        return;
      }
      case 'link_preview': {
        const m = c.bySeq.get(ev.target_seq ?? -1);
        if (!m || m.deleted) return;
        m.link_preview = {
          url: ev.url ?? '',
          title: ev.title ?? null,
          description: ev.description ?? null,
          image_url: ev.image_url ?? null,
          site_name: ev.site_name ?? null,
        };
        return;
      }
      case 'attachment_ready': {
        const m = c.bySeq.get(ev.target_seq ?? -1);
        if (!m || m.deleted) return;
        // A copy (components compare attachments by identity); the seq stays, so the order holds.
        const next = foldAttachmentReady(m, ev);
        if (next !== m) this.put(c, next.seq as number, next);
        return;
      }
      default:
        return;
    }
  }

  private state(convId: string): ConvState {
    let c = this.convs.get(convId);
    if (!c) {
      c = { bySeq: new Map(), pending: new Map(), hasOlder: true, fresh: false, loadingOlder: false, sorted: null, newest: 0 };
      this.convs.set(convId, c);
    }
    return c;
  }

  /** Every write to `bySeq` comes here. Messages changed in place (reactions, edits) keep their seq, so the order holds. */
  private put(c: ConvState, seq: number, m: Msg): void {
    c.bySeq.set(seq, m);
    c.sorted = null;
    c.newest = Math.max(c.newest, seq);
  }

  private sortedOf(c: ConvState): Msg[] {
    c.sorted ??= [...c.bySeq.values()].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    return c.sorted;
  }
}

/**
 * One conversation's actor: a single mailbox that owns the conversation's sequencer
 * range, member cache, dedup window and fan-out. Commands run one at a time in arrival
 * order; the only waits inside the mailbox are loading and refilling the seq range, so
 * sequencing is strictly ordered while commits overlap through the group-commit queue.
 */
import { MUTED_FOREVER, ProtocolError, type ConvEvent, type MemberRole } from '../protocol';
import type { AppendItem, AppendResult, ConversationRecord } from '../store';
import type {
  AckResult,
  AddMembersCommand,
  Command,
  DeleteCommand,
  DeliveredCommand,
  EditCommand,
  LinkPreviewCommand,
  MarkUnreadCommand,
  MembersResult,
  MuteCommand,
  ReactCommand,
  ReadCommand,
  RemoveMemberCommand,
  ResultMap,
  SendCommand,
  TypingCommand,
} from './commands';
import type { ActorDeps } from './deps';
import { DedupWindow } from './dedup';
import { isReactionEmoji } from './emoji';

/** Seqs reserved per sequencer call (DESIGN.md: batches of 64). */
const seqBatch = 64;
/** How many recent message authors the actor remembers for delivered receipts. */
const tailSize = 256;
/** How far back a recovering actor republishes: covers a dead owner's fan-out lag. */
const recoveryWindowMs = 10_000;
const recoveryMaxEvents = 1000;
/** Messages whose state the actor keeps for replies, reactions, edits and deletes. */
const messageCacheSize = 2048;

interface MemberState {
  role: MemberRole;
  joinedAt: number;
  lastRead: number;
  lastDelivered: number;
  markedUnread: boolean;
}

/** What the rules of replies, reactions, edits and deletes need to know of a message. */
interface MessageMeta {
  sender: string;
  ts: number;
  deleted: boolean;
  /** The thread the message is a reply in; null when it is not a reply. */
  threadRoot: number | null;
}

interface Job {
  cmd: Command;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class ConversationActor {
  private conv: ConversationRecord | null = null;
  private readonly members = new Map<string, MemberState>();
  private seqNext = 0;
  private seqEnd = 0;
  /** Highest seq handed out; ts of events is kept monotonic per conversation. */
  private lastTs = 0;
  private readonly mailbox: Job[] = [];
  private running = false;
  private readonly dedup = new DedupWindow();
  /** seq -> sender of recent messages, for routing delivered receipts in groups. */
  private readonly tail = new Map<number, string>();
  /** sender -> seq of their newest message, to know whether a send clears others' unread. */
  private readonly lastMessageBy = new Map<string, number>();
  /**
   * seq -> message state, for the targets of replies, reactions, edits and deletes. Filled
   * when a message is sequenced (so a target still in group commit is known) or loaded from
   * the store before the command runs; null records a committed seq that is no message.
   * Map order is insertion order, so the oldest entry is dropped first.
   */
  private readonly messages = new Map<number, MessageMeta | null>();
  /** Fan-out runs in commit order; each batch chains on the previous one. */
  private fanoutChain: Promise<void> = Promise.resolve();
  /** Commands accepted but not yet answered; the actor is not evicted while > 0. */
  private inFlight = 0;
  lastActive = Date.now();

  constructor(
    readonly convId: string,
    private readonly deps: ActorDeps,
  ) {}

  /** Resolves when every fan-out queued so far has been published. */
  settled(): Promise<void> {
    return this.fanoutChain;
  }

  /** True when evicting the actor loses nothing. */
  get idle(): boolean {
    return this.mailbox.length === 0 && !this.running && this.inFlight === 0;
  }

  /** Queues a command; resolves with its result once durable (for events) or done. */
  enqueue<C extends Command>(cmd: C): Promise<ResultMap[C['op']]> {
    this.lastActive = Date.now();
    this.inFlight++;
    const done = new Promise<ResultMap[C['op']]>((resolve, reject) => {
      this.mailbox.push({ cmd, resolve: resolve as (v: unknown) => void, reject });
    });
    if (!this.running) void this.run();
    return done.finally(() => {
      this.inFlight--;
      this.lastActive = Date.now();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.mailbox.length > 0) {
        const job = this.mailbox.shift() as Job;
        try {
          if (this.conv === null) await this.load();
          if (await this.answeredBefore(job)) continue;
          const target = targetOf(job.cmd);
          if (target !== null && !this.messages.has(target)) await this.loadMessage(target);
          if (needsSeq(job.cmd) && this.seqNext >= this.seqEnd) await this.refill();
          this.handle(job);
        } catch (err) {
          job.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async load(): Promise<void> {
    const [conv, members] = await Promise.all([
      this.deps.store.getConversation(this.convId),
      this.deps.store.getMembers(this.convId),
    ]);
    if (!conv) throw new ProtocolError('not_found', 'conversation not found');
    this.conv = conv;
    this.lastTs = 0;
    for (const m of members) {
      this.members.set(m.user_id, {
        role: m.role,
        joinedAt: m.joined_at,
        lastRead: m.last_read_seq,
        lastDelivered: m.last_delivered_seq,
        markedUnread: m.marked_unread,
      });
    }
    await this.loadTail(conv);
  }

  /**
   * The log may run past the conversation row: an owner that crashed between writing
   * events and updating the row (Cassandra has no transaction across them). Those events,
   * and when the previous owner died the recent ones it may not have fanned out, are
   * published again before this actor sequences anything new; devices drop what they have.
   */
  private async loadTail(conv: ConversationRecord): Promise<void> {
    const recovering = this.deps.takeRecovery(this.convId);
    const recorded = conv.last_seq;
    const from = recovering ? Math.max(0, recorded - recoveryMaxEvents) : recorded;
    const tail = await this.deps.store.readEvents(this.convId, from, recoveryMaxEvents + 1000);
    if (tail.length === 0) return;
    const cutoff = Date.now() - recoveryWindowMs;
    for (const ev of tail) {
      conv.last_seq = Math.max(conv.last_seq, ev.seq);
      if (ev.kind === 'message') this.tail.set(ev.seq, ev.sender_id);
      if (ev.seq > recorded || ev.ts >= cutoff) this.fanoutEvent(ev, null, { event: ev });
    }
    if (this.tail.size > tailSize) for (const s of [...this.tail.keys()].slice(0, this.tail.size - tailSize)) this.tail.delete(s);
  }

  /**
   * A retried REACT/EDIT/DELETE whose original committed before this actor's window began
   * (a restart, an eviction) must get its ACK again, not a refusal: by now its target may
   * be deleted or its edit window past. These are rare enough to afford the lookup that
   * sends avoid (theirs is caught by the store's unique key at commit).
   */
  private async answeredBefore(job: Job): Promise<boolean> {
    const cmd = job.cmd;
    if (cmd.op !== 'react' && cmd.op !== 'edit' && cmd.op !== 'delete') return false;
    if (this.dedup.knows(cmd.user_id + '\u0000' + cmd.client_msg_id)) return false;
    const prior = await this.deps.store.findByClientMsgId(this.convId, cmd.user_id, cmd.client_msg_id);
    if (prior === null) return false;
    job.resolve({ seq: prior.seq, ts: prior.ts, duplicate: true } satisfies AckResult);
    return true;
  }

  /** Loads a committed message's state; an uncommitted seq is already in the cache or is none. */
  private async loadMessage(seq: number): Promise<void> {
    if (seq < 1 || seq > (this.conv as ConversationRecord).last_seq) return;
    const m = await this.deps.store.readMessage(this.convId, seq);
    // A command that ran meanwhile (none can: the mailbox waits here) would have filled it.
    if (this.messages.has(seq)) return;
    this.remember(seq, m === null ? null : { sender: m.sender_id, ts: m.ts, deleted: m.deleted, threadRoot: m.thread_root });
  }

  private remember(seq: number, meta: MessageMeta | null): void {
    this.messages.delete(seq);
    this.messages.set(seq, meta);
    if (this.messages.size > messageCacheSize) this.messages.delete(this.messages.keys().next().value as number);
  }

  /** The live message at `seq`, or the error that refuses a command aimed at it. */
  private liveMessage(seq: number, error: ProtocolError): MessageMeta {
    const meta = this.messages.get(seq);
    if (!meta || meta.deleted) throw error;
    return meta;
  }

  private async refill(): Promise<void> {
    const range = await this.deps.sequencer.reserve(this.convId, seqBatch);
    this.seqNext = range.start;
    this.seqEnd = range.end;
  }

  private handle(job: Job): void {
    const cmd = job.cmd;
    const member = this.members.get(cmd.user_id);
    if (!member) throw new ProtocolError('forbidden', 'not a member of this conversation');
    switch (cmd.op) {
      case 'send':
        return this.send(cmd, job);
      case 'react':
        return this.react(cmd, job);
      case 'edit':
        return this.edit(cmd, job);
      case 'delete':
        return this.remove(cmd, member, job);
      case 'link_preview':
        return this.linkPreview(cmd, job);
      case 'mute':
        return this.mute(cmd, job);
      case 'mark_unread':
        return this.markUnread(cmd, member, job);
      case 'read':
        return this.read(cmd, member, job);
      case 'delivered':
        return this.delivered(cmd, member, job);
      case 'typing':
        return this.typing(cmd, job);
      case 'add_members':
        return this.addMembers(cmd, member, job);
      case 'remove_member':
        return this.removeMember(cmd, member, job);
      case 'announce':
        return this.append(
          { event: this.newEvent(cmd.user_id, 'member_added', { user_ids: [...this.members.keys()] }) },
          job,
          null,
        );
    }
  }

  private send(cmd: SendCommand, job: Job): void {
    const key = cmd.user_id + '\u0000' + cmd.client_msg_id;
    if (this.dedup.answer(key, job.resolve, job.reject)) return;
    if (cmd.body.trim() === '' && !cmd.attachments?.length) {
      throw new ProtocolError('bad_request', 'body must not be empty');
    }
    if (cmd.attachments?.length) throw new ProtocolError('bad_request', 'unknown attachment');
    let threadRoot: number | null = null;
    if (cmd.reply_to !== undefined) {
      const target = this.liveMessage(cmd.reply_to, new ProtocolError('bad_request', 'reply_to names no live message of this conversation'));
      // A reply to a reply joins the thread of the first message.
      threadRoot = target.threadRoot ?? cmd.reply_to;
    }
    if (cmd.mentions?.some((u) => !this.members.has(u))) {
      throw new ProtocolError('bad_request', 'mentions must be members of the conversation');
    }
    const event = this.newEvent(cmd.user_id, 'message', {
      body: cmd.body,
      reply_to: cmd.reply_to ?? null,
      thread_root: threadRoot,
      attachments: cmd.attachments ?? [],
      mentions: [...new Set(cmd.mentions ?? [])],
      client_msg_id: cmd.client_msg_id,
    });
    this.remember(event.seq, { sender: cmd.user_id, ts: event.ts, deleted: false, threadRoot });
    this.dedup.begin(key);
    this.append({ event }, job, cmd.session_id, key);
  }

  private react(cmd: ReactCommand, job: Job): void {
    const key = cmd.user_id + '\u0000' + cmd.client_msg_id;
    if (this.dedup.answer(key, job.resolve, job.reject)) return;
    if (cmd.emoji !== null && !isReactionEmoji(cmd.emoji, this.deps.limits.maxEmojiChars)) {
      throw new ProtocolError('bad_request', 'emoji must be a single emoji');
    }
    this.liveMessage(cmd.target_seq, new ProtocolError('not_found', 'no such message'));
    const event = this.newEvent(cmd.user_id, 'reaction', { target_seq: cmd.target_seq, emoji: cmd.emoji, client_msg_id: cmd.client_msg_id });
    this.dedup.begin(key);
    this.append({ event }, job, cmd.session_id, key);
  }

  private edit(cmd: EditCommand, job: Job): void {
    const key = cmd.user_id + '\u0000' + cmd.client_msg_id;
    if (this.dedup.answer(key, job.resolve, job.reject)) return;
    if (cmd.body.trim() === '') throw new ProtocolError('bad_request', 'body must not be empty');
    const target = this.liveMessage(cmd.target_seq, new ProtocolError('not_found', 'no such message'));
    if (target.sender !== cmd.user_id) throw new ProtocolError('forbidden', 'only the author edits a message');
    if (Date.now() - target.ts > this.deps.editWindowMs) throw new ProtocolError('forbidden', 'the edit window of this message has passed');
    const event = this.newEvent(cmd.user_id, 'edit', { target_seq: cmd.target_seq, body: cmd.body, client_msg_id: cmd.client_msg_id });
    this.dedup.begin(key);
    this.append({ event }, job, cmd.session_id, key);
  }

  private remove(cmd: DeleteCommand, member: MemberState, job: Job): void {
    const key = cmd.user_id + '\u0000' + cmd.client_msg_id;
    if (this.dedup.answer(key, job.resolve, job.reject)) return;
    const target = this.liveMessage(cmd.target_seq, new ProtocolError('not_found', 'no such message'));
    const admin = (this.conv as ConversationRecord).type === 'group' && member.role === 'admin';
    if (target.sender !== cmd.user_id && !admin) {
      throw new ProtocolError('forbidden', 'only the author or a group admin deletes a message');
    }
    const event = this.newEvent(cmd.user_id, 'delete', { target_seq: cmd.target_seq, client_msg_id: cmd.client_msg_id });
    // Later commands see it gone at once; a failed commit brings it back (see append).
    target.deleted = true;
    this.dedup.begin(key);
    this.append({ event }, job, cmd.session_id, key);
  }

  private linkPreview(cmd: LinkPreviewCommand, job: Job): void {
    const target = this.messages.get(cmd.target_seq);
    if (!target || target.deleted) {
      job.resolve(null); // unsent (or never a message) while the page was fetched
      return;
    }
    const p = cmd.preview;
    const event = this.newEvent(cmd.user_id, 'link_preview', {
      target_seq: cmd.target_seq,
      url: p.url,
      title: p.title,
      description: p.description,
      image_url: p.image_url,
      site_name: p.site_name,
      // One preview per message: a repeat is a duplicate of the store's idempotency key.
      client_msg_id: `link_preview:${cmd.target_seq}`,
    });
    this.append({ event }, job, null);
  }

  private mute(cmd: MuteCommand, job: Job): void {
    const until = cmd.until;
    const muted = until !== null && (until === MUTED_FOREVER || until > Date.now());
    this.deps.store.setMute(this.convId, cmd.user_id, until).then(
      (ok) => {
        if (!ok) {
          job.reject(new ProtocolError('forbidden', 'not a member of this conversation'));
          return;
        }
        job.resolve({ muted_until: until, muted });
        const frame = JSON.stringify({ type: 'MUTE_SYNC', conv_id: this.convId, muted_until: until });
        this.publishTo([cmd.user_id], frame, null);
      },
      (err: unknown) => {
        this.deps.logger.error('mute failed', { conv_id: this.convId, err });
        job.reject(new ProtocolError('unavailable', 'could not store the mute; retry'));
      },
    );
  }

  private markUnread(cmd: MarkUnreadCommand, member: MemberState, job: Job): void {
    member.markedUnread = true;
    this.deps.markers.setMarkedUnread(this.convId, cmd.user_id, true);
    job.resolve({ marked_unread: true });
    this.syncReadState(cmd.user_id, member.lastRead, true);
  }

  /** READ_SYNC to every session of `userId`, with counts from the store, in actor order. */
  private syncReadState(userId: string, lastRead: number, markedUnread: boolean): void {
    this.fanoutChain = this.fanoutChain
      .then(async () => {
        const counts = await this.deps.store.countUnread(this.convId, userId, lastRead);
        await this.deps.fanout.publish([userId], readSyncFrame(this.convId, lastRead, counts.unread, counts.mentions, markedUnread), null);
      })
      .catch((err: unknown) => {
        this.deps.logger.error('read sync failed', { conv_id: this.convId, err });
      });
  }

  /** Sequences an event, hands it to group commit, and on commit ACKs and fans out. */
  private append(item: AppendItem, job: Job, excludeSession: string | null, dedupKey?: string): void {
    const event = item.event;
    this.deps.commits.add(item, (result: AppendResult | Error) => {
      if (result instanceof Error) {
        if (dedupKey) this.dedup.fail(dedupKey, result);
        this.uncommitted(event);
        this.deps.logger.error('event commit failed', { conv_id: this.convId, seq: event.seq, err: result });
        job.reject(new ProtocolError('unavailable', 'could not store the event; retry'));
        return;
      }
      if (result.status === 'duplicate') {
        // The seq taken for this event stays unused (a gap, as after a crash).
        this.uncommitted(event);
        const ack: AckResult = { seq: result.seq, ts: result.ts, duplicate: true };
        if (dedupKey) this.dedup.done(dedupKey, ack);
        job.resolve(job.cmd.op === 'link_preview' ? null : ack);
        return;
      }
      const ack: AckResult = { seq: event.seq, ts: event.ts, duplicate: false };
      if (dedupKey) this.dedup.done(dedupKey, ack);
      this.committed(item);
      if (job.cmd.op === 'add_members' || job.cmd.op === 'remove_member') job.resolve(this.membersResult(event.seq));
      else job.resolve(ack);
      this.fanoutEvent(event, excludeSession, item);
      if (event.kind === 'message') this.deps.onMessage(event);
      if (event.kind === 'delete') this.syncUnreadAfterDelete(event);
    });
  }

  /** Undoes what sequencing an event assumed, when it did not become durable. */
  private uncommitted(event: ConvEvent): void {
    if (event.kind === 'message') this.messages.delete(event.seq);
    if (event.kind === 'delete' && event.target_seq !== undefined) {
      const target = this.messages.get(event.target_seq);
      if (target) target.deleted = false;
    }
  }

  /** A deleted message no longer counts as unread (or as a mention) for those who had not read it. */
  private syncUnreadAfterDelete(event: ConvEvent): void {
    const target = event.target_seq ?? 0;
    const author = this.messages.get(target)?.sender;
    for (const [userId, m] of this.members) {
      if (m.lastRead < target && userId !== author) this.syncReadState(userId, m.lastRead, m.markedUnread);
    }
  }

  /** Applies a committed event to the actor's caches. */
  private committed(item: AppendItem): void {
    const event = item.event;
    const conv = this.conv as ConversationRecord;
    conv.last_seq = Math.max(conv.last_seq, event.seq);
    for (const m of item.members?.add ?? []) {
      this.members.set(m.user_id, { role: m.role, joinedAt: event.ts, lastRead: m.last_read_seq, lastDelivered: 0, markedUnread: false });
    }
    for (const userId of item.members?.remove ?? []) this.members.delete(userId);
    conv.member_count = this.members.size;
    if (event.kind !== 'message') return;
    this.tail.set(event.seq, event.sender_id);
    if (this.tail.size > tailSize) this.tail.delete(this.tail.keys().next().value as number);
    this.lastMessageBy.set(event.sender_id, event.seq);
    // Sending implies having read everything before: advance the sender's marker.
    const sender = this.members.get(event.sender_id);
    if (sender && sender.lastRead < event.seq) {
      const clearsUnread = this.hasOthersMessageAfter(event.sender_id, sender.lastRead) || sender.markedUnread;
      sender.lastRead = event.seq;
      this.deps.markers.update(this.convId, event.sender_id, 'last_read_seq', event.seq);
      if (sender.markedUnread) {
        sender.markedUnread = false;
        this.deps.markers.setMarkedUnread(this.convId, event.sender_id, false);
      }
      if (clearsUnread) {
        this.publishTo([event.sender_id], readSyncFrame(this.convId, event.seq, 0, 0, false), null);
      }
    }
  }

  private hasOthersMessageAfter(userId: string, seq: number): boolean {
    if (this.lastMessageBy.size === 0) return true; // unknown since load: assume yes
    for (const [sender, last] of this.lastMessageBy) if (sender !== userId && last > seq) return true;
    return false;
  }

  private fanoutEvent(event: ConvEvent, excludeSession: string | null, item: AppendItem): void {
    const frame = JSON.stringify({ type: 'DELIVER', ...event });
    const recipients = [...this.members.keys(), ...(item.members?.remove ?? [])];
    this.publishTo(recipients, frame, excludeSession);
  }

  /** Publishes one serialised frame to the gateways holding `users`, in actor order. */
  private publishTo(users: string[], frame: string, excludeSession: string | null): void {
    this.fanoutChain = this.fanoutChain
      .then(() => this.deps.fanout.publish(users, frame, excludeSession))
      .catch((err: unknown) => {
        this.deps.logger.error('fan-out failed', { conv_id: this.convId, err });
      });
  }

  private read(cmd: ReadCommand, member: MemberState, job: Job): void {
    const conv = this.conv as ConversationRecord;
    const seq = Math.min(cmd.seq, conv.last_seq);
    // Any READ clears "marked as unread", even one that does not move the marker.
    const wasMarked = member.markedUnread;
    if (wasMarked) {
      member.markedUnread = false;
      this.deps.markers.setMarkedUnread(this.convId, cmd.user_id, false);
    }
    if (seq <= member.lastRead) {
      job.resolve({ last_read_seq: member.lastRead });
      if (wasMarked) this.syncReadState(cmd.user_id, member.lastRead, false);
      return;
    }
    member.lastRead = seq;
    this.deps.markers.update(this.convId, cmd.user_id, 'last_read_seq', seq);
    job.resolve({ last_read_seq: seq });
    if (cmd.receipts) {
      const others = [...this.members.keys()].filter((u) => u !== cmd.user_id);
      this.publishTo(others, receiptFrame(this.convId, cmd.user_id, seq, 'read'), null);
    }
    // The counts come from the store; chained so READ_SYNCs leave in READ order.
    this.syncReadState(cmd.user_id, seq, false);
  }

  private delivered(cmd: DeliveredCommand, member: MemberState, job: Job): void {
    const conv = this.conv as ConversationRecord;
    const seq = Math.min(cmd.seq, conv.last_seq);
    job.resolve(undefined);
    if (seq <= member.lastDelivered) return;
    const previous = member.lastDelivered;
    member.lastDelivered = seq;
    this.deps.markers.update(this.convId, cmd.user_id, 'last_delivered_seq', seq);
    // Delivered ticks matter to the authors of the messages just delivered. Telling every
    // member of a 250-member group about every device's DELIVERED would cost O(n²) frames.
    const authors = new Set<string>();
    if (conv.type === 'direct') {
      for (const u of this.members.keys()) if (u !== cmd.user_id) authors.add(u);
    } else {
      for (const [s, sender] of this.tail) if (s > previous && s <= seq && sender !== cmd.user_id) authors.add(sender);
    }
    if (authors.size > 0) this.publishTo([...authors], receiptFrame(this.convId, cmd.user_id, seq, 'delivered'), null);
  }

  private typing(cmd: TypingCommand, job: Job): void {
    job.resolve(undefined);
    const others = [...this.members.keys()].filter((u) => u !== cmd.user_id);
    const frame = JSON.stringify({ type: 'TYPING', conv_id: this.convId, user_id: cmd.user_id, state: cmd.state });
    this.publishTo(others, frame, null);
  }

  private addMembers(cmd: AddMembersCommand, member: MemberState, job: Job): void {
    const conv = this.conv as ConversationRecord;
    if (conv.type !== 'group') throw new ProtocolError('bad_request', 'members of a direct conversation are fixed');
    if (member.role !== 'admin') throw new ProtocolError('forbidden', 'only admins add members');
    const fresh = [...new Set(cmd.user_ids)].filter((u) => !this.members.has(u));
    if (this.members.size + fresh.length > this.deps.limits.maxGroupMembers) {
      throw new ProtocolError('bad_request', `a group has at most ${this.deps.limits.maxGroupMembers} members`);
    }
    if (fresh.length === 0) {
      job.resolve(this.membersResult(null));
      return;
    }
    const event = this.newEvent(cmd.user_id, 'member_added', { user_ids: fresh });
    // Joiners have nothing unread: history before their join event counts as read.
    const add = fresh.map((user_id) => ({ user_id, role: 'member' as const, last_read_seq: event.seq }));
    this.append({ event, members: { add } }, job, null);
  }

  private removeMember(cmd: RemoveMemberCommand, member: MemberState, job: Job): void {
    const conv = this.conv as ConversationRecord;
    if (conv.type !== 'group') throw new ProtocolError('bad_request', 'members of a direct conversation are fixed');
    if (cmd.target_id !== cmd.user_id && member.role !== 'admin') {
      throw new ProtocolError('forbidden', 'only admins remove other members');
    }
    if (!this.members.has(cmd.target_id)) throw new ProtocolError('not_found', 'not a member');
    const item: AppendItem = {
      event: this.newEvent(cmd.user_id, 'member_removed', { user_ids: [cmd.target_id] }),
      members: { remove: [cmd.target_id] },
    };
    this.append(item, job, null);
  }

  private membersResult(seq: number | null): MembersResult {
    const conv = this.conv as ConversationRecord;
    const members = [...this.members].map(([user_id, m]) => ({
      conv_id: this.convId,
      user_id,
      role: m.role,
      joined_at: m.joinedAt,
      last_read_seq: m.lastRead,
      last_delivered_seq: m.lastDelivered,
      muted_until: null,
      marked_unread: m.markedUnread,
    }));
    return { conversation: { ...conv }, members, seq };
  }

  /** Takes the next seq of the reserved range; callers made sure the range is not empty. */
  private newEvent(senderId: string, kind: ConvEvent['kind'], fields: Partial<ConvEvent>): ConvEvent {
    const seq = this.seqNext++;
    const ts = Math.max(Date.now(), this.lastTs);
    this.lastTs = ts;
    return { conv_id: this.convId, seq, ts, sender_id: senderId, kind, ...fields };
  }
}

function needsSeq(cmd: Command): boolean {
  switch (cmd.op) {
    case 'send':
    case 'react':
    case 'edit':
    case 'delete':
    case 'link_preview':
    case 'add_members':
    case 'remove_member':
    case 'announce':
      return true;
    default:
      return false;
  }
}

/** The message a command refers to, whose state must be known before it runs. */
function targetOf(cmd: Command): number | null {
  switch (cmd.op) {
    case 'send':
      return cmd.reply_to ?? null;
    case 'react':
    case 'edit':
    case 'delete':
    case 'link_preview':
      return cmd.target_seq;
    default:
      return null;
  }
}

function receiptFrame(convId: string, userId: string, seq: number, kind: 'read' | 'delivered'): string {
  return JSON.stringify({ type: 'RECEIPT', conv_id: convId, user_id: userId, seq, kind });
}

function readSyncFrame(convId: string, seq: number, unread: number, mentions: number, markedUnread: boolean): string {
  return JSON.stringify({
    type: 'READ_SYNC',
    conv_id: convId,
    last_read_seq: seq,
    unread,
    unread_mentions: mentions,
    marked_unread: markedUnread,
  });
}

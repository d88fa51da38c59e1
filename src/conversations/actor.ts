/**
 * One conversation's actor: a single mailbox that owns the conversation's sequencer
 * range, member cache, dedup window and fan-out. Commands run one at a time in arrival
 * order; the only waits inside the mailbox are loading and refilling the seq range, so
 * sequencing is strictly ordered while commits overlap through the group-commit queue.
 */
import { ProtocolError, type ConvEvent, type MemberRole } from '../protocol';
import type { AppendItem, AppendResult, ConversationRecord } from '../store';
import type {
  AckResult,
  AddMembersCommand,
  Command,
  DeliveredCommand,
  MembersResult,
  ReadCommand,
  RemoveMemberCommand,
  ResultMap,
  SendCommand,
  TypingCommand,
} from './commands';
import type { ActorDeps } from './deps';
import { DedupWindow } from './dedup';

/** Seqs reserved per sequencer call (DESIGN.md: batches of 64). */
const seqBatch = 64;
/** How many recent message authors the actor remembers for delivered receipts. */
const tailSize = 256;

interface MemberState {
  role: MemberRole;
  joinedAt: number;
  lastRead: number;
  lastDelivered: number;
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
  /** Fan-out runs in commit order; each batch chains on the previous one. */
  private fanoutChain: Promise<void> = Promise.resolve();
  /** Commands accepted but not yet answered; the actor is not evicted while > 0. */
  private inFlight = 0;
  lastActive = Date.now();

  constructor(
    readonly convId: string,
    private readonly deps: ActorDeps,
  ) {}

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
      });
    }
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
    const lastSeq = Math.max((this.conv as ConversationRecord).last_seq, this.seqNext - 1);
    if (cmd.reply_to !== undefined && (cmd.reply_to < 1 || cmd.reply_to > lastSeq)) {
      throw new ProtocolError('bad_request', 'reply_to names no message of this conversation');
    }
    if (cmd.mentions?.some((u) => !this.members.has(u))) {
      throw new ProtocolError('bad_request', 'mentions must be members of the conversation');
    }
    const event = this.newEvent(cmd.user_id, 'message', {
      body: cmd.body,
      reply_to: cmd.reply_to ?? null,
      attachments: cmd.attachments ?? [],
      mentions: cmd.mentions ?? [],
      client_msg_id: cmd.client_msg_id,
    });
    this.dedup.begin(key);
    this.append({ event }, job, cmd.session_id, key);
  }

  /** Sequences an event, hands it to group commit, and on commit ACKs and fans out. */
  private append(item: AppendItem, job: Job, excludeSession: string | null, dedupKey?: string): void {
    const event = item.event;
    this.deps.commits.add(item, (result: AppendResult | Error) => {
      if (result instanceof Error) {
        if (dedupKey) this.dedup.fail(dedupKey, result);
        this.deps.logger.error('event commit failed', { conv_id: this.convId, seq: event.seq, err: result });
        job.reject(new ProtocolError('unavailable', 'could not store the event; retry'));
        return;
      }
      if (result.status === 'duplicate') {
        const ack: AckResult = { seq: result.seq, ts: result.ts, duplicate: true };
        if (dedupKey) this.dedup.done(dedupKey, ack);
        job.resolve(ack);
        return;
      }
      const ack: AckResult = { seq: event.seq, ts: event.ts, duplicate: false };
      if (dedupKey) this.dedup.done(dedupKey, ack);
      this.committed(item);
      if (job.cmd.op === 'add_members' || job.cmd.op === 'remove_member') job.resolve(this.membersResult(event.seq));
      else job.resolve(ack);
      this.fanoutEvent(event, excludeSession, item);
    });
  }

  /** Applies a committed event to the actor's caches. */
  private committed(item: AppendItem): void {
    const event = item.event;
    const conv = this.conv as ConversationRecord;
    conv.last_seq = Math.max(conv.last_seq, event.seq);
    for (const m of item.members?.add ?? []) {
      this.members.set(m.user_id, { role: m.role, joinedAt: event.ts, lastRead: m.last_read_seq, lastDelivered: 0 });
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
      const clearsUnread = this.hasOthersMessageAfter(event.sender_id, sender.lastRead);
      sender.lastRead = event.seq;
      this.deps.markers.update(this.convId, event.sender_id, 'last_read_seq', event.seq);
      if (clearsUnread) {
        this.publishTo([event.sender_id], readSyncFrame(this.convId, event.seq, 0), null);
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
    if (seq <= member.lastRead) {
      job.resolve({ last_read_seq: member.lastRead });
      return;
    }
    member.lastRead = seq;
    this.deps.markers.update(this.convId, cmd.user_id, 'last_read_seq', seq);
    job.resolve({ last_read_seq: seq });
    if (cmd.receipts) {
      const others = [...this.members.keys()].filter((u) => u !== cmd.user_id);
      this.publishTo(others, receiptFrame(this.convId, cmd.user_id, seq, 'read'), null);
    }
    // The unread count comes from the store; chain it so READ_SYNCs leave in READ order.
    const userId = cmd.user_id;
    this.fanoutChain = this.fanoutChain
      .then(async () => {
        const unread = await this.deps.store.countUnread(this.convId, userId, seq);
        await this.deps.fanout.publish([userId], readSyncFrame(this.convId, seq, unread), null);
      })
      .catch((err: unknown) => {
        this.deps.logger.error('read sync failed', { conv_id: this.convId, err });
      });
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
  return cmd.op === 'send' || cmd.op === 'add_members' || cmd.op === 'remove_member' || cmd.op === 'announce';
}

function receiptFrame(convId: string, userId: string, seq: number, kind: 'read' | 'delivered'): string {
  return JSON.stringify({ type: 'RECEIPT', conv_id: convId, user_id: userId, seq, kind });
}

function readSyncFrame(convId: string, seq: number, unread: number): string {
  return JSON.stringify({ type: 'READ_SYNC', conv_id: convId, last_read_seq: seq, unread });
}

/**
 * One conversation's actor: a single mailbox that owns the conversation's seq range and
 * the order of its commits and fan-out. Commands run one at a time in arrival order; the
 * only waits inside the mailbox are loading state (the conversation, a command's target
 * message, an idempotency key after a refusal) and refilling the seq range, so sequencing
 * is strictly ordered while commits overlap through the group-commit queue.
 *
 * What each command may do lives elsewhere: rules.ts (events, pure), readstate.ts (READ,
 * DELIVERED, marked unread), signals.ts (typing, mute), dedup.ts (retries).
 */
import { ProtocolError, blamesClient, encodeFrame, type ConvEvent } from '../protocol';
import type { AppendItem, AppendResult, AttachmentRecord, ConversationRecord } from '../store';
import type { AckResult, Command, ResultMap } from './commands';
import type { ActorDeps } from './deps';
import { DedupWindow, answerRetry, answeredByStore, dedupKey, eventKindOf, isAcked, type AckedCommand } from './dedup';
import { OrderedFanout } from './fanout';
import { ReadState } from './readstate';
import * as rules from './rules';
import * as signals from './signals';
import { ConversationState } from './state';

/** Seqs reserved per sequencer call (docs/architecture.md: batches of 64). */
const seqBatch = 64;
/** How far back a recovering actor republishes: covers a dead owner's fan-out lag. */
const recoveryWindowMs = 10_000;
const recoveryMaxEvents = 1000;

interface Job {
  cmd: Command;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** A loaded actor's state and the read state working on it. */
interface Loaded {
  state: ConversationState;
  reads: ReadState;
}

export class ConversationActor {
  private loaded: Loaded | null = null;
  private seqNext = 0;
  private seqEnd = 0;
  /** ts of the newest sequenced event: kept monotonic per conversation. */
  private lastTs = 0;
  private readonly mailbox: Job[] = [];
  private running = false;
  private readonly dedup = new DedupWindow();
  private readonly out: OrderedFanout;
  /** Commands accepted but not yet answered; the actor is not evicted while > 0. */
  private inFlight = 0;
  /** Attachments of messages sequenced but not committed: a second SEND of one is refused. */
  private readonly sending = new Set<string>();
  lastActive = Date.now();

  /**
   * `found` is the conversation's row when the caller just read it (to know it exists):
   * the first load uses it instead of reading it again.
   */
  constructor(
    readonly convId: string,
    private readonly deps: ActorDeps,
    private found: ConversationRecord | null = null,
  ) {
    this.out = new OrderedFanout(deps.fanout, deps.logger, convId);
  }

  /** Resolves when every fan-out queued so far has been published. */
  settled(): Promise<void> {
    return this.out.settled();
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
        // next() answers every job itself; this only keeps a bug there from stalling the mailbox.
        await this.next(job).catch((err: unknown) => job.reject(err));
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Runs one command. For SEND, REACT, EDIT and DELETE, a retry is answered as its original
   * whatever the rules say now (dedup.ts): from the window before the rules run, and from
   * the store before a refusal of theirs is sent. Awaits only what the command needs loaded.
   */
  private async next(job: Job): Promise<void> {
    const cmd = job.cmd;
    const acked = isAcked(cmd) ? cmd : null;
    const key = acked === null ? null : dedupKey(acked);
    try {
      const loaded = this.loaded ?? (await this.load());
      if (acked !== null && this.dedup.answer(key as string, eventKindOf(acked), job)) return;
      const target = targetOf(cmd);
      if (target !== null && !loaded.state.knowsMessage(target)) await this.loadMessage(loaded.state, target);
      const attachments = cmd.op === 'send' && cmd.attachments?.length ? await this.loadAttachments(cmd.attachments) : [];
      if (needsSeq(cmd) && this.seqNext >= this.seqEnd) await this.refill();
      this.execute(loaded, cmd, job, key, attachments);
    } catch (err) {
      // Only a refusal of the client's command may be a retry the store has answered before;
      // the server's own failure (the store down while loading or reserving seqs) stands,
      // and asking the store again would fail again and log each command.
      if (acked !== null && err instanceof ProtocolError && blamesClient(err.code) && (await this.answeredBefore(acked, job))) return;
      job.reject(err);
    }
  }

  /**
   * After the rules refused `cmd`: true when the job was answered from the store (as a
   * retry, or a conflict) or could not be (unavailable); false when the refusal stands.
   * Never throws, so the mailbox goes on.
   */
  private async answeredBefore(cmd: AckedCommand, job: Job): Promise<boolean> {
    try {
      return await answeredByStore(this.deps.store, this.dedup, cmd, job);
    } catch (err) {
      // Dedup must be decided before the refusal: without the store, neither can be answered.
      this.deps.logger.error('idempotency lookup failed', { conv_id: this.convId, err });
      job.reject(new ProtocolError('unavailable', 'could not check the client_msg_id; retry'));
      return true;
    }
  }

  /** The seq and time a new event gets if its rule accepts it (not taken until then). */
  private stamp(): rules.Stamp {
    const { limits, editWindowMs, attachmentSendWindowMs } = this.deps;
    return { seq: this.seqNext, ts: Math.max(Date.now(), this.lastTs), limits, editWindowMs, attachmentSendWindowMs };
  }

  private execute({ state, reads }: Loaded, cmd: Command, job: Job, key: string | null, attachments: readonly AttachmentRecord[]): void {
    switch (cmd.op) {
      case 'send':
        return this.append(rules.send(state, cmd, this.stamp(), attachments), job, cmd.session_id, key);
      case 'react':
        return this.append(rules.react(state, cmd, this.stamp()), job, cmd.session_id, key);
      case 'edit':
        return this.append(rules.edit(state, cmd, this.stamp()), job, cmd.session_id, key);
      case 'delete':
        return this.append(rules.remove(state, cmd, this.stamp()), job, cmd.session_id, key);
      case 'link_preview': {
        const item = rules.linkPreview(state, cmd, this.stamp());
        // Unsent (or never a message) while the page was fetched: nothing to store.
        return item === null ? job.resolve(null) : this.append(item, job, null, null);
      }
      case 'attachment_ready': {
        const item = rules.attachmentReady(state, cmd, this.stamp());
        return item === null ? job.resolve(null) : this.append(item, job, null, null);
      }
      case 'add_members': {
        const item = rules.addMembers(state, cmd, this.stamp());
        return item === null ? job.resolve(state.membersResult(null)) : this.append(item, job, null, null);
      }
      case 'remove_member':
        return this.append(rules.removeMember(state, cmd, this.stamp()), job, null, null);
      case 'announce':
        return this.append(rules.announce(state, cmd, this.stamp()), job, null, null);
      case 'read': {
        const member = rules.requireMember(state, cmd.user_id);
        const before = member.lastRead;
        const result = reads.read(cmd, member);
        if (result.last_read_seq > before) this.deps.onRead(cmd.user_id, this.convId, result.last_read_seq);
        return job.resolve(result);
      }
      case 'delivered':
        return job.resolve(reads.delivered(cmd, rules.requireMember(state, cmd.user_id)));
      case 'mark_unread':
        return job.resolve(reads.markUnread(cmd, rules.requireMember(state, cmd.user_id)));
      case 'typing':
        rules.requireMember(state, cmd.user_id);
        return job.resolve(signals.typing(state, cmd, this.out, Date.now()));
      case 'mute':
        rules.requireMember(state, cmd.user_id);
        signals.mute(state, cmd, this.deps.store, this.out, this.deps.logger).then(job.resolve, job.reject);
        return;
    }
  }

  private async load(): Promise<Loaded> {
    const found = this.found;
    this.found = null;
    const [conv, members] = await Promise.all([found ?? this.deps.store.getConversation(this.convId), this.deps.store.getMembers(this.convId)]);
    if (!conv) throw rules.noSuchConversation();
    const state = new ConversationState(conv, members);
    this.lastTs = 0;
    await this.loadTail(state, conv);
    this.loaded = { state, reads: new ReadState(state, this.deps.store, this.deps.markers, this.out) };
    return this.loaded;
  }

  /**
   * The log may run past the conversation row: an owner that crashed between writing
   * events and updating the row (Cassandra has no transaction across them). Those events,
   * and when the previous owner died the recent ones it may not have fanned out, are
   * published again before this actor sequences anything new; devices drop what they have.
   */
  private async loadTail(state: ConversationState, conv: ConversationRecord): Promise<void> {
    const recovering = this.deps.takeRecovery(this.convId);
    const recorded = conv.last_seq;
    const from = recovering ? Math.max(0, recorded - recoveryMaxEvents) : recorded;
    const tail = await this.deps.store.readEvents(this.convId, from, recoveryMaxEvents + 1000);
    const cutoff = Date.now() - recoveryWindowMs;
    for (const ev of tail) {
      state.loaded(ev);
      if (ev.seq > recorded || ev.ts >= cutoff) this.deliver(state, ev, [], null);
    }
  }

  /** Loads a committed message's state; an uncommitted seq is already known or is none. */
  private async loadMessage(state: ConversationState, seq: number): Promise<void> {
    if (seq < 1 || seq > state.conv.last_seq) return;
    const m = await this.deps.store.readMessage(this.convId, seq);
    // Nothing ran meanwhile (the mailbox waits here), but keep what is known if it did.
    if (!state.knowsMessage(seq)) state.rememberStored(seq, m);
  }

  /** The records a SEND names; one still committing with an earlier message is refused. */
  private async loadAttachments(ids: readonly string[]): Promise<AttachmentRecord[]> {
    const busy = ids.find((id) => this.sending.has(id));
    if (busy !== undefined) throw new ProtocolError('bad_request', `attachment ${busy} was already sent`);
    return this.deps.store.getAttachments(ids);
  }

  private async refill(): Promise<void> {
    const range = await this.deps.sequencer.reserve(this.convId, seqBatch);
    this.seqNext = range.start;
    this.seqEnd = range.end;
  }

  /**
   * Takes the stamped seq for the event, hands it to group commit, and once durable:
   * answers, then fans out. `key` is the idempotency key of an ACKed command.
   */
  private append(item: AppendItem, job: Job, excludeSession: string | null, key: string | null): void {
    const { state, reads } = this.loaded as Loaded;
    const event = item.event;
    this.seqNext = event.seq + 1;
    this.lastTs = event.ts;
    state.sequenced(event);
    if (key !== null) this.dedup.begin(key, event.kind);
    const attached = event.kind === 'message' ? (event.attachments ?? []).map((a) => a.id) : [];
    for (const id of attached) this.sending.add(id);
    this.deps.commits.add(item, (result: AppendResult | Error) => {
      for (const id of attached) this.sending.delete(id);
      if (result instanceof Error) {
        state.uncommitted(event);
        // The store's guard classified, logged and counted the failure (once per batch,
        // at most every few seconds): its answer, with the retry hint, goes to the client.
        const err = result instanceof ProtocolError ? result : new ProtocolError('unavailable', 'could not store the event; retry');
        job.reject(err);
        if (key !== null) this.dedup.fail(key, err);
        return;
      }
      // Each answer goes out before those of the retries waiting on it (settle answers them).
      if (result.status === 'duplicate') {
        // The seq taken for this event stays unused (a gap, as after a crash).
        state.uncommitted(event);
        const original = { seq: result.seq, ts: result.ts, kind: result.kind };
        if (job.cmd.op === 'link_preview') job.resolve(null);
        else answerRetry(original, event.kind, job);
        if (key !== null) this.dedup.settle(key, original);
        return;
      }
      const author = event.kind === 'delete' || event.kind === 'reaction' ? state.message(event.target_seq ?? 0)?.sender : undefined;
      state.committed(item);
      if (job.cmd.op === 'add_members' || job.cmd.op === 'remove_member') job.resolve(state.membersResult(event.seq));
      else job.resolve({ seq: event.seq, ts: event.ts, duplicate: false } satisfies AckResult);
      if (key !== null) this.dedup.settle(key, { seq: event.seq, ts: event.ts, kind: event.kind });
      if (event.kind === 'message') {
        reads.sent(event);
        // Writing is reading: the sender's other devices lose what they were shown.
        this.deps.onRead(event.sender_id, this.convId, event.seq);
      }
      this.deliver(state, event, item.members?.remove ?? [], excludeSession);
      if (event.kind === 'message') this.deps.onMessage(event);
      const notified = notifies(event, state, author);
      if (notified.length > 0) this.deps.onNotify(event, notified, { type: state.conv.type, title: state.conv.title });
      if (attached.length > 0) this.deps.onAttachmentsPosted(event);
      if (event.kind === 'delete') reads.deleted(event, author);
    });
  }

  /** DELIVER to every member (and to members this event removed), serialised once. */
  private deliver(state: ConversationState, event: ConvEvent, removed: readonly string[], excludeSession: string | null): void {
    this.out.publish([...state.members.keys(), ...removed], encodeFrame({ type: 'DELIVER', ...event }), excludeSession);
  }
}

/**
 * Who is notified of an event: every other member of a message; the author of the message
 * a reaction was added to. Edits, deletes, receipts and typing notify no one.
 */
function notifies(event: ConvEvent, state: ConversationState, targetAuthor: string | undefined): string[] {
  if (event.kind === 'message') return [...state.members.keys()].filter((u) => u !== event.sender_id);
  if (event.kind === 'reaction' && event.emoji != null && targetAuthor !== undefined && targetAuthor !== event.sender_id && state.members.has(targetAuthor)) {
    return [targetAuthor];
  }
  return [];
}

function needsSeq(cmd: Command): boolean {
  switch (cmd.op) {
    case 'send':
    case 'react':
    case 'edit':
    case 'delete':
    case 'link_preview':
    case 'attachment_ready':
    case 'add_members':
    case 'remove_member':
    case 'announce':
      return true;
    default:
      return false;
  }
}

/** The message a command refers to, whose state must be known before its rule runs. */
function targetOf(cmd: Command): number | null {
  switch (cmd.op) {
    case 'send':
      return cmd.reply_to ?? null;
    case 'react':
    case 'edit':
    case 'delete':
    case 'link_preview':
    case 'attachment_ready':
      return cmd.target_seq;
    default:
      return null;
  }
}

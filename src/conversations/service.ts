/**
 * The shard's conversation actors: created on first command, evicted when idle, drained
 * at shutdown. Also creates conversations, which needs no actor until its first event.
 */
import { ProtocolError, newId, type Attachment, type ConvEvent, type ConversationType, type LinkPreview, type Limits } from '../protocol';
import type { ConversationRecord, MemberRecord, Store } from '../store';
import type { Sequencer } from '../sequencer';
import type { Bus } from '../bus';
import type { Presence } from '../presence';
import type { Logger, Metrics } from '../observability';
import { ConversationActor } from './actor';
import { CommitQueue } from './commit';
import { MarkerWriter } from './markers';
import { Fanout } from './fanout';
import type { ActorDeps } from './deps';
import type { Command, ResultOf } from './commands';
import { MissingConversations, type MissingConversationsOptions } from './missing';
import { noSuchConversation } from './rules';

export interface ConversationServiceOptions {
  store: Store;
  sequencer: Sequencer;
  bus: Bus;
  presence: Presence;
  limits: Limits;
  logger: Logger;
  metrics: Metrics;
  markerFlushMs: number;
  actorIdleMs: number;
  editWindowMs: number;
  /** Attachments older than this are not sent (they are about to be collected); unlimited when absent. */
  attachmentSendWindowMs?: number;
  /** Link previews for message bodies; null turns them off. */
  linkPreviews: LinkPreviews | null;
  /** The negative cache of conversation lookups; defaults to defaultMissingConversations. */
  missingConversations?: MissingConversationsOptions;
}

/** Finds the first link of a message body and fetches its preview (the linkpreview module). */
export interface LinkPreviews {
  /** null when the body has no link; the promise never rejects (null: no preview). */
  forBody(body: string): Promise<LinkPreview | null> | null;
}

export interface CreateRequest {
  type: ConversationType;
  member_ids: string[];
  title: string | null;
}

export interface Created {
  conversation: ConversationRecord;
  members: MemberRecord[];
  created: boolean;
}

/**
 * The conversation is being handed to another shard (its actor drains here): the caller
 * must route the command again, to the new owner.
 */
export class ConversationMovedError extends Error {
  override name = 'ConversationMovedError';
}

/** How a shard sends a command to the owner of its conversation (the cluster router). */
/** The push module's side of events and reads (see PushService). */
export interface Notifier {
  notify(event: ConvEvent, recipients: readonly string[], conv: { type: 'direct' | 'group'; title: string | null }): void;
  read(userId: string, convId: string, seq: number): void;
}

/** The attachments module's side of a message being stored (see AttachmentService.posted). */
export interface PostedAttachments {
  posted(convId: string, seq: number, sent: readonly Attachment[]): Promise<void>;
}

export type Route = <C extends Command>(cmd: C) => Promise<ResultOf<C>>;

/** Longest wait for an actor to finish its in-flight commands when handing it over. */
const drainTimeoutMs = 10_000;

/** A command waiting for its conversation to be looked up, and how to answer it. */
interface Waiting {
  cmd: Command;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Commands for a conversation that has no actor here while the store is asked whether it exists. */
interface Opening {
  waiting: Waiting[];
  /** Settles once every waiting command went to an actor or was refused. */
  done: Promise<void>;
}

/**
 * What releasing a conversation did: nothing (no actor here), handed over with everything
 * drained, or handed over after the drain deadline (the new owner may see late fan-out).
 */
export type Release = 'none' | 'drained' | 'late';

export class ConversationService {
  private readonly actors = new Map<string, ConversationActor>();
  /** Conversations being looked up before an actor is made for them (see open). */
  private readonly opening = new Map<string, Opening>();
  private readonly missing: MissingConversations;
  private readonly deps: ActorDeps;
  private readonly markers: MarkerWriter;
  private readonly commits: CommitQueue;
  private sweeper: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Conversations taken over from a dead shard, not loaded yet (see ActorDeps.takeRecovery). */
  private readonly recovering = new Set<string>();
  /** Conversations handed (or being handed) to another shard: commands here are refused. */
  private readonly moved = new Set<string>();
  /** Commands this service starts itself (announce, link previews) go through the router. */
  private route: Route = (cmd) => this.dispatch(cmd);
  private attachments: PostedAttachments | null = null;
  private push: Notifier | null = null;

  constructor(private readonly opts: ConversationServiceOptions) {
    this.missing = new MissingConversations(opts.missingConversations);
    this.commits = new CommitQueue(opts.store, opts.metrics);
    this.markers = new MarkerWriter(opts.store, opts.logger, opts.markerFlushMs);
    this.deps = {
      store: opts.store,
      sequencer: opts.sequencer,
      commits: this.commits,
      markers: this.markers,
      fanout: new Fanout(opts.bus, opts.presence),
      limits: opts.limits,
      logger: opts.logger,
      editWindowMs: opts.editWindowMs,
      attachmentSendWindowMs: opts.attachmentSendWindowMs,
      onMessage: (event) => this.previewLink(event),
      onAttachmentsPosted: (event) => this.attachmentsPosted(event),
      onNotify: (event, recipients, conv) => this.push?.notify(event, recipients, conv),
      onRead: (userId, convId, seq) => this.push?.read(userId, convId, seq),
      takeRecovery: (convId) => this.recovering.delete(convId),
    };
  }

  /** Off the send path: the message is durable and ACKed before its link is fetched. */
  private previewLink(event: ConvEvent): void {
    const pending = this.opts.linkPreviews?.forBody(event.body ?? '');
    if (!pending) return;
    void pending.then((preview) => {
      if (preview === null || this.stopped) return;
      this.route({ op: 'link_preview', conv_id: event.conv_id, user_id: event.sender_id, target_seq: event.seq, preview }).catch(
        (err: unknown) => this.opts.logger.warn('link preview not stored', { conv_id: event.conv_id, seq: event.seq, err }),
      );
    });
  }

  /** Notifying events and reads go to `push` (src/push), which decides who is pushed. */
  usePush(push: Notifier): void {
    this.push = push;
  }

  /** Sent attachments whose renditions finished before their message was stored are announced by `attachments`. */
  useAttachments(attachments: PostedAttachments): void {
    this.attachments = attachments;
  }

  private attachmentsPosted(event: ConvEvent): void {
    if (this.attachments === null || this.stopped) return;
    this.attachments.posted(event.conv_id, event.seq, event.attachments ?? []).catch((err: unknown) =>
      this.opts.logger.warn('attachment renditions not announced', { conv_id: event.conv_id, seq: event.seq, err }),
    );
  }

  start(): void {
    this.markers.start();
    this.sweeper = setInterval(() => this.evictIdle(), Math.min(30_000, this.opts.actorIdleMs));
    this.sweeper.unref();
  }

  /** Sends the commands this service starts itself through `route` (set by a cluster router). */
  useRoute(route: Route): void {
    this.route = route;
  }

  /** Runs a command on the conversation's actor (this shard must own the conversation). */
  dispatch<C extends Command>(cmd: C): Promise<ResultOf<C>> {
    // Stopping: nothing may be sequenced after the drain below, or a new owner could sequence
    // ahead of it; a cluster router retries the command on the next owner.
    if (this.stopped) return Promise.reject(new ConversationMovedError(`shard stopping; ${cmd.conv_id} moves to another shard`));
    if (this.moved.has(cmd.conv_id)) return Promise.reject(new ConversationMovedError(`${cmd.conv_id} moved to another shard`));
    const actor = this.actors.get(cmd.conv_id);
    if (actor) return actor.enqueue(cmd);
    return this.open(cmd) as Promise<ResultOf<C>>;
  }

  /**
   * The first command for a conversation with no actor here. An actor is made only once
   * the store says the conversation exists: any client may name any id, and an actor per
   * id named (it used to live until evicted, minutes later) let random ids fill the heap.
   * Commands that arrive during the lookup wait with it and reach the actor in arrival order.
   */
  private open(cmd: Command): Promise<unknown> {
    const convId = cmd.conv_id;
    // An announce follows the conversation's creation, possibly on another shard: whatever
    // this shard remembered about the id is stale.
    if (cmd.op === 'announce') this.missing.forget(convId);
    else if (this.missing.has(convId)) {
      // The router may have marked it just now (its shard died): nothing will load it.
      this.recovering.delete(convId);
      return Promise.reject(noSuchConversation());
    }
    return new Promise((resolve, reject) => {
      const opening = this.opening.get(convId);
      if (opening) {
        opening.waiting.push({ cmd, resolve, reject });
        return;
      }
      const started: Opening = { waiting: [{ cmd, resolve, reject }], done: Promise.resolve() };
      this.opening.set(convId, started);
      started.done = this.lookUp(convId, started);
    });
  }

  /** Answers the commands of `opening`: each goes to a new actor, or is refused, in order. */
  private async lookUp(convId: string, opening: Opening): Promise<void> {
    const { waiting } = opening;
    try {
      while (waiting.length > 0) {
        // Only the commands that were waiting before the store was asked may be refused by
        // its answer: one that came later may follow a creation (an announce does).
        const asked = waiting.length;
        let conv: ConversationRecord | null;
        try {
          conv = await this.opts.store.getConversation(convId);
        } catch (err) {
          // A guarded store's failure is already classified, logged and counted (with its retry hint).
          if (!(err instanceof ProtocolError)) this.opts.logger.error('conversation lookup failed', { conv_id: convId, err });
          const unavailable = err instanceof ProtocolError ? err : new ProtocolError('unavailable', 'could not load the conversation; retry');
          for (const w of waiting.splice(0)) w.reject(unavailable);
          return;
        }
        if (conv !== null) {
          // Made even when stopping or moved meanwhile: these commands were accepted before,
          // and stop() and release() wait for them as for any accepted command.
          const actor = new ConversationActor(convId, this.deps, conv);
          this.actors.set(convId, actor);
          this.opts.metrics.liveActors.set(this.actors.size);
          for (const w of waiting.splice(0)) actor.enqueue(w.cmd).then(w.resolve, w.reject);
          return;
        }
        this.missing.add(convId);
        // A dead shard's conversation is marked before its first command: none to recover.
        this.recovering.delete(convId);
        for (const w of waiting.splice(0, asked)) w.reject(noSuchConversation());
      }
    } finally {
      this.opening.delete(convId);
    }
  }

  /** Creates a conversation (direct ones are deduplicated per pair) and announces it. */
  async create(creatorId: string, req: CreateRequest): Promise<Created> {
    const others = [...new Set(req.member_ids)].filter((u) => u !== creatorId);
    if (req.type === 'direct' && others.length !== 1) {
      throw new ProtocolError('bad_request', 'a direct conversation has exactly one other member');
    }
    if (others.length + 1 > this.opts.limits.maxGroupMembers) {
      throw new ProtocolError('bad_request', `a group has at most ${this.opts.limits.maxGroupMembers} members`);
    }
    // A deleted account is nobody to talk to.
    const found = (await this.opts.store.getUsers(others)).filter((u) => u.deleted_at === null);
    if (found.length !== others.length) {
      const known = new Set(found.map((u) => u.user_id));
      throw new ProtocolError('not_found', `unknown user ${others.find((u) => !known.has(u))}`);
    }
    const now = Date.now();
    const { conversation, created } = await this.opts.store.createConversation({
      conv_id: newId('c'),
      type: req.type,
      title: req.type === 'group' ? req.title : null,
      created_at: now,
      members: [
        { user_id: creatorId, role: req.type === 'group' ? 'admin' : 'member' },
        ...others.map((user_id) => ({ user_id, role: 'member' as const })),
      ],
    });
    this.missing.forget(conversation.conv_id);
    if (created) await this.route({ op: 'announce', conv_id: conversation.conv_id, user_id: creatorId });
    const [conv, members] = await Promise.all([
      this.opts.store.getConversation(conversation.conv_id),
      this.opts.store.getMembers(conversation.conv_id),
    ]);
    return { conversation: conv ?? conversation, members, created };
  }

  /** The conversation's previous owner died: its actor here republishes recent events on load. */
  markRecovering(convId: string): void {
    if (!this.actors.has(convId)) this.recovering.add(convId);
  }

  hasActor(convId: string): boolean {
    return this.actors.has(convId);
  }

  /**
   * Hands a conversation over: refuses new commands for it, waits until its actor has
   * answered everything accepted (events committed, ACKs sent, fan-out taken by the bus),
   * writes its markers, and drops it, so the new owner loads the same state from the store.
   */
  async release(convId: string): Promise<Release> {
    this.moved.add(convId);
    // Commands accepted before the move that wait for the lookup are answered here first.
    await this.opening.get(convId)?.done;
    const actor = this.actors.get(convId);
    if (!actor) return 'none';
    const deadline = Date.now() + drainTimeoutMs;
    while (!actor.idle && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    // Its last DELIVERs must be in the bus before the new owner publishes any of its own:
    // fan-out lags commit (it locates gateways first), and a lagging chain would let the
    // new owner's events overtake them (devices drop what arrives below their high seq).
    let late = !actor.idle;
    await within(actor.settled().then(() => this.opts.bus.flush()), deadline, () => {
      late = true;
      this.opts.logger.warn('handover: fan-out not flushed in time; handing over anyway', { conv_id: convId });
    });
    await this.markers.flush();
    if (this.actors.get(convId) === actor) this.actors.delete(convId);
    this.opts.metrics.liveActors.set(this.actors.size);
    return late ? 'late' : 'drained';
  }

  /** After a ring change: releases what this shard no longer owns, accepts what it owns. */
  async rebalance(owns: (convId: string) => boolean): Promise<Release[]> {
    for (const convId of this.moved) if (owns(convId)) this.moved.delete(convId);
    return Promise.all([...this.actors.keys()].filter((id) => !owns(id)).map((id) => this.release(id)));
  }

  /** Writes pending read markers now (before reads that must see them). */
  flushMarkers(): Promise<void> {
    return this.markers.flush();
  }

  get liveActors(): number {
    return this.actors.size;
  }

  /** Ids in the negative cache of conversation lookups (bounded by its maxEntries). */
  get missingCached(): number {
    return this.missing.size;
  }

  private evictIdle(): void {
    const cutoff = Date.now() - this.opts.actorIdleMs;
    for (const [id, actor] of this.actors) {
      if (actor.idle && actor.lastActive < cutoff) this.actors.delete(id);
    }
    this.opts.metrics.liveActors.set(this.actors.size);
  }

  /**
   * Refuses new commands, lets every accepted one finish (a mailbox may still be waiting
   * for a load or a seq range), drains group commit and marker writes, and waits until
   * every DELIVER left. Call after the gateway stopped accepting frames.
   */
  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.stopped = true;
    const deadline = Date.now() + drainTimeoutMs;
    const busy = () => this.opening.size > 0 || [...this.actors.values()].some((a) => !a.idle);
    while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await this.commits.drain();
    await this.markers.stop();
    // Fan-out runs after commit, chained per actor: wait until every DELIVER left.
    await within(Promise.all([...this.actors.values()].map((a) => a.settled())), deadline, () =>
      this.opts.logger.warn('stop: fan-out not finished in time', {}),
    );
  }
}

/** Waits for `work` until `deadline` (ms); past it, tells `late` and goes on (a stalled bus must not hold a handover forever). */
async function within(work: Promise<unknown>, deadline: number, late: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()))));
  const outcome = await Promise.race([work.then(() => 'done' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'late') late();
}

/**
 * The distributed router: finds each conversation's owner on the ring, runs the command
 * locally or sends it over the shard link, and retries while the ring settles (a shard
 * joined, left or died). Also the shard's side of links: commands and handovers from peers.
 */
import { ConversationMovedError, type Command, type ConversationService, type ResultOf } from '../conversations';
import { ProtocolError } from '../protocol';
import type { Logger } from '../observability';
import type { Router } from './index';
import { LinkDownError, NotOwnerError, type LinkHandler } from './links';
import type { ShardTransport } from './transport';
import type { Membership } from './membership';
import { Ring } from './ring';
import type { RingMetrics } from './metrics';

export interface ClusterRouterOptions {
  selfId: string;
  membership: Membership;
  /** Shard links or Redis request/reply (CLUSTER_TRANSPORT). */
  links: ShardTransport;
  conversations: ConversationService;
  logger: Logger;
  /** How long a command keeps being retried while its owner is unknown or unreachable. */
  retryMs: number;
  metrics: RingMetrics;
  /** What a peer is answered for a failure here that is not a ProtocolError (counted and logged here, on the owner). */
  refusal: (err: unknown, where: string) => ProtocolError;
}

export class ClusterRouter implements Router, LinkHandler {
  /** The ring before the last change: who may still hold an actor this shard now owns. */
  private previous: Ring | null = null;
  private readonly takeovers = new Map<string, Promise<void>>();
  /** Stopping: commands from peers are refused so they retry on the next owner. */
  private draining = false;

  constructor(private readonly opts: ClusterRouterOptions) {
    opts.membership.on('change', (ring: Ring, previous: Ring) => this.onRingChange(ring, previous));
    opts.conversations.useRoute((cmd) => this.dispatch(cmd));
  }

  async dispatch<C extends Command>(cmd: C): Promise<ResultOf<C>> {
    const { selfId, membership, links } = this.opts;
    const deadline = Date.now() + this.opts.retryMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const ring = membership.ring;
        if (ring.empty) throw new LinkDownError('no shard in the ring yet');
        const owner = ring.owner(cmd.conv_id);
        if (owner === selfId) return await this.local(cmd);
        const info = membership.info(owner);
        if (!info) throw new LinkDownError(`no address for shard ${owner}`);
        return (await links.command(info, cmd)) as ResultOf<C>;
      } catch (err) {
        if (!isRetryable(err)) throw err;
        if (Date.now() > deadline) {
          this.opts.logger.warn('command not routed in time', { conv_id: cmd.conv_id, op: cmd.op, err });
          throw new ProtocolError('unavailable', 'the conversation is moving between shards; retry', 1000);
        }
        // Someone's ring is stale, or a shard died: look again, then retry.
        await membership.refresh();
        await sleep(Math.min(20 * 2 ** attempt, 500));
      }
    }
  }

  /** Refuses peers' commands from now on (graceful stop; see server.ts). */
  drain(): void {
    this.draining = true;
  }

  /** A command from a peer: run it only if this shard owns the conversation by its own ring. */
  async command(cmd: Command): Promise<unknown> {
    if (this.draining) throw new NotOwnerError(`shard ${this.opts.selfId} is leaving`);
    if (this.opts.membership.ring.owner(cmd.conv_id) !== this.opts.selfId) {
      throw new NotOwnerError(`shard ${this.opts.selfId} does not own ${cmd.conv_id}`);
    }
    try {
      return await this.local(cmd);
    } catch (err) {
      if (err instanceof ConversationMovedError || err instanceof NotOwnerError) throw err instanceof NotOwnerError ? err : new NotOwnerError(err.message);
      // An unguarded engine's outage (the bus flushing, membership refreshing) is
      // `unavailable` with its hint for the peer too, and is counted where it happened.
      throw this.opts.refusal(err, 'peer');
    }
  }

  /** A peer took the conversation over by its ring: hand the actor over if this ring agrees. */
  async release(convId: string): Promise<void> {
    const { membership, selfId, conversations } = this.opts;
    if (membership.ring.owner(convId) === selfId) await membership.refresh();
    if (membership.ring.owner(convId) === selfId) throw new NotOwnerError(`shard ${selfId} still owns ${convId}`);
    this.opts.metrics.released([await conversations.release(convId)]);
  }

  private async local<C extends Command>(cmd: C): Promise<ResultOf<C>> {
    const { conversations } = this.opts;
    if (!conversations.hasActor(cmd.conv_id)) await this.takeOver(cmd.conv_id);
    return conversations.dispatch(cmd);
  }

  /**
   * Before the first command of a conversation this shard gained, the previous owner
   * drains and drops its actor, so events are sequenced by one actor at a time and the
   * new one loads every committed event. A dead previous owner has nothing to drain.
   */
  private takeOver(convId: string): Promise<void> {
    const { selfId, membership, links, logger, metrics } = this.opts;
    const before = this.previous?.empty === false ? this.previous.owner(convId) : selfId;
    if (before === selfId) return Promise.resolve();
    const info = membership.info(before);
    if (!info) {
      // The previous owner left the ring without handing over: it died.
      this.opts.conversations.markRecovering(convId);
      metrics.tookOver('previous_gone');
      return Promise.resolve();
    }
    let pending = this.takeovers.get(convId);
    if (!pending) {
      pending = links
        .release(info, convId)
        .then(
          () => metrics.tookOver('handed_over'),
          (err: unknown) => {
            if (err instanceof NotOwnerError) throw err; // its ring says it still owns it: route again
            logger.warn('previous owner did not hand over; taking over anyway', { conv_id: convId, shard: before, err });
            this.opts.conversations.markRecovering(convId);
            metrics.tookOver('unanswered');
          },
        )
        .finally(() => {
          this.takeovers.delete(convId);
          metrics.setWaiting(this.takeovers.size);
        });
      this.takeovers.set(convId, pending);
      metrics.setWaiting(this.takeovers.size);
    }
    return pending;
  }

  private onRingChange(ring: Ring, previous: Ring): void {
    const { selfId, links, conversations, logger, metrics } = this.opts;
    metrics.changed(ring);
    // A shard's first ring (it just joined, or just started) has no "before": the owners
    // before it joined are the same ring without it, and they must hand over what moves
    // here, or this shard would sequence beside an old owner still draining its commands.
    this.previous = previous.empty ? new Ring(ring.shards.filter((s) => s !== selfId)) : previous;
    previous = this.previous;
    // Once every old owner has drained (they give up after the drain timeout, well inside
    // this), new actors load straight from the store without asking anyone.
    const forget = setTimeout(() => {
      if (this.previous === previous) this.previous = null;
    }, 2 * this.opts.retryMs);
    forget.unref();
    links.retain(new Set(ring.shards.filter((s) => s !== selfId)));
    logger.info('ring changed', { version: ring.version, shards: ring.shards });
    conversations.rebalance((convId) => ring.owner(convId) === selfId).then(
      (released) => metrics.released(released),
      (err: unknown) => logger.error('rebalance failed', { err }),
    );
  }
}

function isRetryable(err: unknown): boolean {
  return err instanceof NotOwnerError || err instanceof LinkDownError || err instanceof ConversationMovedError;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

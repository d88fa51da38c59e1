/**
 * Ring state in /metrics (cluster mode only): what an operator needs to tell a settled
 * cluster from one that is still moving conversations, without reading every shard's
 * /healthz. Registered by the router, so a single shard shows no ring.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Release } from '../conversations';
import type { Ring } from './ring';

/** How a takeover ended: the previous owner drained, it was gone, or it did not answer. */
export type Takeover = 'handed_over' | 'previous_gone' | 'unanswered';

export class RingMetrics {
  private readonly members: Gauge;
  private readonly version: Gauge<'version'>;
  private readonly share: Gauge;
  private readonly changes: Counter;
  private readonly handovers: Counter<'direction' | 'result'>;
  private readonly waiting: Gauge;

  constructor(
    registry: Registry,
    private readonly selfId: string,
  ) {
    const registers = [registry];
    this.members = new Gauge({ name: 'chat_ring_members', help: "shards in this shard's ring", registers });
    this.version = new Gauge({
      name: 'chat_ring_version_info',
      help: "this shard's ring version (1 on the current one): shards agree when they show the same",
      labelNames: ['version'],
      registers,
    });
    this.share = new Gauge({ name: 'chat_ring_owned_share', help: 'fraction of conversations (hash space) this shard owns', registers });
    this.changes = new Counter({ name: 'chat_ring_changes_total', help: 'ring changes seen by this shard', registers });
    this.handovers = new Counter({
      name: 'chat_handovers_total',
      help: 'conversations handed to another shard (out: drained or late) or taken from one (in: handed_over, previous_gone, unanswered)',
      labelNames: ['direction', 'result'],
      registers,
    });
    this.waiting = new Gauge({ name: 'chat_handovers_waiting', help: 'takeovers waiting for the previous owner to drain', registers });
  }

  ring(ring: Ring): void {
    this.members.set(ring.shards.length);
    this.version.reset();
    this.version.set({ version: ring.version }, 1);
    this.share.set(ring.share(this.selfId));
  }

  changed(ring: Ring): void {
    this.changes.inc();
    this.ring(ring);
  }

  released(results: readonly Release[]): void {
    for (const r of results) if (r !== 'none') this.handovers.inc({ direction: 'out', result: r });
  }

  tookOver(result: Takeover): void {
    this.handovers.inc({ direction: 'in', result });
  }

  setWaiting(n: number): void {
    this.waiting.set(n);
  }
}

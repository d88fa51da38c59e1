/**
 * Fan-out: one bus message per gateway that holds sessions of the recipients, carrying
 * the frame serialised once. Cost is O(active gateways) bus messages per event.
 */
import { gatewayTopic, type Bus } from '../bus';
import type { EncodedFrame } from '../protocol';
import type { Presence } from '../presence';
import type { Logger } from '../observability';

export class Fanout {
  constructor(
    private readonly bus: Bus,
    private readonly presence: Presence,
  ) {}

  /** Sends `frame` to every online session of `users`, except `excludeSession`. */
  async publish(users: string[], frame: EncodedFrame, excludeSession: string | null): Promise<void> {
    if (users.length === 0) return;
    const byGateway = await this.presence.locate(users);
    for (const [gatewayId, onGateway] of byGateway) {
      this.bus.publish(gatewayTopic(gatewayId), {
        t: 'frames',
        users: onGateway,
        frame: frame.text,
        frame_type: frame.type,
        exclude_session: excludeSession,
      });
    }
  }
}

/**
 * One conversation's outgoing frames, in the order its actor produced them: each task
 * chains on the previous one, so DELIVERs, RECEIPTs and READ_SYNCs leave in seq and
 * command order even though locating gateways is asynchronous.
 */
export class OrderedFanout {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly fanout: Fanout,
    private readonly logger: Logger,
    private readonly convId: string,
  ) {}

  /** Publishes one serialised frame to the gateways holding `users`, in order. */
  publish(users: string[], frame: EncodedFrame, excludeSession: string | null = null): void {
    this.after(() => this.fanout.publish(users, frame, excludeSession));
  }

  /** Runs `task` (which may read the store, then publish) in order with the frames. */
  after(task: (fanout: Fanout) => Promise<void>): void {
    this.chain = this.chain
      .then(() => task(this.fanout))
      .catch((err: unknown) => {
        this.logger.error('fan-out failed', { conv_id: this.convId, err });
      });
  }

  /** Resolves when everything queued so far has been published. */
  settled(): Promise<void> {
    return this.chain;
  }
}

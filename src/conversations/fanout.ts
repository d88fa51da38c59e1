/**
 * Fan-out: one bus message per gateway that holds sessions of the recipients, carrying
 * the frame serialised once. Cost is O(active gateways) bus messages per event.
 */
import { gatewayTopic, type Bus } from '../bus';
import type { Presence } from '../presence';

export class Fanout {
  constructor(
    private readonly bus: Bus,
    private readonly presence: Presence,
  ) {}

  /** Sends `frame` to every online session of `users`, except `excludeSession`. */
  async publish(users: string[], frame: string, excludeSession: string | null): Promise<void> {
    if (users.length === 0) return;
    const byGateway = await this.presence.locate(users);
    for (const [gatewayId, onGateway] of byGateway) {
      this.bus.publish(gatewayTopic(gatewayId), { t: 'frames', users: onGateway, frame, exclude_session: excludeSession });
    }
  }
}

import type { Bus, BusHandler, BusMessage } from './index';

/**
 * In-process bus (see the Bus contract in index.ts). Delivery is synchronous: the
 * publisher's call returns after every handler ran, which keeps per-topic order trivially
 * and costs no allocation per message.
 */
export class MemoryBus implements Bus {
  private readonly topics = new Map<string, Set<BusHandler>>();

  publish(topic: string, msg: BusMessage): void {
    const handlers = this.topics.get(topic);
    if (!handlers) return;
    for (const handler of handlers) handler(msg);
  }

  /** Active at once: the handler is registered before the returned promise is created. */
  async subscribe(topic: string, handler: BusHandler): Promise<() => void> {
    let handlers = this.topics.get(topic);
    if (!handlers) this.topics.set(topic, (handlers = new Set()));
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0) this.topics.delete(topic);
    };
  }

  /** One process cannot lose a message between publish and handler: nothing to report. */
  onGap(_listener: () => void): void {}

  /** Handlers ran inside publish(): nothing is in flight. */
  async flush(): Promise<void> {}

  connected(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.topics.clear();
  }
}

import { openPubSub, quitRedis, type RedisConnection } from '../redis';
import type { Bus, BusHandler, BusMessage } from './index';

/** The Redis calls RedisBus makes on its publishing connection. */
export interface BusPublisher extends RedisConnection {
  /** Resolves with the number of subscribers reached. */
  publish(channel: string, message: string): Promise<number>;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'ready', listener: () => void): this;
}

/** The Redis calls RedisBus makes on its subscribed connection, which takes no other commands. */
export interface BusSubscriber extends RedisConnection {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  /** 'ready' comes again after a reconnect, once the driver has resubscribed every channel. */
  on(event: 'ready' | 'close', listener: () => void): this;
}

export interface RedisBusOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Prepended to every topic to form the Redis channel, so several deployments (or test runs) can share one Redis. */
  prefix?: string;
  /** Names the connections in CLIENT LIST (`<name>:pub`, `<name>:sub`), e.g. the shard id. */
  connectionName?: string;
  /**
   * Told about failures nobody awaits: a publish dropped while Redis is unreachable (once
   * per outage), a failed UNSUBSCRIBE, a handler that threw, a malformed message.
   */
  onError?: (err: Error) => void;
}

/** Local handlers of one topic, and the SUBSCRIBE that serves all of them. */
interface Topic {
  handlers: Set<BusHandler>;
  active: Promise<unknown>;
}

/**
 * Bus on Redis pub/sub (see the Bus contract in index.ts), for shards that each run one.
 *
 * Two connections: one publishes, one subscribes (a subscribed Redis connection takes no
 * other commands). Per-publisher per-topic order holds because one connection carries
 * every PUBLISH of this instance and Redis delivers in the order it executes them. Each
 * topic is one Redis SUBSCRIBE however many local handlers it has; the last handler
 * leaving unsubscribes. Messages go through Redis even when the subscriber is in the same
 * process: a publisher does not know who listens.
 *
 * Outages: publishes fail fast instead of queueing (a late typing indicator or frame is
 * worse than none; durable state never rides only on the bus), and ioredis reconnects and
 * resubscribes every channel on its own. Whatever was published while a connection was
 * down is lost, as the at-most-once contract allows.
 */
export class RedisBus implements Bus {
  private readonly topics = new Map<string, Topic>();
  private readonly prefix: string;
  private readonly onError: (err: Error) => void;
  private publishFailing = false;
  /** The newest PUBLISH: one connection runs them in order, so its answer vouches for all before it. */
  private lastPublish: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly gapListeners: (() => void)[] = [];
  /** The subscriber lost its connection since it was last ready. */
  private subscriberWasDown = false;

  private constructor(
    private readonly pub: BusPublisher,
    private readonly sub: BusSubscriber,
    opts: RedisBusOptions,
  ) {
    this.prefix = opts.prefix ?? '';
    this.onError = opts.onError ?? (() => {});
    sub.on('message', this.onMessage);
    // Connection errors are also retried by ioredis; without listeners it would print them.
    sub.on('error', this.onConnectionError);
    pub.on('error', this.onConnectionError);
    pub.on('ready', () => (this.publishFailing = false));
    sub.on('close', () => {
      if (!this.closed) this.subscriberWasDown = true;
    });
    // ioredis has resubscribed by the time 'ready' fires after a reconnect.
    sub.on('ready', () => {
      if (!this.subscriberWasDown || this.closed) return;
      this.subscriberWasDown = false;
      for (const listener of this.gapListeners) listener();
    });
  }

  onGap(listener: () => void): void {
    this.gapListeners.push(listener);
  }

  /** Opens both connections; resolves once they are ready. */
  static async connect(opts: RedisBusOptions): Promise<RedisBus> {
    // The publisher fails fast while disconnected; the subscriber's SUBSCRIBE made during an
    // outage completes when Redis is back (see openPubSub).
    const { pub, sub } = await openPubSub<BusPublisher, BusSubscriber>(opts.url, opts.connectionName ?? 'bus');
    return new RedisBus(pub, sub, opts);
  }

  publish(topic: string, msg: BusMessage): void {
    if (this.closed) return;
    this.lastPublish = this.pub.publish(this.prefix + topic, JSON.stringify(msg)).then(
      () => (this.publishFailing = false),
      (err: Error) => {
        if (this.publishFailing) return;
        this.publishFailing = true;
        this.onError(new Error(`bus: publish to ${topic} dropped (${err.message}); further drops are not reported until Redis answers again`));
      },
    );
  }

  async flush(): Promise<void> {
    await this.lastPublish;
  }

  connected(): boolean {
    return !this.closed && this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  async subscribe(topic: string, handler: BusHandler): Promise<() => void> {
    if (this.closed) throw new Error('bus: closed');
    let t = this.topics.get(topic);
    if (!t) {
      t = { handlers: new Set(), active: this.sub.subscribe(this.prefix + topic) };
      this.topics.set(topic, t);
    }
    t.handlers.add(handler);
    try {
      await t.active;
    } catch (err) {
      this.removeHandler(topic, t, handler);
      throw err;
    }
    const topicState = t;
    return () => this.removeHandler(topic, topicState, handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.topics.clear();
    await Promise.all([quitRedis(this.pub), quitRedis(this.sub)]);
  }

  private removeHandler(topic: string, t: Topic, handler: BusHandler): void {
    if (!t.handlers.delete(handler) || t.handlers.size > 0 || this.topics.get(topic) !== t) return;
    this.topics.delete(topic);
    // A later subscribe() to the same topic queues its SUBSCRIBE behind this UNSUBSCRIBE on
    // the same connection, so the channel ends up subscribed.
    if (!this.closed) this.sub.unsubscribe(this.prefix + topic).catch((err: Error) => this.onError(err));
  }

  private readonly onMessage = (channel: string, text: string): void => {
    if (!channel.startsWith(this.prefix)) return;
    const t = this.topics.get(channel.slice(this.prefix.length));
    if (!t) return;
    let msg: BusMessage;
    try {
      msg = JSON.parse(text) as BusMessage;
    } catch (err) {
      this.onError(new Error(`bus: malformed message on ${channel}: ${(err as Error).message}`));
      return;
    }
    for (const handler of t.handlers) {
      try {
        handler(msg);
      } catch (err) {
        this.onError(err as Error);
      }
    }
  };

  private readonly onConnectionError = (err: Error): void => {
    if (!this.closed) this.onError(err);
  };
}

/**
 * Request/reply over Redis pub/sub, the alternative ShardTransport (contract in
 * transport.ts; CLUSTER_TRANSPORT=redis). Each shard subscribes to its request channel
 * `prefix + 'req:' + shardId` and to a reply channel of its own; a request names the
 * caller's reply channel and carries an id the reply repeats. Every request and every
 * answer crosses Redis (two hops each way, where a shard link takes one), but no shard
 * needs to reach another's address: only Redis.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from '../conversations';
import { openPubSub, quitRedis, type RedisConnection } from '../redis';
import type { ShardInfo } from './membership';
import { LinkDownError, answer, replyError, type ShardHandler, type ShardReply, type ShardRequest, type ShardTransport } from './transport';

/** The Redis calls RedisTransport makes on its publishing connection (requests and answers). */
export interface TransportPublisher extends RedisConnection {
  /** Resolves with the number of subscribers reached: 0 means nobody listens on the channel. */
  publish(channel: string, message: string): Promise<number>;
  on(event: 'error', listener: (err: Error) => void): this;
}

/** The Redis calls RedisTransport makes on its subscribed connection (its reply and request channels). */
export interface TransportSubscriber extends RedisConnection {
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

export interface RedisTransportOptions {
  /** redis://host:port[/db] */
  url: string;
  /** REDIS_PREFIX: channels are `${prefix}req:<shard>` and `${prefix}rep:<shard>:<nonce>`. */
  prefix: string;
  selfId: string;
  /** A request unanswered this long fails with LinkDownError. */
  requestTimeoutMs: number;
}

/** A request on a Redis channel: the link request plus where to answer. */
type RedisRequest = ShardRequest & { reply: string };

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The request channel of a shard. */
export const requestChannel = (prefix: string, shardId: string): string => `${prefix}req:${shardId}`;

export class RedisTransport implements ShardTransport {
  private readonly pending = new Map<number, Pending>();
  /** A fresh channel per process: a late answer to a previous incarnation of this shard id finds nobody. */
  private readonly replyChannel: string;
  private readonly requests: string;
  private handler: ShardHandler | null = null;
  private nextId = 1;
  private closed = false;

  private constructor(
    private readonly pub: TransportPublisher,
    private readonly sub: TransportSubscriber,
    private readonly opts: RedisTransportOptions,
  ) {
    this.replyChannel = `${opts.prefix}rep:${opts.selfId}:${randomBytes(6).toString('base64url')}`;
    this.requests = requestChannel(opts.prefix, opts.selfId);
    sub.on('message', this.onMessage);
    // ioredis reconnects and resubscribes on its own; requests meanwhile time out.
    sub.on('error', () => undefined);
    pub.on('error', () => undefined);
  }

  /** Opens both connections and listens for replies; serve() starts taking requests. */
  static async connect(opts: RedisTransportOptions): Promise<RedisTransport> {
    // Requests fail fast while Redis is unreachable (the router retries them); the
    // subscriber keeps retrying without limit and resubscribes (see openPubSub).
    const { pub, sub } = await openPubSub<TransportPublisher, TransportSubscriber>(opts.url, `${opts.selfId}:transport`);
    try {
      const transport = new RedisTransport(pub, sub, opts);
      await sub.subscribe(transport.replyChannel);
      return transport;
    } catch (err) {
      pub.disconnect();
      sub.disconnect();
      throw err;
    }
  }

  /** Takes peers' requests from now on; resolves once Redis confirmed the subscription. */
  async serve(handler: ShardHandler): Promise<void> {
    this.handler = handler;
    await this.sub.subscribe(this.requests);
  }

  command(peer: ShardInfo, cmd: Command): Promise<unknown> {
    return this.request(peer.id, { t: 'cmd', id: 0, cmd, reply: '' });
  }

  async release(peer: ShardInfo, convId: string): Promise<void> {
    await this.request(peer.id, { t: 'release', id: 0, conv_id: convId, reply: '' });
  }

  /** Nothing is held per peer. */
  retain(): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new LinkDownError('shard transport closed'));
    await Promise.all([quitRedis(this.pub), quitRedis(this.sub)]);
  }

  private request(peerId: string, req: RedisRequest): Promise<unknown> {
    if (this.closed) return Promise.reject(new LinkDownError('shard transport closed'));
    const id = this.nextId++;
    const text = JSON.stringify({ ...req, id, reply: this.replyChannel });
    const { requestTimeoutMs } = this.opts;
    return new Promise<unknown>((resolve, reject) => {
      // A peer that hangs is treated like one that died: the router retries elsewhere.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LinkDownError(`shard ${peerId}: no answer over Redis in ${requestTimeoutMs} ms`));
      }, requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.pub.publish(requestChannel(this.opts.prefix, peerId), text).then(
        (receivers) => {
          // Nobody subscribed: the peer is gone (or not started); no need to wait for the timeout.
          if (receivers === 0) this.fail(id, new LinkDownError(`shard ${peerId} is not listening on Redis`));
        },
        (err: Error) => this.fail(id, new LinkDownError(`shard ${peerId}: request not published (${err.message})`)),
      );
    });
  }

  private readonly onMessage = (channel: string, text: string): void => {
    if (channel === this.replyChannel) this.onReply(text);
    else if (channel === this.requests) this.onRequest(text);
  };

  private onRequest(text: string): void {
    const handler = this.handler;
    let req: RedisRequest;
    try {
      req = JSON.parse(text) as RedisRequest;
    } catch {
      return;
    }
    if (!handler || typeof req.reply !== 'string') return;
    void answer(handler, req).then((reply) => {
      // A lost answer shows up as the caller's timeout, as a dropped link does.
      if (!this.closed) this.pub.publish(req.reply, JSON.stringify(reply)).catch(() => undefined);
    });
  }

  private onReply(text: string): void {
    let reply: ShardReply;
    try {
      reply = JSON.parse(text) as ShardReply;
    } catch {
      return;
    }
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    clearTimeout(call.timer);
    if (reply.t === 'ok') call.resolve(reply.result);
    else call.reject(replyError(reply));
  }

  private fail(id: number, err: Error): void {
    const call = this.pending.get(id);
    if (!call) return;
    this.pending.delete(id);
    clearTimeout(call.timer);
    call.reject(err);
  }

  private failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.fail(id, err);
  }
}


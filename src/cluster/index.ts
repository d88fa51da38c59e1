/**
 * Cluster module: which shard owns a conversation, and getting commands to it. With one
 * shard (the embedded default) every conversation is local; the distributed router
 * (consistent-hash ring, a ShardTransport to peers: shard links or Redis request/reply)
 * implements the same interface.
 */
import type { Command, ConversationService, ResultOf } from '../conversations';

/** Routes conversation commands to their owner and brings the answer back. */
export interface Router {
  dispatch<C extends Command>(cmd: C): Promise<ResultOf<C>>;
}

/** Single shard: the owner of every conversation is this process. */
export class LocalRouter implements Router {
  constructor(private readonly conversations: ConversationService) {}

  dispatch<C extends Command>(cmd: C): Promise<ResultOf<C>> {
    return this.conversations.dispatch(cmd);
  }
}

export { Ring } from './ring';
export { Membership, type MembershipRedis, type MembershipTransaction, type ShardInfo } from './membership';
export { LinkDownError, NotOwnerError, type ShardHandler, type ShardTransport } from './transport';
export { LinkPool, LinkServer, linkPath } from './links';
export { RedisTransport, type RedisTransportOptions, type TransportPublisher, type TransportSubscriber } from './redis-transport';
export { ClusterRouter } from './router';
export { RingMetrics, type Takeover } from './metrics';

/**
 * Shard transports: how a command reaches the conversation's owner on another shard and
 * how its answer comes back. Engines side by side: `links.ts` (a direct WebSocket from
 * each shard to each peer, the default) and `redis-transport.ts` (request/reply over Redis
 * pub/sub). CLUSTER_TRANSPORT picks one; README, Performance (S7) says why links is the
 * default.
 *
 * Contract, for every engine:
 * - `command` resolves with what the owner's handler returned, or rejects with
 *   NotOwnerError (the peer's ring says it does not own the conversation: route again),
 *   ProtocolError with the handler's code (the command ran and failed; `internal` for any
 *   other failure), or LinkDownError (the peer is unreachable, went away or did not answer
 *   within the request timeout: the command may or may not have run).
 * - `release` resolves once the peer has drained and dropped the conversation's actor,
 *   with the same errors.
 * - Requests from one shard to one peer reach the peer's handler in the order they were
 *   made (one ordered channel each way).
 */
import type { Command } from '../conversations';
import { ProtocolError, type ErrorCode } from '../protocol';
import type { ShardInfo } from './membership';

/** A peer refused a command because, by its ring, it does not own the conversation. */
export class NotOwnerError extends Error {
  override name = 'NotOwnerError';
}

/** The way to a peer failed (closed, unreachable, no answer): the command may or may not have run. */
export class LinkDownError extends Error {
  override name = 'LinkDownError';
}

/** What a shard does with requests from peers (the cluster router). */
export interface ShardHandler {
  command(cmd: Command): Promise<unknown>;
  /** Drains and drops the conversation's actor so its new owner may load it. */
  release(convId: string): Promise<void>;
}

/** Sends requests to peers and brings their answers back; see the contract above. */
export interface ShardTransport {
  command(peer: ShardInfo, cmd: Command): Promise<unknown>;
  release(peer: ShardInfo, convId: string): Promise<void>;
  /** Forgets peers that left the ring (closes their connections, if any). */
  retain(peerIds: ReadonlySet<string>): void;
  /** Fails pending requests with LinkDownError and closes every connection. */
  close(): Promise<void>;
}

/** A request on the wire (JSON); `id` correlates it with its reply on the caller's channel. */
export type ShardRequest = { t: 'cmd'; id: number; cmd: Command } | { t: 'release'; id: number; conv_id: string };

export type ShardReply =
  | { t: 'ok'; id: number; result: unknown }
  | { t: 'err'; id: number; code: ErrorCode | 'not_owner'; message: string; retry_after_ms?: number };

/** Runs a peer's request on the handler; always resolves, with the reply to send back. */
export function answer(handler: ShardHandler, req: ShardRequest): Promise<ShardReply> {
  const work = req.t === 'cmd' ? handler.command(req.cmd) : handler.release(req.conv_id).then(() => null);
  return work.then(
    (result): ShardReply => ({ t: 'ok', id: req.id, result }),
    (err: unknown) => errorReply(req.id, err),
  );
}

/** The one mapping from a handler's failure to the wire; internal details stay on the owner. */
export function errorReply(id: number, err: unknown): ShardReply {
  if (err instanceof NotOwnerError) return { t: 'err', id, code: 'not_owner', message: err.message };
  // The retry hint crosses too: a store outage on the owner is answered as on any shard.
  if (err instanceof ProtocolError) {
    return err.retryAfterMs === null ? { t: 'err', id, code: err.code, message: err.message } : { t: 'err', id, code: err.code, message: err.message, retry_after_ms: err.retryAfterMs };
  }
  return { t: 'err', id, code: 'internal', message: 'internal error' };
}

/** The caller's side of errorReply. */
export function replyError(reply: Extract<ShardReply, { t: 'err' }>): Error {
  return reply.code === 'not_owner' ? new NotOwnerError(reply.message) : new ProtocolError(reply.code, reply.message, reply.retry_after_ms ?? null);
}

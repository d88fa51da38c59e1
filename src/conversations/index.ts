/**
 * Conversations module: actors (one per conversation: sequencer range, member cache,
 * dedup window, fan-out), group commit, coalesced markers, and the read paths.
 */
export { ConversationService, type ConversationServiceOptions, type CreateRequest, type Created } from './service';
export { ConversationReads, type Replay } from './reads';
export type * from './commands';

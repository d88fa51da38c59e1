/**
 * Conversations module: actors (one per conversation: sequencer range, member cache,
 * dedup window, fan-out), group commit, coalesced markers, and the read paths.
 */
export {
  ConversationMovedError,
  ConversationService,
  type ConversationServiceOptions,
  type CreateRequest,
  type Created,
  type LinkPreviews,
  type Notifier,
  type PostedAttachments,
  type Release,
  type Route,
} from './service';
export { ConversationReads, type Replay, type Thread } from './reads';
export type * from './commands';

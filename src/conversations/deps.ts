import type { ConvEvent, Limits } from '../protocol';
import type { Store } from '../store';
import type { Sequencer } from '../sequencer';
import type { Logger } from '../observability';
import type { CommitQueue } from './commit';
import type { MarkerWriter } from './markers';
import type { Fanout } from './fanout';

/** What every actor of a shard shares. Built once by ConversationService. */
export interface ActorDeps {
  store: Store;
  sequencer: Sequencer;
  commits: CommitQueue;
  markers: MarkerWriter;
  fanout: Fanout;
  limits: Limits;
  logger: Logger;
  /** How long after sending its author may edit a message. */
  editWindowMs: number;
  /** See Stamp.attachmentSendWindowMs. */
  attachmentSendWindowMs?: number;
  /** Called once per message event after it is durable (link previews start here). */
  onMessage: (event: ConvEvent) => void;
  /**
   * Called once per notifying event after it is durable (a message; a reaction, for the
   * author of its target): push decides which devices of `recipients` hear of it.
   */
  onNotify: (event: ConvEvent, recipients: readonly string[], conv: { type: 'direct' | 'group'; title: string | null }) => void;
  /** A member's read marker moved (push retracts what their other devices were shown). */
  onRead: (userId: string, convId: string, seq: number) => void;
  /** Called once per message with attachments after it is durable (renditions made meanwhile are announced). */
  onAttachmentsPosted: (event: ConvEvent) => void;
  /**
   * True once for a conversation taken over from a shard that died: its recent events may
   * not have been fanned out, so the new actor publishes them again when it loads.
   */
  takeRecovery: (convId: string) => boolean;
}

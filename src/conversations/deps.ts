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
  /** Called once per message event after it is durable (link previews start here). */
  onMessage: (event: ConvEvent) => void;
}

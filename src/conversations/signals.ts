/**
 * Commands that add no event to the log: typing (relayed to the other members' sessions,
 * never stored) and mute (a member's own setting, written straight to the store and
 * synced to their sessions).
 */
import { ProtocolError, MUTED_FOREVER, encodeFrame } from '../protocol';
import type { Store } from '../store';
import type { Logger } from '../observability';
import type { MuteCommand, MuteResult, TypingCommand } from './commands';
import type { OrderedFanout } from './fanout';
import type { ConversationState } from './state';
import { noSuchConversation } from './rules';

/** TYPING: relayed to the other members' online sessions, in the actor's fan-out order; never stored. */
export function typing(state: ConversationState, cmd: TypingCommand, out: OrderedFanout): void {
  out.publish(state.others(cmd.user_id), encodeFrame({ type: 'TYPING', conv_id: state.convId, user_id: cmd.user_id, state: cmd.state }));
}

/**
 * Stores the mute and answers with MUTE_SYNC to every session of the member. Not awaited
 * by the mailbox: a mute orders nothing else in the conversation.
 */
export async function mute(state: ConversationState, cmd: MuteCommand, store: Store, out: OrderedFanout, logger: Logger): Promise<MuteResult> {
  const until = cmd.until;
  let ok: boolean;
  try {
    ok = await store.setMute(state.convId, cmd.user_id, until);
  } catch (err) {
    logger.error('mute failed', { conv_id: state.convId, err });
    throw new ProtocolError('unavailable', 'could not store the mute; retry');
  }
  if (!ok) throw noSuchConversation();
  out.publish([cmd.user_id], encodeFrame({ type: 'MUTE_SYNC', conv_id: state.convId, muted_until: until }));
  return { muted_until: until, muted: until !== null && (until === MUTED_FOREVER || until > Date.now()) };
}

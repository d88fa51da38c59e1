/**
 * Commands that add no event to the log: typing (relayed to the other members' sessions,
 * never stored) and mute (a member's own setting, written straight to the store and
 * synced to their sessions).
 */
import { ProtocolError, MUTED_FOREVER, encodeFrame } from '../protocol';
import type { Store } from '../store';
import type { Logger } from '../observability';
import type { MuteCommand, MuteResult, TypingCommand, TypingResult } from './commands';
import type { OrderedFanout } from './fanout';
import type { ConversationState } from './state';
import { noSuchConversation } from './rules';

/**
 * A repeated "started" is relayed at most this often. Receivers drop an indicator 4 s after
 * the last relay; a sender refreshing at any interval under this gets a relay at least every
 * 2 × 1.5 = 3 s, one refreshing less often gets every refresh relayed.
 */
export const typingRelayEveryMs = 1500;

/**
 * TYPING: relayed to the other members' online sessions, in the actor's fan-out order;
 * never stored. Coalesced here, where every device of every member arrives whatever its
 * shard: a "started" already relayed less than typingRelayEveryMs ago, or a "stopped" with
 * nothing started, changes nothing on the receivers' screens and goes nowhere. Returns
 * how many members it went to, which the sender pays for.
 */
export function typing(state: ConversationState, cmd: TypingCommand, out: OrderedFanout, now: number): TypingResult {
  const since = state.typingSince.get(cmd.user_id);
  if (cmd.state === 'started') {
    if (since !== undefined && now - since < typingRelayEveryMs) return { relayed: 0 };
    state.typingSince.set(cmd.user_id, now);
  } else {
    if (since === undefined) return { relayed: 0 };
    state.typingSince.delete(cmd.user_id);
  }
  const to = state.others(cmd.user_id);
  out.publish(to, encodeFrame({ type: 'TYPING', conv_id: state.convId, user_id: cmd.user_id, state: cmd.state }));
  return { relayed: to.length };
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
    // A guarded store's failure is already classified, logged and counted.
    if (err instanceof ProtocolError) throw err;
    logger.error('mute failed', { conv_id: state.convId, err });
    throw new ProtocolError('unavailable', 'could not store the mute; retry');
  }
  if (!ok) throw noSuchConversation();
  out.publish([cmd.user_id], encodeFrame({ type: 'MUTE_SYNC', conv_id: state.convId, muted_until: until }));
  return { muted_until: until, muted: until !== null && (until === MUTED_FOREVER || until > Date.now()) };
}

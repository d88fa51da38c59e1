/**
 * What a notification says. A burst (the events one recipient got in one conversation
 * within the batching window) becomes one notification, tagged with the conversation so a
 * newer one replaces it on the device instead of stacking:
 * - direct: "Bob" / "hi", or "Bob" / "5 messages";
 * - group: "Lunch crew" / "Bob: see you", or "Lunch crew" / "7 new messages";
 * - a reaction to your message: "Bob" / "Reacted 👍 to your message";
 * - with previews off (the user's `push_previews`): "New message", no sender, no text.
 */

import type { PushPayload } from '../protocol';

/** One recipient's events in one conversation within the window. */
export interface Burst {
  user_id: string;
  conv_id: string;
  conv_type: 'direct' | 'group';
  conv_title: string | null;
  first_seq: number;
  last_seq: number;
  /** Notifying events in the burst. */
  count: number;
  /** The last event's sender; `senders` is 1 while they were all from one sender, else 2. */
  sender_id: string;
  senders: number;
  /** The last message's preview text ('' for a reaction). */
  text: string;
  /** The last event's emoji when it was a reaction. */
  reaction: string | null;
  /** Some message of the burst mentions the recipient (breaks through a mute). */
  mentioned: boolean;
}

/** The payload every provider carries (Web Push encrypted, FCM as data): the protocol's PushPayload. */
export type Notification = PushPayload;

const maxBody = 180;

export function buildNotification(b: Burst, ctx: { previews: boolean; senderName: string; badge: number }): Notification {
  const base = { kind: 'message' as const, conv_id: b.conv_id, seq: b.last_seq, badge: ctx.badge, tag: b.conv_id };
  if (!ctx.previews) return { ...base, title: 'New message', body: b.count > 1 ? `${b.count} new messages` : '' };
  const one = b.reaction !== null ? `Reacted ${b.reaction} to your message` : b.text;
  if (b.conv_type === 'direct') {
    return { ...base, title: ctx.senderName, body: clip(b.count === 1 ? one : `${b.count} messages`) };
  }
  const title = b.conv_title ?? 'Group';
  return { ...base, title, body: clip(b.count === 1 ? `${ctx.senderName}: ${one}` : `${b.count} new messages`) };
}

function clip(text: string): string {
  const chars = [...text];
  return chars.length <= maxBody ? text : `${chars.slice(0, maxBody - 1).join('')}…`;
}

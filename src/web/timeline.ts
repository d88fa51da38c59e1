/**
 * How a conversation's messages are laid out, as Messenger does: a heading where a day
 * starts ("Today", "Yesterday", a date), the time where the talk resumes after a pause,
 * and runs of one sender's messages grouped (one name and one avatar, tighter spacing).
 * Pure: the message list renders what this returns.
 */
import { clockTime, dayLabel, startOfDay } from './format';

/** A pause this long starts a new group even from the same sender. */
export const groupGapMs = 5 * 60_000;
/** A pause this long (within a day) is marked with the time the talk resumed. */
export const timeGapMs = 20 * 60_000;

/** Where a message sits in its sender's run. */
export type GroupPosition = 'single' | 'first' | 'middle' | 'last';

export interface TimelineEntry<M> {
  m: M;
  /** A day heading goes before this message. */
  day: string | null;
  /** A time heading goes before this message (never with a day heading). */
  time: string | null;
  position: GroupPosition;
}

/** The fields the layout looks at. */
export interface Timed {
  sender_id: string;
  ts: number;
}

export function timeline<M extends Timed>(list: readonly M[], now: number = Date.now()): TimelineEntry<M>[] {
  const out: TimelineEntry<M>[] = [];
  // Whether each message starts a group; a group ends where the next one starts.
  const starts: boolean[] = [];
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    const prev = i > 0 ? list[i - 1] : undefined;
    const newDay = !prev || startOfDay(prev.ts) !== startOfDay(m.ts);
    // Clocks differ between devices: a message stamped before its predecessor is no pause.
    const gap = prev ? m.ts - prev.ts : 0;
    const day = newDay ? dayLabel(m.ts, now) : null;
    const time = !newDay && gap >= timeGapMs ? clockTime(m.ts) : null;
    starts.push(!prev || newDay || time !== null || prev.sender_id !== m.sender_id || gap >= groupGapMs);
    out.push({ m, day, time, position: 'single' });
  }
  for (let i = 0; i < out.length; i++) {
    const first = starts[i];
    const last = i === out.length - 1 || starts[i + 1];
    out[i].position = first && last ? 'single' : first ? 'first' : last ? 'last' : 'middle';
  }
  return out;
}

/** Small display helpers: times, initials, link splitting. */

// `hour: 'numeric'` follows the browser's locale: "9:05 AM" where clocks are 12-hour
// (no leading zero), "09:05" or "9:05" as 24-hour locales write it.
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dateFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const dateYearFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

/** The time of day in the browser's locale ("9:05 AM", "21:05"). */
export function clockTime(ts: number): string {
  return clockFormat.format(ts);
}

/** Date and time in full, for a tooltip ("Saturday, December 5, 2026 at 9:05 AM"). */
export function fullTime(ts: number): string {
  return fullFormat.format(ts);
}

/** Local midnight of the day holding `ts`. */
export function startOfDay(ts: number): number {
  const d = new Date(ts);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/**
 * Calendar days from the day holding `ts` to the day holding `now` (0: the same day, 1:
 * yesterday). Calendar days, not 24-hour spans: a daylight-saving change makes one day 23
 * or 25 hours, so the days are counted on local midnights.
 */
export function daysBefore(ts: number, now: number = Date.now()): number {
  const day = new Date(startOfDay(ts));
  const today = startOfDay(now);
  let n = 0;
  // Short walks only: callers ask about the last week; anything older is "7 or more".
  while (day.getTime() < today && n < 7) {
    day.setDate(day.getDate() + 1);
    n++;
  }
  return n;
}

/** The heading of a day in the history: "Today", "Yesterday", then the date (with its year when not this year's). */
export function dayLabel(ts: number, now: number = Date.now()): string {
  const days = daysBefore(ts, now);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return new Date(ts).getFullYear() === new Date(now).getFullYear() ? dateFormat.format(ts) : dateYearFormat.format(ts);
}

/** A conversation row's time: the clock today, "Yesterday", the weekday within the week, then the date. */
export function shortTime(ts: number, now: number = Date.now()): string {
  const days = daysBefore(ts, now);
  if (days === 0) return clockTime(ts);
  if (days === 1) return 'Yesterday';
  const d = new Date(ts);
  if (days < 7) return d.toLocaleDateString(undefined, { weekday: 'short' });
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

export function initials(name: string): string {
  const parts = name.replace(/[^\p{L}\p{N} ]/gu, ' ').trim().split(/\s+/);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? '?').slice(0, 2);
  return (letters || '?').toUpperCase();
}

export type Piece = { text: string; href?: string };

const urlPattern = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]}]/gi;

/** Splits a body into plain text and http(s) links. */
export function linkify(body: string): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  for (const m of body.matchAll(urlPattern)) {
    const i = m.index ?? 0;
    if (i > last) out.push({ text: body.slice(last, i) });
    out.push({ text: m[0], href: m[0] });
    last = i + m[0].length;
  }
  if (last < body.length) out.push({ text: body.slice(last) });
  return out;
}

export function joinNames(names: string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return names.slice(0, -1).join(', ') + ' and ' + names[names.length - 1];
}

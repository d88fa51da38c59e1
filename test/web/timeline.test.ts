/** The message list's layout: day headings, time headings after a pause, and sender groups. */
import { clockTime, dayLabel, daysBefore, shortTime } from '../../src/web/format';
import { groupGapMs, timeGapMs, timeline } from '../../src/web/timeline';

const at = (y: number, mo: number, d: number, h: number, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
const now = at(2026, 12, 5, 18);
const msg = (sender_id: string, ts: number) => ({ sender_id, ts });

test('day headings: Today, Yesterday, then the date, with the year only when not this year', () => {
  expect(dayLabel(at(2026, 12, 5, 0, 1), now)).toBe('Today');
  expect(dayLabel(at(2026, 12, 4, 23, 59), now)).toBe('Yesterday');
  expect(dayLabel(at(2026, 12, 4, 0, 0), now)).toBe('Yesterday');
  const older = dayLabel(at(2026, 12, 3, 12), now);
  expect(older).not.toMatch(/Today|Yesterday|2026/);
  expect(older).toContain('3');
  expect(dayLabel(at(2025, 12, 3, 12), now)).toContain('2025');
});

test('yesterday is the calendar day before, across a daylight-saving change', () => {
  // Whatever the zone: the day before 1 April is 31 March, never two days back.
  const april = at(2026, 4, 1, 0, 30);
  expect(dayLabel(at(2026, 3, 31, 0, 30), april)).toBe('Yesterday');
  expect(dayLabel(at(2026, 3, 30, 23, 30), april)).not.toBe('Yesterday');
});

test('times have no leading zero where the clock is 12-hour', () => {
  const t = clockTime(at(2026, 12, 5, 9, 5));
  if (/AM|PM/i.test(t)) expect(t).toMatch(/^9:05/);
  else expect(t).toMatch(/^0?9[:.]05/);
});

test('one sender in quick succession is one group; another sender or a pause starts the next', () => {
  const t0 = at(2026, 12, 5, 10);
  const list = [
    msg('a', t0),
    msg('a', t0 + 60_000),
    msg('a', t0 + 120_000),
    msg('b', t0 + 130_000),
    msg('a', t0 + 140_000),
    msg('a', t0 + 140_000 + groupGapMs),
  ];
  const out = timeline(list, now);
  expect(out.map((e) => e.position)).toEqual(['first', 'middle', 'last', 'single', 'single', 'single']);
  expect(out.map((e) => e.day)).toEqual(['Today', null, null, null, null, null]);
  expect(out.every((e) => e.time === null)).toBe(true);
});

test('a long pause shows the time the talk resumed; a new day shows its heading instead', () => {
  const t0 = at(2026, 12, 4, 22);
  const list = [msg('a', t0), msg('a', t0 + timeGapMs), msg('a', t0 + timeGapMs + 1000), msg('a', at(2026, 12, 5, 8))];
  const out = timeline(list, now);
  expect(out.map((e) => e.day)).toEqual(['Yesterday', null, null, 'Today']);
  expect(out.map((e) => e.time)).toEqual([null, clockTime(t0 + timeGapMs), null, null]);
  expect(out.map((e) => e.position)).toEqual(['single', 'first', 'last', 'single']);
});

test('a message stamped before the one above it (another device clock) stays in its group', () => {
  const t0 = at(2026, 12, 5, 10);
  const out = timeline([msg('a', t0), msg('a', t0 - 30_000)], now);
  expect(out.map((e) => e.position)).toEqual(['first', 'last']);
  expect(out[1].time).toBeNull();
});

test('an empty list lays out nothing', () => {
  expect(timeline([], now)).toEqual([]);
});

test('the list, the history and presence count days alike: "Yesterday" is one calendar day back', () => {
  const now = at(2026, 12, 5, 0, 30);
  const lateYesterday = at(2026, 12, 4, 23, 50);
  expect(daysBefore(lateYesterday, now)).toBe(1);
  expect(dayLabel(lateYesterday, now)).toBe('Yesterday');
  expect(shortTime(lateYesterday, now)).toBe('Yesterday');
  expect(daysBefore(at(2026, 12, 5, 0, 1), now)).toBe(0);
  expect(daysBefore(at(2026, 11, 1, 12), now)).toBe(7);
});

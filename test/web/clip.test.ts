/** Long bodies are clipped for "See more" at a word, never inside a link; short ones are shown whole. */
import { clipBody, clipChars, clipLines } from '../../src/web/clip';

const text = (pieces: { text: string }[] | null) => (pieces ?? []).map((p) => p.text).join('');

test('a short body is not clipped', () => {
  expect(clipBody('hello there')).toBeNull();
  expect(clipBody('x'.repeat(clipChars))).toBeNull();
  expect(clipBody(Array(clipLines).fill('line').join('\n'))).toBeNull();
});

test('a long body is cut at a word, well short of the whole', () => {
  const body = 'lorem ipsum dolor '.repeat(60);
  const clipped = text(clipBody(body));
  expect(clipped.length).toBeGreaterThan(200);
  expect(clipped.length).toBeLessThanOrEqual(clipChars);
  expect(body.startsWith(clipped)).toBe(true);
  expect(clipped).toMatch(/(lorem|ipsum|dolor)$/);
});

test('many short lines are clipped by lines', () => {
  const body = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n');
  const clipped = text(clipBody(body));
  expect(clipped.split('\n').length).toBeLessThan(clipLines);
  expect(clipped).toContain('line 1\n');
});

test('a link that would cross the cut is left out whole', () => {
  const url = 'https://example.com/' + 'a'.repeat(80);
  const body = 'word '.repeat(90) + url + ' end'.repeat(100);
  const pieces = clipBody(body) ?? [];
  expect(pieces.some((p) => p.href)).toBe(false);
  expect(text(pieces)).not.toContain('https');
});

test('a link before the cut stays a link', () => {
  const body = 'see https://example.com/page then ' + 'more words '.repeat(80);
  const pieces = clipBody(body) ?? [];
  expect(pieces.find((p) => p.href)?.href).toBe('https://example.com/page');
});

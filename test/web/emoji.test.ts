/** Emoji runs are told from text, so the client can draw them in a colour emoji font. */
import { pickerEmoji, quickReactions, splitEmoji } from '../../src/web/emoji';

test.each([
  ['plain text', 'hello 123 #1', [['hello 123 #1', false]]],
  ['one emoji in text', 'Nice 👍 work', [['Nice ', false], ['👍', true], [' work', false]]],
  ['a heart asked in emoji presentation', 'I ❤️ it', [['I ', false], ['❤️', true], [' it', false]]],
  ['a skin tone and a ZWJ family stay whole', '👋🏽👨‍👩‍👧', [['👋🏽👨‍👩‍👧', true]]],
  ['a flag and a keycap', '🇫🇷 1️⃣', [['🇫🇷', true], [' ', false], ['1️⃣', true]]],
  ['text-style symbols stay text', '© ™ ❤ 3', [['© ™ ❤ 3', false]]],
])('%s', (_name, text, runs) => {
  expect(splitEmoji(text).map((r) => [r.text, r.emoji])).toEqual(runs);
});

test('every emoji offered for a reaction is one emoji run (the server takes one grapheme)', () => {
  const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
  for (const e of [...quickReactions, ...pickerEmoji.map(([emoji]) => emoji)]) {
    expect(splitEmoji(e)).toEqual([{ text: e, emoji: true }]);
    expect([...segmenter.segment(e)].length).toBe(1);
  }
  expect(new Set(pickerEmoji.map(([emoji]) => emoji)).size).toBe(pickerEmoji.length);
});

/**
 * Reaction emoji validation: one grapheme cluster (what a user sees as one symbol, skin
 * tones and ZWJ families included) that is an emoji, within a length bound.
 */

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
// Pictographs (😀, ❤, 👍🏽), flags (two regional indicators) and keycaps (1️⃣).
const emojiPattern = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

export function isReactionEmoji(text: string, maxChars: number): boolean {
  if (text.length === 0 || text.length > maxChars) return false;
  const clusters = segmenter.segment(text)[Symbol.iterator]();
  const first = clusters.next();
  if (first.done || !clusters.next().done) return false;
  // A lone regional indicator is half a flag, not an emoji of its own.
  if (/^\p{Regional_Indicator}$/u.test(text)) return false;
  return emojiPattern.test(text);
}

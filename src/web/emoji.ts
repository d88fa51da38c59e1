/** The emoji offered for reactions: the quick six on every message, and the picker's wider set with names to search by. */

/** Messenger's quick reactions. Any emoji received from elsewhere still shows. */
export const quickReactions = ['👍', '❤️', '😂', '😮', '😢', '😡'] as const;

/** The picker's emoji with the words it finds them by (the first word is its accessible name). */
export const pickerEmoji: readonly (readonly [emoji: string, names: string])[] = [
  ['😀', 'grinning smile happy'],
  ['😁', 'beaming grin'],
  ['😅', 'sweat smile relief'],
  ['🤣', 'rolling laughing lol'],
  ['😊', 'smiling blush happy'],
  ['😇', 'halo innocent angel'],
  ['🙂', 'slight smile'],
  ['😉', 'wink'],
  ['😍', 'heart eyes love'],
  ['😘', 'kiss blowing'],
  ['😋', 'yum tasty delicious'],
  ['😜', 'tongue wink silly'],
  ['🤔', 'thinking hmm'],
  ['🤨', 'raised eyebrow doubt'],
  ['😐', 'neutral meh'],
  ['🙄', 'eye roll'],
  ['😏', 'smirk'],
  ['😴', 'sleeping tired zzz'],
  ['😎', 'cool sunglasses'],
  ['🤓', 'nerd glasses'],
  ['😕', 'confused'],
  ['😬', 'grimace awkward'],
  ['😭', 'sobbing crying tears'],
  ['😱', 'scream fear shocked'],
  ['🥺', 'pleading puppy eyes'],
  ['😤', 'huff triumph'],
  ['🤯', 'mind blown exploding'],
  ['🥳', 'party celebrate'],
  ['🤗', 'hug hugging'],
  ['🤩', 'star struck wow'],
  ['😷', 'mask sick'],
  ['🤒', 'ill fever sick'],
  ['👏', 'clap applause bravo'],
  ['🙌', 'raised hands hooray'],
  ['🙏', 'pray thanks please'],
  ['👌', 'ok okay perfect'],
  ['✌️', 'victory peace'],
  ['🤞', 'fingers crossed luck'],
  ['👎', 'thumbs down dislike no'],
  ['💪', 'strong muscle flex'],
  ['👋', 'wave hello bye'],
  ['🤝', 'handshake deal'],
  ['💯', 'hundred perfect'],
  ['🔥', 'fire lit hot'],
  ['✨', 'sparkles shiny'],
  ['🎉', 'tada party congratulations'],
  ['🎂', 'birthday cake'],
  ['🎁', 'gift present'],
  ['💔', 'broken heart'],
  ['💙', 'blue heart'],
  ['💚', 'green heart'],
  ['💜', 'purple heart'],
  ['⭐', 'star'],
  ['☀️', 'sun sunny'],
  ['🌧️', 'rain cloud'],
  ['☕', 'coffee tea hot drink'],
  ['🍕', 'pizza food'],
  ['🍻', 'beers cheers'],
  ['⚽', 'football soccer ball'],
  ['🚀', 'rocket launch ship'],
  ['✅', 'check done yes'],
  ['❌', 'cross no wrong'],
  ['❓', 'question'],
  ['👀', 'eyes looking'],
];

// An emoji as drawn in colour: a flag, a keycap, or a pictograph in emoji presentation
// (by default or asked with U+FE0F), with its skin tone and any ZWJ-joined parts.
const emojiRun =
  /(?:\p{Regional_Indicator}{2}|[#*0-9]\uFE0F\u20E3|(?:\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F)\p{Emoji_Modifier}?(?:\u200D\p{Extended_Pictographic}\uFE0F?\p{Emoji_Modifier}?)*)+/gu;

/** Text split into runs of plain text and runs of emoji, so emoji can be drawn in a colour emoji font ahead of the text font. */
export function splitEmoji(text: string): { text: string; emoji: boolean }[] {
  const out: { text: string; emoji: boolean }[] = [];
  let last = 0;
  for (const m of text.matchAll(emojiRun)) {
    const i = m.index ?? 0;
    if (i > last) out.push({ text: text.slice(last, i), emoji: false });
    out.push({ text: m[0], emoji: true });
    last = i + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), emoji: false });
  return out;
}

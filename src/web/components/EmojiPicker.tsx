/**
 * A small emoji picker for reactions beyond the quick six. Keyboard first: the search box
 * takes focus, typing filters, Enter picks the first match, the arrow keys move from the
 * box into the grid and around it (one tab stop: a roving tabindex), Escape closes.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { pickerEmoji } from '../emoji';

/** Emoji per row of the grid; the arrow keys move by this much up and down. */
const columns = 8;

export function EmojiPicker(props: { onPick: (emoji: string) => void; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const search = useRef<HTMLInputElement>(null);
  const grid = useRef<HTMLDivElement>(null);
  const words = query.trim().toLowerCase();
  const shown = words ? pickerEmoji.filter(([, names]) => names.split(' ').some((n) => n.startsWith(words))) : pickerEmoji;

  // Before the next key arrives: a key typed right after opening belongs to the picker.
  useLayoutEffect(() => search.current?.focus(), []);

  const focusCell = (i: number) => {
    const next = Math.max(0, Math.min(shown.length - 1, i));
    setActive(next);
    grid.current?.querySelectorAll<HTMLButtonElement>('button')[next]?.focus();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    // The picker closes first; the actions around it stay open for the next Escape.
    if (e.key === 'Escape') {
      e.stopPropagation();
      props.onClose();
    }
  };

  const onSearchKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && shown.length) {
      e.preventDefault();
      props.onPick(shown[0][0]);
    } else if (e.key === 'ArrowDown' && shown.length) {
      e.preventDefault();
      focusCell(0);
    }
  };

  const onGridKey = (e: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns };
    if (e.key in moves) {
      e.preventDefault();
      if (e.key === 'ArrowUp' && active < columns) search.current?.focus();
      else focusCell(active + moves[e.key]);
    } else if (e.key === 'Home') {
      e.preventDefault();
      focusCell(0);
    } else if (e.key === 'End') {
      e.preventDefault();
      focusCell(shown.length - 1);
    }
  };

  return (
    <div class="emoji-picker" data-testid="emoji-picker" role="dialog" aria-label="Choose a reaction" onKeyDown={onKeyDown}>
      <input
        ref={search}
        class="emoji-search"
        data-testid="emoji-search"
        type="search"
        placeholder="Search emoji"
        aria-label="Search emoji"
        value={query}
        onInput={(e) => {
          setQuery(e.currentTarget.value);
          setActive(0);
        }}
        onKeyDown={onSearchKey}
      />
      <div class="emoji-grid" ref={grid} role="group" aria-label="Emoji" onKeyDown={onGridKey}>
        {shown.map(([emoji, names], i) => (
          <button
            key={emoji}
            type="button"
            class="emoji-cell"
            data-testid="emoji-choice"
            data-emoji={emoji}
            aria-label={names.split(' ')[0]}
            title={names.split(' ')[0]}
            tabIndex={i === active ? 0 : -1}
            onClick={() => props.onPick(emoji)}
            onFocus={() => setActive(i)}
          >
            {emoji}
          </button>
        ))}
        {shown.length === 0 && <span class="hint">No emoji found</span>}
      </div>
    </div>
  );
}

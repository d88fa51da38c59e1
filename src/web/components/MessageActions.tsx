/**
 * A message's actions, opened by a click (desktop), a long press (touch) or Enter on the
 * bubble: the quick reactions, the emoji picker, reply, and for one's own messages edit
 * and unsend. Escape or a press anywhere outside the message closes them.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { quickReactions } from '../emoji';
import { EmojiPicker } from './EmojiPicker';

export function MessageActions(props: {
  seq: number;
  mine: boolean;
  /** This user's reaction to the message, if any. */
  myReaction: string | undefined;
  onReact: (emoji: string) => void;
  onReply: () => void;
  onEdit: () => void;
  onUnsend: () => void;
  onClose: () => void;
}) {
  const { seq } = props;
  const [picking, setPicking] = useState(false);
  const panel = useRef<HTMLDivElement>(null);
  const close = useRef(props.onClose);
  close.current = props.onClose;

  // Listening from the layout effect, before the panel is painted: an Escape pressed as
  // soon as it shows (a quick user, or a browser test on a busy machine) is not missed.
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      // Focus in the actions would be lost with them: it goes back to the message.
      const back = panel.current?.contains(document.activeElement) ? bubbleOf(seq) : null;
      close.current();
      back?.focus();
    };
    const onPointer = (e: PointerEvent) => {
      // Inside the message is the bubble (its own click toggles the actions) or the panel.
      const target = e.target instanceof Element ? e.target : null;
      if (!target?.closest(`[data-testid="message"][data-seq="${seq}"]`)) close.current();
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('pointerdown', onPointer, true);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onPointer, true);
    };
  }, [seq]);

  // Keyboard users land on the first reaction; a pointer user sees no focus ring there.
  useLayoutEffect(() => {
    panel.current?.querySelector<HTMLButtonElement>('button')?.focus({ preventScroll: true });
  }, []);

  // After the list's own layout (it keeps the newest message in view): the message and
  // what opened under it are scrolled into view, the picker included when it opens.
  useEffect(() => {
    panel.current?.closest('[data-testid="message"]')?.scrollIntoView({ block: 'nearest' });
  }, [picking]);

  return (
    <div class="actions" data-testid="message-actions" ref={panel} role="toolbar" aria-label="Message actions">
      <div class="actions-row">
        {quickReactions.map((emoji) => (
          <button
            key={emoji}
            type="button"
            class={'react-choice' + (props.myReaction === emoji ? ' mine' : '')}
            data-testid="react-choice"
            data-emoji={emoji}
            aria-label={`React ${emoji}`}
            aria-pressed={props.myReaction === emoji}
            onClick={() => props.onReact(emoji)}
          >
            {emoji}
          </button>
        ))}
        <button
          type="button"
          class={'react-more' + (picking ? ' open' : '')}
          data-testid="react-more"
          aria-label="More reactions"
          aria-expanded={picking}
          onClick={() => setPicking(!picking)}
        >
          +
        </button>
        <button type="button" data-testid="action-reply" onClick={props.onReply}>
          Reply
        </button>
        {props.mine && (
          <button type="button" data-testid="action-edit" onClick={props.onEdit}>
            Edit
          </button>
        )}
        {props.mine && (
          <button type="button" class="danger" data-testid="action-unsend" onClick={props.onUnsend}>
            Unsend
          </button>
        )}
      </div>
      {picking && (
        <EmojiPicker
          onPick={props.onReact}
          onClose={() => {
            setPicking(false);
            panel.current?.querySelector<HTMLButtonElement>('[data-testid="react-more"]')?.focus();
          }}
        />
      )}
    </div>
  );
}

function bubbleOf(seq: number): HTMLElement | null {
  return document.querySelector<HTMLElement>(`[data-testid="message"][data-seq="${seq}"] [data-testid="message-bubble"]`);
}

/**
 * Tells a touch tap from a touch long press and from a mouse click on one element, as
 * phones do: a long press (held still for `longPressMs`) opens a message's actions, a tap
 * shows its time, a click (mouse, pen, keyboard) opens its actions.
 */
import { useEffect, useRef } from 'preact/hooks';

/** How long a finger rests before the press counts as long (Android's default is 400-500 ms). */
export const longPressMs = 450;
/** A finger that moves further than this is scrolling, not pressing. */
const slopPx = 10;

export interface PressHandlers {
  onPointerDown: (e: PointerEvent) => void;
  onPointerMove: (e: PointerEvent) => void;
  onPointerUp: () => void;
  onPointerCancel: () => void;
  onClick: (e: MouseEvent) => void;
  onContextMenu: (e: MouseEvent) => void;
}

export function usePress(on: { longPress: () => void; tap: () => void; click: () => void }): PressHandlers {
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const start = useRef<{ x: number; y: number } | null>(null);
  const kind = useRef<string>('mouse');
  // The click a browser fires after the finger lifts from a long press is not a tap.
  const swallowClick = useRef(false);
  const handlers = useRef(on);
  handlers.current = on;

  const clear = () => {
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = null;
    start.current = null;
  };
  useEffect(() => clear, []);

  return {
    onPointerDown: (e) => {
      kind.current = e.pointerType;
      swallowClick.current = false;
      if (e.pointerType !== 'touch') return;
      clear();
      start.current = { x: e.clientX, y: e.clientY };
      timer.current = setTimeout(() => {
        timer.current = null;
        swallowClick.current = true;
        handlers.current.longPress();
      }, longPressMs);
    },
    onPointerMove: (e) => {
      const s = start.current;
      if (s && Math.hypot(e.clientX - s.x, e.clientY - s.y) > slopPx) clear();
    },
    onPointerUp: clear,
    onPointerCancel: clear,
    onClick: (e) => {
      if (swallowClick.current) {
        swallowClick.current = false;
        e.preventDefault();
        return;
      }
      // A keyboard's Enter or Space arrives as a click with no pointer down before it.
      if (kind.current === 'touch' && e.detail > 0) handlers.current.tap();
      else handlers.current.click();
    },
    // A long press on a touch screen also asks for the context menu: the actions replace it.
    onContextMenu: (e) => {
      if (kind.current === 'touch') e.preventDefault();
    },
  };
}

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
      if (e.pointerType !== 'touch') return;
      clear();
      start.current = { x: e.clientX, y: e.clientY };
      timer.current = setTimeout(() => {
        timer.current = null;
        swallowLiftClick();
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

/**
 * Eats the click a browser sends when the finger lifts after a long press. It lands on
 * whatever is under the finger by then, which may be one of the actions the press opened
 * (the list can shift as they appear): it must not choose one.
 */
function swallowLiftClick(): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const eat = (e: Event) => {
    e.preventDefault();
    e.stopPropagation();
    done();
  };
  // The click follows the lift at once; a lift with no click (the browser chose a context menu) ends the wait soon after.
  const lifted = () => {
    timer = setTimeout(done, 300);
  };
  const done = () => {
    clearTimeout(timer);
    document.removeEventListener('click', eat, true);
    document.removeEventListener('pointerup', lifted, true);
    document.removeEventListener('pointercancel', done, true);
  };
  document.addEventListener('click', eat, true);
  document.addEventListener('pointerup', lifted, true);
  document.addEventListener('pointercancel', done, true);
}

/**
 * Keyboard and focus behaviour shared by dialogs and pop-up menus, so that every one of
 * them opens, traps and gives focus back the same way (WAI-ARIA dialog and disclosure
 * patterns). Layout effects: the keys work from the frame the pop-up appears in, not a
 * frame later (a fast Escape would otherwise be lost).
 */
import { useLayoutEffect } from 'preact/hooks';

/** What `useRef` gives for an element. */
type ElementRef = { readonly current: HTMLElement | null };

const focusableSelector = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(focusableSelector)].filter((el) => !el.hidden && el.getClientRects().length > 0);
}

/**
 * A modal dialog in `ref`: on open, focus goes to its `[autofocus]` field, else its first
 * field, else its first control (set here because Chromium ignores `autofocus` on content
 * rendered after the page had focus); Tab and Shift+Tab stay inside; Escape calls
 * `onClose`; on close, focus goes back to whatever had it before (the button that opened it).
 */
export function useDialogFocus(ref: ElementRef, onClose: () => void): void {
  useLayoutEffect(() => {
    const root = ref.current;
    if (!root) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const first = root.querySelector<HTMLElement>('[autofocus]') ?? root.querySelector<HTMLElement>('input:not([type="hidden"]), select, textarea') ?? focusables(root)[0];
    first?.focus();
    return () => {
      // Only when focus would otherwise be lost: a dialog that navigated elsewhere keeps its choice.
      const now = document.activeElement;
      if (opener?.isConnected && (!now || now === document.body || root.contains(now))) opener.focus();
    };
  }, []);

  useLayoutEffect(() => {
    const root = ref.current;
    if (!root) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        onClose();
        return;
      }
      if (e.key !== 'Tab') return;
      const list = focusables(root);
      if (!list.length) return;
      const [head, tail] = [list[0], list[list.length - 1]];
      if (e.shiftKey && (document.activeElement === head || !root.contains(document.activeElement))) {
        e.preventDefault();
        tail.focus();
      } else if (!e.shiftKey && (document.activeElement === tail || !root.contains(document.activeElement))) {
        e.preventDefault();
        head.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
}

/**
 * A pop-up menu in `menuRef`, opened by the button in `buttonRef`: while `open`, Escape
 * closes it and puts focus back on the button, and a click or focus outside both closes it.
 */
export function useMenuDismiss(open: boolean, close: () => void, menuRef: ElementRef, buttonRef: ElementRef): void {
  useLayoutEffect(() => {
    if (!open) return;
    const outside = (target: EventTarget | null) =>
      target instanceof Node && !menuRef.current?.contains(target) && !buttonRef.current?.contains(target);
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      close();
      buttonRef.current?.focus();
    };
    const onPointer = (e: Event) => {
      if (outside(e.target)) close();
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('focusin', onPointer);
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('focusin', onPointer);
    };
  }, [open, close]);
}

/** A yes/no question in a modal dialog; focus starts on the safe choice, Escape or a click outside cancels. */
import { useLayoutEffect, useRef } from 'preact/hooks';

export function ConfirmDialog(props: {
  title: string;
  text: string;
  confirm: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const cancel = useRef<HTMLButtonElement>(null);
  const dialog = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => cancel.current?.focus(), []);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      props.onCancel();
    } else if (e.key === 'Tab') {
      // Focus stays in the dialog while it is open.
      const buttons = [...(dialog.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
      const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
      const next = (at + (e.shiftKey ? buttons.length - 1 : 1)) % buttons.length;
      e.preventDefault();
      buttons[next]?.focus();
    }
  };

  return (
    <div class="overlay" onClick={(e) => e.target === e.currentTarget && props.onCancel()}>
      <div
        class="dialog confirm"
        ref={dialog}
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="confirm-title"
        aria-describedby="confirm-text"
        data-testid="confirm-dialog"
        onKeyDown={onKeyDown}
      >
        <h2 id="confirm-title">{props.title}</h2>
        <p id="confirm-text">{props.text}</p>
        <div class="confirm-buttons">
          <button type="button" ref={cancel} class="secondary" data-testid="confirm-cancel" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="button" class="primary danger-fill" data-testid="confirm-ok" onClick={props.onConfirm}>
            {props.confirm}
          </button>
        </div>
      </div>
    </div>
  );
}

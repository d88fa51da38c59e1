/** The message box: sends, or saves an edit; shows what is being replied to or edited; reports typing. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AppStore } from '../store';

export function Composer(props: { store: AppStore; convId: string; replyTo: number | null; editing: number | null; onDone: () => void }) {
  const { store, convId, replyTo, editing } = props;
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  const editedMsg = editing !== null ? store.message(convId, editing) : undefined;
  const repliedMsg = replyTo !== null ? store.message(convId, replyTo) : undefined;

  useEffect(() => {
    if (editedMsg) setText(editedMsg.body);
    if (editing !== null || replyTo !== null) input.current?.focus();
  }, [editing, replyTo]);

  useEffect(() => () => store.stopTyping(convId), [convId]);

  const submit = (e?: Event) => {
    e?.preventDefault();
    if (!text.trim()) return;
    if (editing !== null) store.edit(convId, editing, text);
    else store.send(convId, text, replyTo);
    setText('');
    props.onDone();
    input.current?.focus();
  };

  const cancel = () => {
    if (editing !== null) setText('');
    props.onDone();
  };

  return (
    <form class="composer" onSubmit={submit} data-testid="composer">
      {(editing !== null || replyTo !== null) && (
        <div class="composer-context" data-testid={editing !== null ? 'editing-bar' : 'reply-bar'}>
          <span class="ctx-text">
            {editing !== null ? (
              <b>Editing message</b>
            ) : (
              <>
                <b>Replying to {repliedMsg ? store.nameOf(repliedMsg.sender_id) : 'message'}</b> {repliedMsg?.body}
              </>
            )}
          </span>
          <button type="button" class="icon-btn" aria-label="Cancel" data-testid="composer-cancel" onClick={cancel}>
            ✕
          </button>
        </div>
      )}
      <div class="composer-row">
        <textarea
          ref={input}
          rows={1}
          data-testid="composer-input"
          placeholder={editing !== null ? 'Edit message' : 'Message'}
          value={text}
          maxLength={10000}
          onInput={(e) => {
            const v = e.currentTarget.value;
            setText(v);
            if (editing === null) store.typed(convId, v);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) submit(e);
            if (e.key === 'Escape') cancel();
          }}
        />
        <button class="send" type="submit" data-testid="send-button" aria-label={editing !== null ? 'Save' : 'Send'} disabled={!text.trim()}>
          {editing !== null ? '✓' : '➤'}
        </button>
      </div>
    </form>
  );
}

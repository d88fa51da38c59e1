/**
 * The message box: sends text and attached files, or saves an edit; shows what is being
 * replied to or edited; reports typing. Files come from the attach button, a paste or a
 * drop on the conversation (`uploads`, held by the chat); they upload at once and are sent
 * with the next message once uploaded.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AppStore } from '../store';
import { PendingUploads } from './PendingUploads';
import type { Uploads } from './uploads';

export function Composer(props: { store: AppStore; convId: string; replyTo: number | null; editing: number | null; uploads: Uploads; onDone: () => void }) {
  const { store, convId, replyTo, editing, uploads } = props;
  const [text, setText] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const editedMsg = editing !== null ? store.message(convId, editing) : undefined;
  const repliedMsg = replyTo !== null ? store.message(convId, replyTo) : undefined;
  const canSend = editing !== null ? text.trim() !== '' : text.trim() !== '' || uploads.ready > 0;

  useEffect(() => {
    if (editedMsg) setText(editedMsg.body);
    if (editing !== null || replyTo !== null) input.current?.focus();
  }, [editing, replyTo]);

  useEffect(() => () => store.stopTyping(convId), [convId]);

  const submit = (e?: Event) => {
    e?.preventDefault();
    if (!canSend) return;
    if (editing !== null) store.edit(convId, editing, text);
    else store.send(convId, text, replyTo, uploads.take());
    setText('');
    props.onDone();
    input.current?.focus();
  };

  const cancel = () => {
    if (editing !== null) setText('');
    props.onDone();
  };

  const onPaste = (e: ClipboardEvent) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (!files.length) return;
    uploads.add(files);
    // A copied image often comes with its text or markup too: keep only the file then.
    if (!e.clipboardData?.getData('text/plain')) e.preventDefault();
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
      {editing === null && <PendingUploads uploads={uploads} />}
      <div class="composer-row">
        {editing === null && (
          <>
            <button type="button" class="attach" aria-label="Attach files" title="Attach files" data-testid="attach-button" onClick={() => picker.current?.click()}>
              <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true">
                <path
                  fill="currentColor"
                  d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"
                />
              </svg>
            </button>
            <input
              ref={picker}
              type="file"
              multiple
              hidden
              data-testid="attach-input"
              onChange={(e) => {
                const el = e.currentTarget;
                if (el.files?.length) uploads.add([...el.files]);
                // The same file may be chosen again later.
                el.value = '';
              }}
            />
          </>
        )}
        <textarea
          ref={input}
          rows={1}
          data-testid="composer-input"
          aria-label={editing !== null ? 'Edit message' : 'Message'}
          placeholder={editing !== null ? 'Edit message' : 'Message'}
          value={text}
          maxLength={10000}
          onInput={(e) => {
            const v = e.currentTarget.value;
            setText(v);
            if (editing === null) store.typed(convId, v);
          }}
          onPaste={editing === null ? onPaste : undefined}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) submit(e);
            if (e.key === 'Escape') cancel();
          }}
        />
        <button class="send" type="submit" data-testid="send-button" aria-label={editing !== null ? 'Save' : 'Send'} disabled={!canSend}>
          {editing !== null ? '✓' : '➤'}
        </button>
      </div>
    </form>
  );
}

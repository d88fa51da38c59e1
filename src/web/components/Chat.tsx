/**
 * One conversation: header, history with paging, typing line, composer. Holds the state
 * they share: the selected message (its actions shown), what the composer replies to or
 * edits, and whether the header's menu is open.
 */
import { useState } from 'preact/hooks';
import { joinNames } from '../format';
import type { AppStore } from '../store';
import { BackButton, ChatHeader } from './ChatHeader';
import { Composer } from './Composer';
import { MessageList } from './MessageList';

export function ChatView(props: { store: AppStore; convId: string }) {
  const { store, convId } = props;
  const row = store.row(convId);
  const [selected, setSelected] = useState<number | null>(null);
  const [replyTo, setReplyTo] = useState<number | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const [menu, setMenu] = useState(false);

  if (!row) {
    return (
      <section class="chat" data-testid="chat-view">
        <header class="chat-head">
          <BackButton />
          <div class="chat-title">Loading…</div>
        </header>
      </section>
    );
  }

  const typing = store.typing(convId);

  return (
    <section class="chat" data-testid="chat-view" data-conv-id={convId}>
      <ChatHeader store={store} row={row} menu={menu} onMenu={setMenu} />
      <MessageList store={store} convId={convId} selected={selected} onSelect={setSelected} onReply={setReplyTo} onEdit={setEditing} />
      <div class="typing-line" aria-live="polite">
        {typing.length > 0 && (
          <span data-testid="typing-indicator">
            {joinNames(typing.map((id) => store.nameOf(id)))} {typing.length > 1 ? 'are' : 'is'} typing<span class="dots">…</span>
          </span>
        )}
      </div>
      <Composer
        store={store}
        convId={convId}
        replyTo={replyTo}
        editing={editing}
        onDone={() => {
          setReplyTo(null);
          setEditing(null);
          setSelected(null);
        }}
      />
    </section>
  );
}

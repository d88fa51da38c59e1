/**
 * One conversation: header, history with paging, typing line, composer. Holds the state
 * they share: the selected message (its actions shown), what the composer replies to or
 * edits, the files attached to the next message (dropped anywhere on the conversation or
 * added in the composer), and whether the header's menu is open.
 */
import { useState } from 'preact/hooks';
import { joinNames } from '../format';
import type { AppStore } from '../store';
import { BackButton, ChatHeader } from './ChatHeader';
import { Composer } from './Composer';
import { MessageList } from './MessageList';
import { useUploads } from './uploads';

export function ChatView(props: { store: AppStore; convId: string }) {
  const { store, convId } = props;
  const row = store.row(convId);
  const [selected, setSelected] = useState<number | null>(null);
  const [replyTo, setReplyTo] = useState<number | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const [menu, setMenu] = useState(false);
  const uploads = useUploads(store);
  const [dropping, setDropping] = useState(false);

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
  const carriesFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;

  return (
    <section
      class={'chat' + (dropping ? ' dropping' : '')}
      data-testid="chat-view"
      data-conv-id={convId}
      onDragOver={(e) => {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
        setDropping(true);
      }}
      onDragLeave={(e) => {
        // Leaving for a child is not leaving.
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDropping(false);
      }}
      onDrop={(e) => {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        setDropping(false);
        if (e.dataTransfer?.files.length) uploads.add([...e.dataTransfer.files]);
      }}
    >
      {dropping && (
        <div class="drop-hint" data-testid="drop-hint">
          Drop files to send
        </div>
      )}
      <ChatHeader store={store} row={row} menu={menu} onMenu={setMenu} />
      <MessageList
        store={store}
        convId={convId}
        selected={selected}
        onSelect={setSelected}
        onReply={(seq) => {
          // The actions close once one is taken.
          setSelected(null);
          setEditing(null);
          setReplyTo(seq);
        }}
        onEdit={(seq) => {
          setSelected(null);
          setReplyTo(null);
          setEditing(seq);
        }}
      />
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
        uploads={uploads}
        onDone={() => {
          setReplyTo(null);
          setEditing(null);
          setSelected(null);
        }}
      />
    </section>
  );
}

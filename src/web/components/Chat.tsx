/** One conversation: header, history with paging, typing line, composer. */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { joinNames, linkify, shortTime } from '../format';
import { goTo } from '../hooks';
import type { Msg } from '../messages';
import type { AppStore } from '../store';
import { Avatar, MutedIcon, Ticks } from './ui';

/** The reactions offered on a message (any emoji received from elsewhere still shows). */
const reactionChoices = ['👍', '❤️', '😂', '😮', '😢'] as const;

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
          <button class="icon-btn back" aria-label="Back" data-testid="back" onClick={() => goTo(null)}>
            ‹
          </button>
          <div class="chat-title">Loading…</div>
        </header>
      </section>
    );
  }

  const title = store.titleOf(row);
  const muted = store.isMuted(row);
  const peer = row.type === 'direct' ? row.peer_id : null;
  const presence = peer ? store.presence(peer) : null;
  const others = store.others(convId);
  const subtitle = peer ? (presence === 'online' ? 'Active now' : presence === 'offline' ? 'Offline' : '') : `${others.length + 1} members`;
  const typing = store.typing(convId);

  return (
    <section class="chat" data-testid="chat-view" data-conv-id={convId}>
      <header class="chat-head">
        <button class="icon-btn back" aria-label="Back" data-testid="back" onClick={() => goTo(null)}>
          ‹
        </button>
        <Avatar id={convId} name={title} size={38} presence={presence} group={row.type === 'group'} />
        <div class="chat-title">
          <div class="name" data-testid="chat-title">
            {title} {muted && <MutedIcon />}
          </div>
          <div class="sub" data-testid="chat-presence">
            {subtitle}
          </div>
        </div>
        <button class="icon-btn" aria-label="Conversation menu" aria-expanded={menu} data-testid="chat-menu" onClick={() => setMenu(!menu)}>
          ⋯
        </button>
        {menu && (
          <div class="menu" data-testid="chat-menu-list" onClick={() => setMenu(false)}>
            <button data-testid="toggle-mute" onClick={() => void store.setMuted(convId, !muted)}>
              {muted ? 'Unmute' : 'Mute'}
            </button>
            <button
              data-testid="mark-unread"
              onClick={() => {
                void store.markUnread(convId);
                goTo(null);
              }}
            >
              Mark as unread
            </button>
          </div>
        )}
      </header>
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

function MessageList(props: {
  store: AppStore;
  convId: string;
  selected: number | null;
  onSelect: (seq: number | null) => void;
  onReply: (seq: number) => void;
  onEdit: (seq: number) => void;
}) {
  const { store, convId } = props;
  const list = store.messages(convId);
  const seen = store.seenBy(convId);
  const hasOlder = store.hasOlder(convId);
  const loading = store.loadingOlder(convId);
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const anchor = useRef<{ height: number; top: number } | null>(null);
  const group = store.row(convId)?.type === 'group';

  const loadOlder = () => {
    const el = ref.current;
    if (!el || loading || !hasOlder) return;
    anchor.current = { height: el.scrollHeight, top: el.scrollTop };
    void store.loadOlder(convId);
  };

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (anchor.current && !loading) {
      // Older messages went in above: keep what the reader was looking at in place.
      el.scrollTop = el.scrollHeight - anchor.current.height + anchor.current.top;
      anchor.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  });

  useEffect(() => {
    stick.current = true;
  }, [convId]);

  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
    if (el.scrollTop < 40 && hasOlder && !loading && list.length > 0) loadOlder();
  };

  let prevSender: string | null = null;
  return (
    <div class="messages" ref={ref} onScroll={onScroll} data-testid="message-list">
      {hasOlder && list.length > 0 && (
        <button class="load-older" data-testid="load-older" disabled={loading} onClick={loadOlder}>
          {loading ? 'Loading…' : 'Load older messages'}
        </button>
      )}
      {!hasOlder && <div class="history-start">This is the start of the conversation</div>}
      {list.map((m) => {
        const showName = group && m.sender_id !== store.me.user_id && m.sender_id !== prevSender;
        prevSender = m.sender_id;
        const readers = m.seq !== null ? seen.get(m.seq) : undefined;
        return (
          <MessageItem
            key={m.seq !== null ? `s${m.seq}` : `c${m.client_msg_id}`}
            store={store}
            convId={convId}
            m={m}
            showName={showName}
            readers={readers}
            selected={m.seq !== null && props.selected === m.seq}
            onSelect={props.onSelect}
            onReply={props.onReply}
            onEdit={props.onEdit}
          />
        );
      })}
    </div>
  );
}

function MessageItem(props: {
  store: AppStore;
  convId: string;
  m: Msg;
  showName: boolean;
  readers: string[] | undefined;
  selected: boolean;
  onSelect: (seq: number | null) => void;
  onReply: (seq: number) => void;
  onEdit: (seq: number) => void;
}) {
  const { store, convId, m } = props;
  const mine = m.sender_id === store.me.user_id;
  const quoted = m.reply_to !== null ? store.message(convId, m.reply_to) : undefined;
  const reactions = Object.entries(m.reactions);
  const counts = new Map<string, string[]>();
  for (const [user, emoji] of reactions) counts.set(emoji, [...(counts.get(emoji) ?? []), user]);
  const myReaction = m.reactions[store.me.user_id];
  const seq = m.seq;

  return (
    <div
      class={'msg' + (mine ? ' mine' : ' theirs') + (props.selected ? ' selected' : '')}
      id={seq !== null ? `msg-${seq}` : undefined}
      data-testid="message"
      data-seq={seq ?? ''}
      data-mine={mine ? 'true' : 'false'}
    >
      {props.showName && <div class="sender">{store.nameOf(m.sender_id)}</div>}
      <div class="bubble-row">
        <div
          class={'bubble' + (m.deleted ? ' deleted' : '')}
          data-testid="message-bubble"
          role="button"
          tabIndex={0}
          onClick={() => seq !== null && !m.deleted && props.onSelect(props.selected ? null : seq)}
        >
          {m.reply_to !== null && !m.deleted && (
            <a class="quote" data-testid="message-quote" href={`#msg-${m.reply_to}`} onClick={(e) => {
              e.preventDefault();
              e.stopPropagation();
              document.getElementById(`msg-${m.reply_to}`)?.scrollIntoView({ block: 'center', behavior: 'smooth' });
            }}>
              <span class="quote-name">{quoted ? store.nameOf(quoted.sender_id) : 'Reply'}</span>
              <span class="quote-body">{quoted ? (quoted.deleted ? 'message deleted' : quoted.body) : 'Original message'}</span>
            </a>
          )}
          {m.deleted ? (
            <span class="body" data-testid="message-body">
              message deleted
            </span>
          ) : (
            <span class="body" data-testid="message-body">
              {linkify(m.body).map((p, i) =>
                p.href ? (
                  <a key={i} href={p.href} target="_blank" rel="noopener noreferrer nofollow" onClick={(e) => e.stopPropagation()}>
                    {p.text}
                  </a>
                ) : (
                  p.text
                ),
              )}
            </span>
          )}
          {m.link_preview && !m.deleted && (
            <a class="link-preview" data-testid="link-preview" href={m.link_preview.url} target="_blank" rel="noopener noreferrer nofollow" onClick={(e) => e.stopPropagation()}>
              {m.link_preview.image_url && <img src={m.link_preview.image_url} alt="" loading="lazy" referrerpolicy="no-referrer" />}
              <span class="lp-text">
                {m.link_preview.site_name && <span class="lp-site">{m.link_preview.site_name}</span>}
                <span class="lp-title" data-testid="link-preview-title">
                  {m.link_preview.title ?? m.link_preview.url}
                </span>
                {m.link_preview.description && <span class="lp-desc">{m.link_preview.description}</span>}
              </span>
            </a>
          )}
          <span class="meta">
            {m.edited_at !== null && !m.deleted && (
              <span class="edited" data-testid="message-edited">
                edited
              </span>
            )}
            <span class="time">{shortTime(m.ts)}</span>
            {mine && <Ticks status={store.tick(convId, m)} />}
          </span>
        </div>
      </div>
      {reactions.length > 0 && (
        <div class="reactions" data-testid="reactions">
          {[...counts].map(([emoji, users]) => (
            <button
              key={emoji}
              class={'reaction' + (users.includes(store.me.user_id) ? ' mine' : '')}
              data-testid="reaction"
              data-emoji={emoji}
              title={users.map((u) => store.nameOf(u)).join(', ')}
              onClick={() => seq !== null && store.react(convId, seq, emoji)}
            >
              {emoji}
              {users.length > 1 && <span class="count">{users.length}</span>}
            </button>
          ))}
        </div>
      )}
      {m.failed && (
        <div class="failed" data-testid="message-failed">
          Not sent ({m.failed}).{' '}
          <button class="link" onClick={() => store.discard(convId, m)}>
            Dismiss
          </button>
        </div>
      )}
      {props.selected && seq !== null && (
        <div class="actions" data-testid="message-actions">
          {reactionChoices.map((emoji) => (
            <button
              key={emoji}
              class={'react-choice' + (myReaction === emoji ? ' mine' : '')}
              data-testid="react-choice"
              data-emoji={emoji}
              aria-label={`React ${emoji}`}
              onClick={() => {
                store.react(convId, seq, emoji);
                props.onSelect(null);
              }}
            >
              {emoji}
            </button>
          ))}
          <button data-testid="action-reply" onClick={() => props.onReply(seq)}>
            Reply
          </button>
          {mine && (
            <button data-testid="action-edit" onClick={() => props.onEdit(seq)}>
              Edit
            </button>
          )}
          {mine && (
            <button
              class="danger"
              data-testid="action-unsend"
              onClick={() => {
                store.unsend(convId, seq);
                props.onSelect(null);
              }}
            >
              Unsend
            </button>
          )}
        </div>
      )}
      {props.readers && props.readers.length > 0 && (
        <div class="seen-by" data-testid="seen-by">
          Seen by {joinNames(props.readers.map((id) => store.nameOf(id)))}
        </div>
      )}
    </div>
  );
}

function Composer(props: { store: AppStore; convId: string; replyTo: number | null; editing: number | null; onDone: () => void }) {
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

/** A conversation's messages: scrolled to the newest, older pages loaded on scroll-up without a jump. */
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import type { AppStore } from '../store';
import { MessageItem } from './MessageItem';

export function MessageList(props: {
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
  const others = store.others(convId);

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
    <div class="messages" ref={ref} onScroll={onScroll} role="log" aria-label="Messages" data-testid="message-list">
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
            others={others}
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

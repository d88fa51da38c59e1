/**
 * A conversation's messages: scrolled to the newest, older pages loaded on scroll-up
 * without a jump; day and time headings and sender groups as `timeline` lays them out.
 */
import { Fragment } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import type { AppStore } from '../store';
import { timeline } from '../timeline';
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

  return (
    <div class="messages" ref={ref} onScroll={onScroll} role="log" aria-label="Messages" data-testid="message-list">
      {hasOlder && list.length > 0 && (
        <button class="load-older" data-testid="load-older" disabled={loading} onClick={loadOlder}>
          {loading ? 'Loading…' : 'Load older messages'}
        </button>
      )}
      {!hasOlder && <div class="history-start">This is the start of the conversation</div>}
      {timeline(list).map(({ m, day, time, position }) => {
        const key = m.seq !== null ? `s${m.seq}` : `c${m.client_msg_id}`;
        const theirs = m.sender_id !== store.me.user_id;
        const opens = position === 'single' || position === 'first';
        const closes = position === 'single' || position === 'last';
        const readers = m.seq !== null ? seen.get(m.seq) : undefined;
        return (
          <Fragment key={key}>
            {day !== null && (
              <div class="separator day" data-testid="day-separator" role="separator">
                {day}
              </div>
            )}
            {time !== null && (
              <div class="separator" data-testid="time-separator" role="separator">
                {time}
              </div>
            )}
            <MessageItem
              store={store}
              convId={convId}
              m={m}
              position={position}
              showName={group && theirs && opens}
              avatar={group && theirs ? closes : null}
              readers={readers}
              others={others}
              selected={m.seq !== null && props.selected === m.seq}
              onSelect={props.onSelect}
              onReply={props.onReply}
              onEdit={props.onEdit}
            />
          </Fragment>
        );
      })}
    </div>
  );
}

/**
 * One message: the sender's name and avatar where its group starts and ends, its bubble
 * (quote, attachments, body, link preview, ticks), reactions, failure, "Seen by", and its
 * actions: a small bar on mouse hover (with the time), the full set on a click, a long
 * press or Enter; a tap on a touch screen shows the time. Unsend asks first.
 */
import { useState } from 'preact/hooks';
import { avatarColour } from '../colour';
import { clockTime, fullTime, joinNames } from '../format';
import type { Msg } from '../messages';
import type { AppStore } from '../store';
import type { GroupPosition } from '../timeline';
import { MessageAttachments } from './Attachments';
import { Avatar } from './Avatar';
import { ConfirmDialog } from './Confirm';
import { MessageActions } from './MessageActions';
import { MessageBody } from './MessageBody';
import { usePress } from './press';
import { Ticks } from './ui';

/** Only web links are followed or loaded from a link preview (the server fetched them from a page it does not vouch for). */
const webUrl = /^https?:\/\//i;

export function MessageItem(props: {
  store: AppStore;
  convId: string;
  m: Msg;
  /** Its place in a run of one sender's messages. */
  position: GroupPosition;
  showName: boolean;
  /** An incoming group message: its sender's avatar (at the end of the run) or the room for it; null in direct chats and for one's own. */
  avatar: boolean | null;
  readers: string[] | undefined;
  /** The conversation's other members (`store.others`), for the ticks. */
  others: string[];
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
  const preview = m.link_preview && !m.deleted && webUrl.test(m.link_preview.url) ? m.link_preview : null;
  const previewImage = preview?.image_url && webUrl.test(preview.image_url) ? preview.image_url : null;
  const attachments = m.deleted ? [] : m.attachments ?? [];
  // Photos alone are shown without the bubble around them, as chat apps do.
  const mediaOnly = !m.body && attachments.length > 0 && attachments.every((a) => a.kind === 'image');
  const actionable = seq !== null && !m.deleted;
  const [hover, setHover] = useState(false);
  const [showTime, setShowTime] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const toggleActions = () => actionable && props.onSelect(props.selected ? null : seq);
  const press = usePress({
    click: toggleActions,
    longPress: () => actionable && props.onSelect(seq),
    tap: () => setShowTime(!showTime),
  });

  return (
    <div
      class={'msg' + (mine ? ' mine' : ' theirs') + ` ${props.position}` + (props.avatar !== null ? ' with-avatar' : '') + (props.selected ? ' selected' : '')}
      id={seq !== null ? `msg-${seq}` : undefined}
      data-testid="message"
      data-seq={seq ?? ''}
      data-mine={mine ? 'true' : 'false'}
      data-position={props.position}
      onPointerEnter={(e) => e.pointerType === 'mouse' && setHover(true)}
      onPointerLeave={() => setHover(false)}
    >
      {props.showName && <div class="sender" data-testid="message-sender">{store.nameOf(m.sender_id)}</div>}
      <div class="bubble-row">
        {props.avatar !== null && (
          <span class="msg-avatar" data-testid={props.avatar ? 'message-avatar' : undefined}>
            {props.avatar && <Avatar name={store.nameOf(m.sender_id)} colour={avatarColour(m.sender_id)} size={28} />}
          </span>
        )}
        <div
          class={'bubble' + (m.deleted ? ' deleted' : '') + (mediaOnly ? ' media-only' : '')}
          data-testid="message-bubble"
          // An article, not a button: a bubble holds links and buttons of its own (quote, attachments).
          role="article"
          tabIndex={0}
          title={fullTime(m.ts)}
          aria-keyshortcuts="Enter"
          aria-haspopup={actionable ? 'true' : undefined}
          aria-expanded={actionable ? props.selected : undefined}
          {...press}
          onKeyDown={(e) => {
            if (e.target !== e.currentTarget || (e.key !== 'Enter' && e.key !== ' ')) return;
            e.preventDefault();
            toggleActions();
          }}
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
          {attachments.length > 0 && <MessageAttachments store={store} list={attachments} />}
          {m.deleted ? (
            <span class="body" data-testid="message-body">
              message deleted
            </span>
          ) : m.body === '' && !attachments.length ? (
            // An attachments-only echo restored after a reload: its frame names them by id only.
            <span class="body hint">Attachments</span>
          ) : (
            m.body !== '' && <MessageBody body={m.body} />
          )}
          {preview && (
            <a class="link-preview" data-testid="link-preview" href={preview.url} target="_blank" rel="noopener noreferrer nofollow" onClick={(e) => e.stopPropagation()}>
              {previewImage && <img src={previewImage} alt="" loading="lazy" referrerpolicy="no-referrer" />}
              <span class="lp-text">
                {preview.site_name && <span class="lp-site">{preview.site_name}</span>}
                <span class="lp-title" data-testid="link-preview-title">
                  {preview.title ?? preview.url}
                </span>
                {preview.description && <span class="lp-desc">{preview.description}</span>}
              </span>
            </a>
          )}
          <span class="meta">
            {m.edited_at !== null && !m.deleted && (
              <span class="edited" data-testid="message-edited">
                edited
              </span>
            )}
            {mine && <Ticks status={store.tick(convId, m, props.others)} />}
          </span>
        </div>
        {hover && actionable && !props.selected && (
          <div class="hover-bar" data-testid="hover-actions">
            <span class="hover-time" data-testid="hover-time">
              {clockTime(m.ts)}
            </span>
            <button type="button" class="icon-btn" data-testid="hover-react" aria-label="React and more" title="React and more" onClick={() => props.onSelect(seq)}>
              ☺
            </button>
            <button type="button" class="icon-btn" data-testid="hover-reply" aria-label="Reply" title="Reply" onClick={() => props.onReply(seq)}>
              ↩
            </button>
          </div>
        )}
      </div>
      {showTime && (
        <div class="msg-time" data-testid="message-time">
          {clockTime(m.ts)}
        </div>
      )}
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
        <MessageActions
          seq={seq}
          mine={mine}
          myReaction={myReaction}
          onReact={(emoji) => {
            store.react(convId, seq, emoji);
            props.onSelect(null);
          }}
          onReply={() => props.onReply(seq)}
          onEdit={() => props.onEdit(seq)}
          onUnsend={() => {
            props.onSelect(null);
            setHover(false);
            setConfirming(true);
          }}
          onClose={() => props.onSelect(null)}
        />
      )}
      {confirming && seq !== null && (
        <ConfirmDialog
          title="Unsend for everyone?"
          text="This message will be removed for everyone in the chat. People may have seen it already."
          confirm="Unsend"
          onConfirm={() => {
            setConfirming(false);
            store.unsend(convId, seq);
          }}
          onCancel={() => setConfirming(false)}
        />
      )}
      {props.readers && props.readers.length > 0 && (
        <div class="seen-by" data-testid="seen-by">
          Seen by {joinNames(props.readers.map((id) => store.nameOf(id)))}
        </div>
      )}
    </div>
  );
}

/** One message: its bubble (quote, attachments, body with links, link preview, ticks), reactions, failure, actions and "Seen by". */
import { joinNames, linkify, shortTime } from '../format';
import type { Msg } from '../messages';
import type { AppStore } from '../store';
import { MessageAttachments } from './Attachments';
import { Ticks } from './ui';

/** Only web links are followed or loaded from a link preview (the server fetched them from a page it does not vouch for). */
const webUrl = /^https?:\/\//i;

/** The reactions offered on a message (any emoji received from elsewhere still shows). */
const reactionChoices = ['👍', '❤️', '😂', '😮', '😢'] as const;

export function MessageItem(props: {
  store: AppStore;
  convId: string;
  m: Msg;
  showName: boolean;
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
          class={'bubble' + (m.deleted ? ' deleted' : '') + (mediaOnly ? ' media-only' : '')}
          data-testid="message-bubble"
          // An article, not a button: a bubble holds links and buttons of its own (quote, attachments).
          role="article"
          tabIndex={0}
          aria-keyshortcuts="Enter"
          onClick={() => seq !== null && !m.deleted && props.onSelect(props.selected ? null : seq)}
          onKeyDown={(e) => {
            // Enter or Space opens the actions, as a click does.
            if ((e.key === 'Enter' || e.key === ' ') && e.target === e.currentTarget) {
              e.preventDefault();
              e.currentTarget.click();
            }
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
            m.body !== '' && (
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
            )
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
            <span class="time">{shortTime(m.ts)}</span>
            {mine && <Ticks status={store.tick(convId, m, props.others)} />}
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

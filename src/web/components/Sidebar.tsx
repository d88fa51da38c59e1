/** The conversation list with its header, the Settings view and the connection status line. */
import { useState } from 'preact/hooks';
import type { ChatTransportOption, InboxRow } from '../../client';
import { shortTime } from '../format';
import { goTo } from '../hooks';
import type { AppStore } from '../store';
import { SettingsDialog } from './Settings';
import { Avatar, MutedIcon } from './ui';

export function Sidebar(props: {
  store: AppStore;
  onNewChat: () => void;
  /** Signs out this device, or every device; rejects when the server could not be told (everywhere only). */
  onSignOut: (everywhere: boolean) => Promise<void>;
  onTransport: (t: ChatTransportOption) => void;
}) {
  const { store } = props;
  const [settingsOpen, setSettingsOpen] = useState(false);
  const rows = store.conversations();
  return (
    <aside class="sidebar" data-testid="sidebar">
      <header class="sidebar-head">
        <Avatar id={store.me.user_id} name={store.me.display_name} size={36} />
        <h1>Chats</h1>
        <button class="icon-btn" title="New chat" aria-label="New chat" data-testid="new-chat" onClick={props.onNewChat}>
          ✎
        </button>
        <button class="icon-btn" title="Settings" aria-label="Settings" aria-haspopup="dialog" data-testid="settings-button" onClick={() => setSettingsOpen(true)}>
          ⋯
        </button>
      </header>
      {settingsOpen && <SettingsDialog store={store} onClose={() => setSettingsOpen(false)} onSignOut={props.onSignOut} onTransport={props.onTransport} />}
      <ul class="conv-list" aria-label="Conversations" data-testid="conv-list">
        {rows.length === 0 && (
          <li class="empty" data-testid="conv-empty">
            No conversations yet. Start one with ✎.
          </li>
        )}
        {rows.map((row) => (
          <ConvItem key={row.conv_id} store={store} row={row} active={store.openConversation === row.conv_id} />
        ))}
      </ul>
      <StatusLine store={store} />
    </aside>
  );
}

function ConvItem(props: { store: AppStore; row: InboxRow; active: boolean }) {
  const { store, row } = props;
  const title = store.titleOf(row);
  const muted = store.isMuted(row);
  const unread = row.unread > 0 || row.marked_unread;
  const typing = store.typing(row.conv_id);
  const presence = row.type === 'direct' && row.peer_id ? store.presence(row.peer_id) : null;
  const preview = typing.length ? `${row.type === 'direct' ? '' : store.nameOf(typing[0]) + ' '}typing…` : previewText(row, store);
  // The last message's own time; a row without one (just created) shows its creation time.
  const time = row.preview_ts ?? (row.last_seq > 0 ? row.updated_at : null);
  return (
    <li>
      <button
        class={'conv-item' + (props.active ? ' active' : '') + (unread ? ' unread' : '')}
        data-testid="conv-item"
        data-conv-id={row.conv_id}
        data-title={title}
        onClick={() => goTo(row.conv_id)}
      >
        <Avatar id={row.type === 'direct' && row.peer_id ? row.peer_id : row.conv_id} name={title} presence={presence} group={row.type === 'group'} />
        <span class="conv-main">
          <span class="conv-top">
            <span class="conv-title" data-testid="conv-title">
              {title}
            </span>
            {muted && <MutedIcon />}
            {presence === 'online' && <span class="sr-only">, active now</span>}
            <span class="conv-time" data-testid="conv-time" data-ts={time ?? ''}>
              {time === null ? '' : shortTime(time)}
            </span>
          </span>
          <span class="conv-bottom">
            <span class={'conv-preview' + (typing.length ? ' typing' : '')} data-testid="conv-preview">
              {preview}
            </span>
            {unread && (
              <span class={'badge' + (muted ? ' muted' : '')} data-testid="unread-badge" data-count={row.unread} aria-label={row.unread ? `${row.unread} unread` : 'Marked unread'}>
                {row.unread > 0 ? (row.unread > 99 ? '99+' : row.unread) : ''}
              </span>
            )}
          </span>
        </span>
      </button>
    </li>
  );
}

/**
 * The row's second line, as Messenger words it: "You: …" for this user's last message,
 * "Dave: …" (first name) for someone else's in a group, the bare text for the peer's in a
 * direct chat.
 */
function previewText(row: InboxRow, store: AppStore): string {
  if (row.preview) {
    const sender = row.preview_sender_id;
    if (sender === null) return row.preview;
    if (sender === store.me.user_id) return `You: ${row.preview}`;
    return row.type === 'group' ? `${firstName(store.nameOf(sender))}: ${row.preview}` : row.preview;
  }
  return row.last_seq > 1 ? 'Message deleted' : row.type === 'group' ? 'Group created' : 'Say hello 👋';
}

function firstName(name: string): string {
  return name.trim().split(/\s+/)[0] || name;
}

function StatusLine(props: { store: AppStore }) {
  const { store } = props;
  const online = store.status === 'ready';
  const label = online ? 'Connected' : store.status === 'idle' || store.status === 'connecting' || store.status === 'handshake' ? 'Connecting…' : 'Offline, reconnecting…';
  return (
    <footer class="status-line" data-testid="status-line" data-status={store.status}>
      <span class={'status-dot' + (online ? ' on' : '')} aria-hidden="true" />
      <span data-testid="connection-status" role="status">
        {label}
      </span>
      <span class="sep">·</span>
      <span data-testid="transport" data-transport={store.transport ?? ''} title={`setting: ${store.transportPref}`}>
        {store.transport ?? store.transportPref}
      </span>
      {store.notice && (
        <span class="notice" data-testid="notice" title={store.notice}>
          {store.notice}
        </span>
      )}
    </footer>
  );
}

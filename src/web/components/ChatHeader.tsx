/** A conversation's header: back, avatar, title with presence or member count, and the ⋯ menu (mute, mark unread). */
import { useRef } from 'preact/hooks';
import type { InboxRow } from '../../client';
import { goTo } from '../hooks';
import type { AppStore } from '../store';
import { useMenuDismiss } from './focus';
import { Avatar, MutedIcon } from './ui';

/** Back to the list (the only way out on a phone-sized window). */
export function BackButton() {
  return (
    <button class="icon-btn back" aria-label="Back" data-testid="back" onClick={() => goTo(null)}>
      ‹
    </button>
  );
}

/** `menu` (the ⋯ menu is open) belongs to the chat view, so it outlives a header shown as "Loading…". */
export function ChatHeader(props: { store: AppStore; row: InboxRow; menu: boolean; onMenu: (open: boolean) => void }) {
  const { store, row, menu, onMenu: setMenu } = props;
  const menuRef = useRef<HTMLDivElement>(null);
  const menuButton = useRef<HTMLButtonElement>(null);
  useMenuDismiss(menu, () => setMenu(false), menuRef, menuButton);
  const convId = row.conv_id;
  const title = store.titleOf(row);
  const muted = store.isMuted(row);
  const peer = row.type === 'direct' ? row.peer_id : null;
  const presence = peer ? store.presence(peer) : null;
  const others = store.others(convId);
  const subtitle = peer ? (presence === 'online' ? 'Active now' : presence === 'offline' ? 'Offline' : '') : `${others.length + 1} members`;

  return (
    <header class="chat-head">
      <BackButton />
      <Avatar id={convId} name={title} size={38} presence={presence} group={row.type === 'group'} />
      <div class="chat-title">
        <div class="name" data-testid="chat-title">
          {title} {muted && <MutedIcon />}
        </div>
        <div class="sub" data-testid="chat-presence">
          {subtitle}
        </div>
      </div>
      <button ref={menuButton} class="icon-btn" aria-label="Conversation menu" aria-expanded={menu} aria-controls="chat-menu-list" data-testid="chat-menu" onClick={() => setMenu(!menu)}>
        ⋯
      </button>
      {menu && (
        <div class="menu" id="chat-menu-list" ref={menuRef} data-testid="chat-menu-list" onClick={() => setMenu(false)}>
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
  );
}

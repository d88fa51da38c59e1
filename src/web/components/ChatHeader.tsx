/** A conversation's header: back, avatar, title with presence or member count, and the ⋯ menu (mute, mark unread). */
import { useRef } from 'preact/hooks';
import type { InboxRow } from '../../client';
import { goTo, useNow } from '../hooks';
import { presenceLabel } from '../presence';
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
  const seen = peer ? store.presenceOf(peer) : null;
  const presence = seen?.state ?? null;
  const others = store.others(convId);
  // Re-rendered every 30 s, so "Active 4m ago" becomes "Active 5m ago" without any event.
  const now = useNow(30_000);
  const subtitle = peer ? presenceLabel(seen, now) : `${others.length + 1} members`;

  return (
    <header class="chat-head">
      <BackButton />
      <Avatar id={peer ?? convId} name={title} size={38} presence={presence} group={row.type === 'group'} />
      <div class="chat-title">
        <div class="name" data-testid="chat-title">
          {title} {muted && <MutedIcon />}
        </div>
        <div class="sub" data-testid="chat-presence" data-state={presence ?? ''}>
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

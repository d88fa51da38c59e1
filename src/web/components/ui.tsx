/** Small shared pieces: avatars with a presence dot, icons. */
import { avatarColor, hue, initials } from '../format';
import type { Tick } from '../receipts';

export function Avatar(props: { id: string; name: string; size?: number; presence?: 'online' | 'offline' | null; group?: boolean }) {
  const size = props.size ?? 44;
  return (
    <span
      class={'avatar' + (props.group ? ' group' : '')}
      style={{ width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.38)}px`, background: avatarColor(hue(props.id)) }}
      aria-hidden="true"
    >
      {initials(props.name)}
      {props.presence === 'online' && <span class="presence-dot" data-testid="presence-dot" title="Active now" />}
    </span>
  );
}

export function MutedIcon() {
  return (
    <svg class="icon muted-icon" data-testid="muted-icon" viewBox="0 0 24 24" width="16" height="16" aria-label="Muted" role="img">
      <path
        fill="currentColor"
        d="M16.5 12c0-1.77-1.02-3.29-2.5-4.03v2.21l2.45 2.45c.03-.2.05-.41.05-.63zM19 12c0 .94-.2 1.82-.54 2.64l1.51 1.51A8.8 8.8 0 0 0 21 12c0-4.28-2.99-7.86-7-8.77v2.06c2.89.86 5 3.54 5 6.71zM4.27 3 3 4.27 7.73 9H3v6h4l5 5v-6.73l4.25 4.25c-.67.52-1.42.93-2.25 1.18v2.06a8.99 8.99 0 0 0 3.69-1.81L19.73 21 21 19.73l-9-9L4.27 3zM12 4 9.91 6.09 12 8.18V4z"
      />
    </svg>
  );
}

export function Ticks(props: { status: Tick }) {
  const label = { pending: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Not sent' }[props.status];
  const glyph = { pending: '◷', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!' }[props.status];
  return (
    <span class={`ticks ${props.status}`} data-testid="msg-status" data-status={props.status} title={label} aria-label={label}>
      {glyph}
    </span>
  );
}

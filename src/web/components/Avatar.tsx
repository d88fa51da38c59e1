/** A round avatar with initials on a given colour, and an optional presence dot. */
import { initials } from '../format';

export function Avatar(props: {
  name: string;
  /** A CSS colour; `avatarColour(user_id)` for a person. */
  colour: string;
  size?: number;
  presence?: 'online' | 'offline' | null;
  group?: boolean;
}) {
  const size = props.size ?? 44;
  return (
    <span
      class={'avatar' + (props.group ? ' group' : '')}
      style={{ width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.38)}px`, background: props.colour }}
      data-testid="avatar"
      data-colour={props.colour}
      aria-hidden="true"
    >
      {initials(props.name)}
      {props.presence === 'online' && <span class="presence-dot" data-testid="presence-dot" title="Active now" />}
    </span>
  );
}

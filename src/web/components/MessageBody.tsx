/** A message's text with its links made clickable; a long one clipped with "See more" until the reader expands it. */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { clipBody } from '../clip';
import { splitEmoji } from '../emoji';
import { linkify, type Piece } from '../format';

export function MessageBody(props: { body: string }) {
  const [expanded, setExpanded] = useState(false);
  const clipped = expanded ? null : clipBody(props.body);
  return (
    <span class="body" data-testid="message-body" data-clipped={clipped ? 'true' : undefined}>
      {render(clipped ?? linkify(props.body))}
      {clipped && (
        <>
          {'… '}
          <button
            type="button"
            class="see-more"
            data-testid="see-more"
            onClick={(e) => {
              // The bubble's own click opens its actions; this one only expands.
              e.stopPropagation();
              setExpanded(true);
            }}
          >
            See more
          </button>
        </>
      )}
    </span>
  );
}

function render(pieces: Piece[]) {
  return pieces.map((p, i) =>
    p.href ? (
      <a key={i} href={p.href} target="_blank" rel="noopener noreferrer nofollow" onClick={(e) => e.stopPropagation()}>
        {p.text}
      </a>
    ) : (
      <Fragment key={i}>{withEmoji(p.text)}</Fragment>
    ),
  );
}

/**
 * Emoji in their own spans: a text font that has monochrome emoji glyphs (DejaVu Sans,
 * Linux's usual UI font) would otherwise draw them before the colour emoji font is tried.
 */
function withEmoji(text: string) {
  return splitEmoji(text).map((r, i) =>
    r.emoji ? (
      <span key={i} class="emoji">
        {r.text}
      </span>
    ) : (
      r.text
    ),
  );
}

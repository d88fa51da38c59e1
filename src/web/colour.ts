/**
 * A person's colour: picked from their user id by a stable hash (FNV-1a), so every viewer,
 * on every device, sees the same person in the same colour. The palette's colours all keep
 * white initials readable (contrast 4.5:1 or more, WCAG AA).
 */
const palette = [
  '#1565c0',
  '#2e7d32',
  '#c62828',
  '#6a1b9a',
  '#ad1457',
  '#00695c',
  '#4527a0',
  '#bf360c',
  '#283593',
  '#37474f',
  '#8e24aa',
  '#0277bd',
  '#33691e',
  '#b71c1c',
  '#5d4037',
  '#006064',
] as const;

/** FNV-1a over the id's UTF-16 units: the same number in every browser. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The avatar colour of a user (or, for a group, of the conversation) id. */
export function avatarColour(id: string): string {
  return palette[fnv1a(id) % palette.length];
}

/** Avatar colours: derived from the user (or conversation) id alone, so every viewer sees a person in the same colour. */

/** A hue in [0, 360): FNV-1a over the id's UTF-16 units, stable across browsers and sessions. */
export function idHue(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 360;
}

/** The avatar background for an id. */
export function avatarColour(id: string): string {
  return `hsl(${idHue(id)} 55% 45%)`;
}

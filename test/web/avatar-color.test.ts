/**
 * Avatar colours: white initials pass WCAG AA (4.5:1) on every colour a person can get.
 * The colours are gathered through avatarColour itself, over enough ids to meet each one.
 */
import { avatarColour } from '../../src/web/colour';

function linear(channel: number): number {
  const c = channel / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** WCAG contrast of white text on a #rrggbb background. */
function contrastWithWhite(hex: string): number {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  const [r, g, b] = [m[1], m[2], m[3]].map((h) => linear(parseInt(h, 16)));
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return 1.05 / (luminance + 0.05);
}

test('every avatar colour keeps white initials at 4.5:1 or more', () => {
  const colours = new Set(Array.from({ length: 2000 }, (_, i) => avatarColour(`u_${i.toString(36)}`)));
  expect(colours.size).toBeGreaterThanOrEqual(12);
  const failures = [...colours].filter((c) => contrastWithWhite(c) < 4.5).map((c) => `${c}: ${contrastWithWhite(c).toFixed(2)}:1`);
  expect(failures).toEqual([]);
});

test('the contrast formula agrees with known pairs (so the check above measures something)', () => {
  expect(contrastWithWhite('#000000')).toBeCloseTo(21, 5);
  expect(contrastWithWhite('#ffffff')).toBeCloseTo(1, 5);
  // #767676 is the lightest grey that passes AA under white.
  expect(contrastWithWhite('#767676')).toBeGreaterThanOrEqual(4.5);
  expect(contrastWithWhite('#777777')).toBeLessThan(4.5);
});

/** Avatar colours depend on the id alone: the same on every viewer's screen, spread over the hues. */
import { avatarColour, idHue } from '../../src/web/colour';

test('the same id gives the same colour, pinned so it never changes between releases', () => {
  expect(avatarColour('u_alice')).toBe(avatarColour('u_alice'));
  // FNV-1a of "a" is 0xe40c292c.
  expect(idHue('a')).toBe(0xe40c292c % 360);
});

test('ids spread over the colour wheel', () => {
  const hues = new Set(Array.from({ length: 200 }, (_, i) => Math.floor(idHue(`u_${i}`) / 30)));
  expect(hues.size).toBe(12);
});

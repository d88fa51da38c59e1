/**
 * Avatar colours: white initials pass WCAG AA (4.5:1) on the background of every hue.
 * The CSS colour is converted here as CSS Color 4 does (LCH → Lab → XYZ D50 → D65 →
 * sRGB), and it has to be inside sRGB: a browser would otherwise map it to another
 * colour, of another lightness.
 */
import { avatarColor } from '../../src/web/format';

function lchToLinearSrgb(l: number, c: number, hDeg: number): [number, number, number] {
  const h = (hDeg * Math.PI) / 180;
  const [a, b] = [c * Math.cos(h), c * Math.sin(h)];
  const fy = (l + 16) / 116;
  const [fx, fz] = [fy + a / 500, fy - b / 200];
  const eps = 216 / 24389;
  const kappa = 24389 / 27;
  const inv = (f: number) => (f ** 3 > eps ? f ** 3 : (116 * f - 16) / kappa);
  const white = [0.3457 / 0.3585, 1, (1 - 0.3457 - 0.3585) / 0.3585];
  const [x, y, z] = [inv(fx) * white[0], l > kappa * eps ? fy ** 3 : l / kappa, inv(fz) * white[2]];
  // Bradford D50 → D65, then XYZ D65 → linear sRGB (the matrices of CSS Color 4).
  const x65 = 0.9554734527042182 * x - 0.023098536874261423 * y + 0.0632593086610217 * z;
  const y65 = -0.028369706963208136 * x + 1.0099954580058226 * y + 0.021041398966943008 * z;
  const z65 = 0.012314001688319899 * x - 0.020507696433477912 * y + 1.3303659366080753 * z;
  return [
    3.2409699419045226 * x65 - 1.537383177570094 * y65 - 0.4986107602930034 * z65,
    -0.9692436362808796 * x65 + 1.8759675015077202 * y65 + 0.04155505740717559 * z65,
    0.05563007969699366 * x65 - 0.20397695888897652 * y65 + 1.0569715142428786 * z65,
  ];
}

function parseLch(css: string): [number, number, number] {
  const m = /^lch\(([\d.]+)% ([\d.]+) ([\d.]+)\)$/.exec(css);
  if (!m) throw new Error(`not an lch() colour: ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

test('every hue gives an sRGB colour under white initials at 4.5:1 or more', () => {
  const failures: string[] = [];
  for (let hue = 0; hue < 360; hue++) {
    const css = avatarColor(hue);
    const rgb = lchToLinearSrgb(...parseLch(css));
    const inGamut = rgb.every((v) => v >= -1e-4 && v <= 1 + 1e-4);
    const luminance = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    const ratio = 1.05 / (luminance + 0.05);
    if (!inGamut || ratio < 4.5) failures.push(`${css}: ${inGamut ? '' : 'outside sRGB, '}${ratio.toFixed(2)}:1`);
  }
  expect(failures).toEqual([]);
});

test('the conversion agrees with known colours (so the check above measures something)', () => {
  // lch(50% 0 0) is the mid grey #777777 (linear 0.184); lch(100% 0 0) is white.
  expect(lchToLinearSrgb(50, 0, 0).map((v) => v.toFixed(3))).toEqual(['0.184', '0.184', '0.184']);
  expect(lchToLinearSrgb(100, 0, 0).map((v) => v.toFixed(3))).toEqual(['1.000', '1.000', '1.000']);
  // A saturated yellow at this lightness falls outside sRGB: the gamut check can fail.
  expect(lchToLinearSrgb(42, 90, 90).some((v) => v < 0 || v > 1)).toBe(true);
});

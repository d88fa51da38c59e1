/**
 * Dark mode rests on one rule of app.css: colours are named only in the custom properties
 * at its top (light values on :root, dark ones under prefers-color-scheme: dark). A rule
 * that names a colour itself would stay light in dark mode, so this test refuses it, and
 * refuses a var(--name) that no :root defines.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const css = readFileSync(join(__dirname, '../../src/web/app.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');

/** The text of the block that opens at `open` (the index of its `{`). */
function block(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error('unbalanced braces in app.css');
}

const lightAt = css.indexOf(':root {');
const light = block(css, css.indexOf('{', lightAt));
const darkAt = css.indexOf('@media (prefers-color-scheme: dark)');
const dark = block(css, css.indexOf('{', darkAt));
const rest = css.replace(light, '{}').replace(dark, '{}');

const defined = (text: string) => new Set([...text.matchAll(/(--[\w-]+)\s*:/g)].map((m) => m[1]));
const colourLiteral = /#[0-9a-f]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\(|(?<![\w-])(?:white|black|red|green|blue|gray|grey|silver|yellow|orange|purple|pink|navy)(?![\w-])/i;

test('both colour schemes are declared at the top of app.css', () => {
  expect(lightAt).toBeGreaterThanOrEqual(0);
  expect(darkAt).toBeGreaterThan(lightAt);
  expect(light).toContain('color-scheme: light');
  expect(dark).toContain('color-scheme: dark');
});

test('no rule outside the colour variables names a colour', () => {
  const offenders = [...rest.matchAll(/([\w-]+)\s*:\s*([^;{}]+)/g)]
    .filter(([, prop, value]) => !prop.startsWith('--') && colourLiteral.test(value.replace(/var\([^)]*\)/g, '')))
    .map(([decl]) => decl.trim());
  expect(offenders).toEqual([]);
});

test('every variable used is defined on :root, and dark mode only redefines existing ones', () => {
  const lightVars = defined(light);
  const used = new Set([...css.matchAll(/var\((--[\w-]+)/g)].map((m) => m[1]));
  expect([...used].filter((v) => !lightVars.has(v))).toEqual([]);
  expect([...defined(dark)].filter((v) => !lightVars.has(v))).toEqual([]);
});

test('the checks see a colour written in a rule (so they can fail)', () => {
  expect(colourLiteral.test('1px solid #fff')).toBe(true);
  expect(colourLiteral.test('0 1px 2px rgba(0, 0, 0, 0.1)')).toBe(true);
  expect(colourLiteral.test('white')).toBe(true);
  expect(colourLiteral.test('var(--blue)'.replace(/var\([^)]*\)/g, ''))).toBe(false);
  expect(colourLiteral.test('currentColor')).toBe(false);
});

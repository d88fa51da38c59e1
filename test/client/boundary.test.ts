import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The SDK ships to browsers on its own: only the pure protocol files and its own files.
const allowed = new Set(['../protocol/frames', '../protocol/errors', '../protocol/ids']);

test('src/client imports nothing but its own files and the pure protocol files', () => {
  const dir = join(__dirname, '../../src/client');
  const bad: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      if (!(spec.startsWith('./') || allowed.has(spec))) bad.push(`${file}: ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

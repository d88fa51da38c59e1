import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The SDK ships to browsers on its own: only the pure protocol files and its own files.
const allowed = new Set(['../protocol/frames', '../protocol/errors', '../protocol/ids']);
// ...and the `mqtt` package, only as a dynamic import: a static one would put it in every
// app's bundle, while import() leaves it to a lazy chunk loaded when MQTT is chosen.
const lazy = new Set(['mqtt']);

test('src/client imports nothing but its own files, the pure protocol files and, lazily, mqtt', () => {
  const dir = join(__dirname, '../../src/client');
  const bad: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/(from\s+|import\s*\(\s*|require\s*\(\s*)['"]([^'"]+)['"]/g)) {
      const [, how, spec] = m;
      const dynamic = how.startsWith('import');
      if (!(spec.startsWith('./') || allowed.has(spec) || (dynamic && lazy.has(spec)))) bad.push(`${file}: ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

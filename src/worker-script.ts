/**
 * Where a worker thread's compiled script is. Threads load JavaScript: running from dist/
 * it sits under this file's folder; under ts-jest (src/) it is taken from dist/, built by
 * `npm run build` (which `npm test` runs first).
 */
import fs from 'node:fs';
import path from 'node:path';

/** `file` relative to src/ (e.g. 'media/image-worker.js'), or null when it was never built. */
export function compiledWorker(file: string): string | null {
  const candidates = [path.join(__dirname, file), path.join(__dirname, '..', 'dist', file)];
  return candidates.find((f) => fs.existsSync(f)) ?? null;
}

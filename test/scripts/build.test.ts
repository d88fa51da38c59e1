/**
 * `npm start` runs `npm run build` (scripts/build.js) first: a second build with nothing
 * changed must not write a single file, and a changed source must be built again. Runs on
 * a copy of the sources in a temporary folder, so the repository's own dist/ (which other
 * suites run) is never touched.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const repo = join(__dirname, '..', '..');
let dir: string;

/** Every file under dist/ with its change time and bytes. */
function snapshot(): Map<string, { mtimeMs: number; bytes: string }> {
  const files = new Map<string, { mtimeMs: number; bytes: string }>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(relative(dir, p), { mtimeMs: statSync(p).mtimeMs, bytes: readFileSync(p, 'base64') });
    }
  };
  walk(join(dir, 'dist'));
  return files;
}

/** The files whose time or bytes differ between two snapshots, or that only one has. */
function changed(before: ReturnType<typeof snapshot>, after: ReturnType<typeof snapshot>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((n) => before.get(n)?.mtimeMs !== after.get(n)?.mtimeMs || before.get(n)?.bytes !== after.get(n)?.bytes).sort();
}

const build = (): string => execFileSync(process.execPath, ['scripts/build.js'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'build-'));
  for (const f of ['src', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json']) cpSync(join(repo, f), join(dir, f), { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a second build writes nothing; a changed server file, script file or web file is built again, alone', () => {
  build();
  expect(statSync(join(dir, 'dist/main.js')).isFile()).toBe(true);
  expect(statSync(join(dir, 'dist/web/app.js')).isFile()).toBe(true);
  const first = snapshot();
  expect([...first.keys()].some((f) => f.endsWith('.sql'))).toBe(true);

  expect(build()).toMatch(/up to date/);
  expect(changed(first, snapshot())).toEqual([]);

  // A comment is emitted as it is: the compiled file changes, nothing that imports it does.
  appendFileSync(join(dir, 'src/config/schema.ts'), '\n// build probe: server\n');
  const sql = readdirSync(join(dir, 'src/store/sqlite')).find((f) => f.endsWith('.sql'));
  expect(sql).toBeDefined();
  appendFileSync(join(dir, 'src/store/sqlite', sql as string), '\n-- build probe: schema\n');
  appendFileSync(join(dir, 'src/web/app.css'), '\n/* build probe: web */\n');
  build();
  const third = snapshot();
  const rewritten = changed(first, third);
  expect(rewritten).toEqual(expect.arrayContaining(['dist/config/schema.js', `dist/store/sqlite/${sql as string}`, 'dist/web/app.css']));
  expect(rewritten).not.toContain('dist/main.js');
  expect(readFileSync(join(dir, 'dist/config/schema.js'), 'utf8')).toContain('build probe: server');

  expect(build()).toMatch(/up to date/);
  expect(changed(third, snapshot())).toEqual([]);
}, 300_000);

test('a source removed or moved takes its compiled file with it: the old path no longer loads', () => {
  build();
  // A module moved from a file to a folder: `require('./x')` must find the new one, not a stale dist/x.js.
  writeFileSync(join(dir, 'src/build-probe.ts'), 'export const probe = 1;\n');
  build();
  expect(existsSync(join(dir, 'dist/build-probe.js'))).toBe(true);
  rmSync(join(dir, 'src/build-probe.ts'));
  mkdirSync(join(dir, 'src/build-probe'));
  writeFileSync(join(dir, 'src/build-probe/index.ts'), 'export const probe = 2;\n');
  build();
  expect(existsSync(join(dir, 'dist/build-probe.js'))).toBe(false);
  expect(existsSync(join(dir, 'dist/build-probe.js.map'))).toBe(false);
  expect(existsSync(join(dir, 'dist/build-probe/index.js'))).toBe(true);
  // A removed schema file goes too.
  writeFileSync(join(dir, 'src/store/sqlite/probe.sql'), '-- probe\n');
  build();
  expect(existsSync(join(dir, 'dist/store/sqlite/probe.sql'))).toBe(true);
  rmSync(join(dir, 'src/store/sqlite/probe.sql'));
  build();
  expect(existsSync(join(dir, 'dist/store/sqlite/probe.sql'))).toBe(false);
  rmSync(join(dir, 'src/build-probe'), { recursive: true });
  build();
  expect(existsSync(join(dir, 'dist/build-probe/index.js'))).toBe(false);
}, 300_000);

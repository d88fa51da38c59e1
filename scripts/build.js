#!/usr/bin/env node
// Builds dist/ (what `npm start` and the tests run), redoing only what changed since the
// last build, so a second `npm start` starts at once instead of after a full compile:
//
// - server: `tsc -p tsconfig.build.json`, incremental (dist/.tsbuildinfo), and only run when
//   a file or folder under src/ (the web client aside), a tsconfig or the installed
//   packages is newer than dist/.build-stamp. Even a no-op tsc costs seconds, since it
//   parses every file; a folder's time changes when a file in it is added, removed or
//   renamed, which is what catches deletions.
// - schema and script files (.sql, .cql, .lua under src/): copied when their bytes differ.
// - outputs whose source is gone (a removed or moved module, a removed schema file) are
//   deleted: an incremental tsc never removes what it once wrote.
// - web client: scripts/build-web.js, only when a file it was bundled from (esbuild's own
//   list, node_modules included) or build-web.js itself is newer than dist/.build-web.json.
//
// The stamps carry the time the build started, not ended: a file saved during a build is
// newer than the stamp and is built the next time. `--force` rebuilds everything; so does
// deleting dist/ (the tsbuildinfo lives there, so the compiler cannot believe a deleted
// output is current).
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');
const { buildWeb } = require('./build-web');

const root = join(__dirname, '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const serverStamp = join(dist, '.build-stamp');
// Beside dist/web, not in it: dist/web is served as it is.
const webStamp = join(dist, '.build-web.json');
const assetPattern = /\.(sql|cql|lua)$/;

/** Every file and folder under dir, skipping the folders in `skip`. */
function walk(dir, skip, found = []) {
  found.push(dir);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skip.includes(path)) walk(path, skip, found);
    } else {
      found.push(path);
    }
  }
  return found;
}

/** Milliseconds since the epoch of a file's last change; Infinity when it is gone (so: stale). */
function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

/** True when the stamp exists and no input changed after it. */
function fresh(stamp, inputs) {
  const built = mtime(stamp);
  if (built === Infinity) return false;
  return inputs.every((path) => mtime(path) <= built);
}

/** Writes a stamp dated to when the build started. */
function stampAt(path, startedMs, content) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  const t = new Date(startedMs);
  utimesSync(path, t, t);
}

function buildServer(force, startedMs, sources) {
  const inputs = [
    ...sources,
    join(root, 'tsconfig.json'),
    join(root, 'tsconfig.build.json'),
    join(root, 'node_modules', '.package-lock.json'),
    __filename,
  ].filter(existsSync);
  if (!force && existsSync(join(dist, 'main.js')) && fresh(serverStamp, inputs)) return false;
  const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error('build: the TypeScript compile failed (see above); dist/ is not marked current');
    process.exit(run.status ?? 1);
  }
  stampAt(serverStamp, startedMs, 'built from src/ (see scripts/build.js)\n');
  return true;
}

/**
 * Removes what a source no longer stands behind: compiled files and copied assets under
 * dist/ (dist/web and the stamps aside) whose file under src/ is gone. An incremental
 * tsc never deletes an output, and a module moved from src/x.ts to src/x/index.ts would
 * otherwise still load from the old dist/x.js. Returns how many were removed.
 */
function pruneOrphans() {
  let removed = 0;
  for (const path of walk(dist, [join(dist, 'web')])) {
    const rel = relative(dist, path);
    if (rel === '' || rel.split(/[\\/]/).some((part) => part.startsWith('.')) || statSync(path).isDirectory()) continue;
    const base = join(src, rel.replace(/\.js(\.map)?$/, ''));
    const stands = assetPattern.test(rel) ? existsSync(join(src, rel)) : existsSync(`${base}.ts`) || existsSync(`${base}.tsx`);
    if (stands) continue;
    rmSync(path);
    removed++;
  }
  return removed;
}

/** Copies schema and script files whose bytes differ; returns how many were written. */
function copyAssets(sources) {
  let copied = 0;
  for (const from of sources) {
    if (!assetPattern.test(from)) continue;
    const to = join(dist, relative(src, from));
    const bytes = readFileSync(from);
    if (existsSync(to) && readFileSync(to).equals(bytes)) continue;
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, bytes);
    copied++;
  }
  return copied;
}

async function buildClient(force, startedMs) {
  if (!force && existsSync(webStamp)) {
    const recorded = JSON.parse(readFileSync(webStamp, 'utf8'));
    const outputs = ['index.html', 'app.css', 'app.js', 'sw.js'].map((f) => join(dist, 'web', f));
    if (outputs.every(existsSync) && fresh(webStamp, recorded.inputs.map((p) => join(root, p)))) return false;
  }
  // The bundler's own settings count as inputs too (target, minification).
  const inputs = [...(await buildWeb()), join(root, 'scripts', 'build-web.js')].filter(existsSync).map((p) => relative(root, p));
  stampAt(webStamp, startedMs, JSON.stringify({ inputs }, null, 1) + '\n');
  return true;
}

async function main() {
  const force = process.argv.includes('--force');
  const startedMs = Date.now();
  // Without its tsbuildinfo tsc compiles and writes every file again.
  if (force) for (const f of [serverStamp, webStamp, join(dist, '.tsbuildinfo')]) rmSync(f, { force: true });
  const sources = walk(src, [join(src, 'web')]);
  const server = buildServer(force, startedMs, sources);
  const assets = copyAssets(sources);
  const pruned = existsSync(dist) ? pruneOrphans() : 0;
  const client = await buildClient(force, startedMs);
  if (!server && !assets && !pruned && !client) console.log('build: dist/ is up to date with src/ (npm run build -- --force rebuilds it all)');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

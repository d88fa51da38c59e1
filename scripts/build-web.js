#!/usr/bin/env node
// Bundles the web client (src/web) with esbuild into dist/web: app.js, app.css, index.html,
// and the service worker sw.js (its own bundle: it runs in a worker, apart from the page).
// Type checking is `npm run typecheck` (tsconfig.web.json); esbuild only transpiles.
// `npm run build` (scripts/build.js) calls it only when one of its inputs changed.
'use strict';
const { mkdirSync, copyFileSync } = require('node:fs');
const { join, relative, resolve } = require('node:path');
const esbuild = require('esbuild');

const root = join(__dirname, '..');
const src = join(root, 'src/web');
const out = join(root, 'dist/web');

/** esbuild options of the page bundle and the service worker bundle. */
function bundles(watch) {
  const page = {
    entryPoints: [join(src, 'main.tsx')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: !watch,
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
    // The SDK imports `mqtt` only when a client chooses transport 'mqtt', which the web
    // client never does; an iife cannot split it into a lazy chunk, so it stays out.
    external: ['mqtt'],
    absWorkingDir: root,
  };
  // At the root of dist/web, so served as /sw.js its default scope is the whole app.
  const worker = { ...page, entryPoints: [join(src, 'sw.ts')], outfile: join(out, 'sw.js') };
  return [page, worker];
}

/**
 * Builds dist/web once. Resolves to the absolute paths of every file the output was made
 * from (sources, node_modules files, the copied page and stylesheet), for scripts/build.js
 * to tell later whether it is still fresh.
 */
async function buildWeb() {
  mkdirSync(out, { recursive: true });
  copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(src, 'app.css'), join(out, 'app.css'));
  const results = await Promise.all(bundles(false).map((o) => esbuild.build({ ...o, metafile: true })));
  const inputs = new Set([join(src, 'index.html'), join(src, 'app.css')]);
  for (const r of results) for (const input of Object.keys(r.metafile.inputs)) inputs.add(resolve(root, input));
  const bytes = results[0].metafile.outputs[relative(root, join(out, 'app.js'))]?.bytes;
  console.log(`web client built in dist/web${bytes ? ` (app.js ${(bytes / 1024).toFixed(1)} KiB)` : ''}`);
  return [...inputs];
}

async function watch() {
  mkdirSync(out, { recursive: true });
  copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(src, 'app.css'), join(out, 'app.css'));
  for (const o of bundles(true)) await (await esbuild.context(o)).watch();
  console.log('watching src/web');
}

module.exports = { buildWeb };

if (require.main === module) {
  (process.argv.includes('--watch') ? watch() : buildWeb()).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

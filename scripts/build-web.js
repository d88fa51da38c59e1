#!/usr/bin/env node
// Bundles the web client (src/web) with esbuild into dist/web: app.js, app.css, index.html,
// and the service worker sw.js (its own bundle: it runs in a worker, apart from the page).
// Type checking is `npm run typecheck` (tsconfig.web.json); esbuild only transpiles.
'use strict';
const { mkdirSync, copyFileSync } = require('node:fs');
const { join } = require('node:path');
const esbuild = require('esbuild');

const root = join(__dirname, '..');
const src = join(root, 'src/web');
const out = join(root, 'dist/web');

async function main() {
  const watch = process.argv.includes('--watch');
  mkdirSync(out, { recursive: true });
  copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(src, 'app.css'), join(out, 'app.css'));
  const options = {
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
  };
  // At the root of dist/web, so served as /sw.js its default scope is the whole app.
  const worker = { ...options, entryPoints: [join(src, 'sw.ts')], outfile: join(out, 'sw.js') };
  if (watch) {
    for (const o of [options, worker]) await (await esbuild.context(o)).watch();
    console.log('watching src/web');
    return;
  }
  const [result] = await Promise.all([esbuild.build({ ...options, metafile: true }), esbuild.build(worker)]);
  const bytes = result.metafile.outputs[join('dist/web/app.js')]?.bytes;
  console.log(`web client built in dist/web${bytes ? ` (app.js ${(bytes / 1024).toFixed(1)} KiB)` : ''}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

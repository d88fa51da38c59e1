/**
 * The SDK as a package (sdk/package.json over the `npm run build:sdk` output), as
 * docs/client-sdk.md, "Installing", describes it: one entry point through `exports`, for
 * require and import in Node and with its types for TypeScript; only the SDK's own files
 * and the pure protocol files inside; nothing reachable by a deep path.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './markdown';

const sdkDir = join(repoRoot, 'sdk');
const pkg = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8')) as { name: string; version: string; exports: Record<string, unknown>; dependencies?: Record<string, string> };
const rootPkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
let consumer: string;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

function node(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, args, { cwd: consumer, encoding: 'utf8' });
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
}

beforeAll(() => {
  execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(repoRoot, 'tsconfig.sdk.json')], { cwd: repoRoot });
  // An app that installed the package: node_modules/<name> is the sdk folder.
  consumer = mkdtempSync(join(tmpdir(), 'sdk-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  symlinkSync(sdkDir, join(consumer, 'node_modules', pkg.name), 'dir');
}, 120_000);
afterAll(() => rmSync(consumer, { recursive: true, force: true }));

test('the package depends on mqtt alone (the version this repository tests) and has one entry point with types', () => {
  expect(pkg.dependencies).toEqual({ mqtt: rootPkg.dependencies.mqtt });
  expect(Object.keys(pkg.exports).sort()).toEqual(['.', './package.json']);
});

test('mqtt stays a dynamic import in the build, so bundlers leave it to a lazy chunk', () => {
  const built = files(join(sdkDir, 'dist')).filter((f) => f.endsWith('.js'));
  const mentions = built.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/(import|require)\s*\(\s*['"]mqtt['"]\s*\)/g)].map((m) => `${relative(sdkDir, f)}: ${m[0]}`));
  expect(mentions).toEqual(["dist/client/mqtt.js: import('mqtt')"]);
});

test('it holds the SDK and the pure protocol files only', () => {
  const built = files(join(sdkDir, 'dist')).map((f) => relative(join(sdkDir, 'dist'), f));
  const outside = built.filter((f) => !f.startsWith('client/') && !/^protocol\/(frames|errors|ids)\.(js|d\.ts)$/.test(f));
  expect(outside).toEqual([]);
  expect(built).toEqual(expect.arrayContaining(['client/index.js', 'client/index.d.ts']));
});

test('npm pack (as docs/client-sdk.md runs it) packs the built files, the README and the manifest only', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', './sdk'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [packed] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  expect(packed.filename).toBe(`${pkg.name}-${pkg.version}.tgz`);
  const paths = packed.files.map((f) => f.path);
  expect(paths.filter((p) => !p.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
  expect(paths).toEqual(expect.arrayContaining(['dist/client/index.js', 'dist/client/index.d.ts']));
}, 60_000);

test('Node loads it with require and with import; deep paths are closed', () => {
  expect(node(['-e', `const c = require('${pkg.name}'); console.log(typeof c.ChatClient, typeof c.RestClient)`])).toEqual({ status: 0, out: 'function function' });
  expect(node(['--input-type=module', '-e', `import { ChatClient, RestClient, MUTED_FOREVER } from '${pkg.name}'; console.log(typeof ChatClient, typeof RestClient, MUTED_FOREVER)`])).toEqual({
    status: 0,
    out: 'function function -1',
  });
  expect(node(['-e', `require('${pkg.name}/dist/client/chat.js')`]).out).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
});

test.each([
  ['node16', ts.ModuleResolutionKind.Node16, ts.ModuleKind.Node16],
  ['bundler', ts.ModuleResolutionKind.Bundler, ts.ModuleKind.ES2022],
  ['node', ts.ModuleResolutionKind.Node10, ts.ModuleKind.CommonJS],
])('TypeScript finds its types with moduleResolution %s', (_name, moduleResolution, module) => {
  const file = join(consumer, `app-${_name}.ts`);
  writeFileSync(
    file,
    `import { ChatClient, RestClient, type SyncState } from '${pkg.name}';\n` +
      `const state: SyncState = { convs: {} };\n` +
      `export const client = new ChatClient({ baseUrl: 'http://localhost:8080', token: 't', deviceId: 'd', state, transport: 'longpoll' });\n` +
      `export const rest: RestClient = client.rest;\n` +
      // A wrong option must be an error: the types are really there, not `any`.
      `// @ts-expect-error\nnew ChatClient({ baseUrl: 1 });\n`,
  );
  const program = ts.createProgram([file], { strict: true, noEmit: true, module, moduleResolution, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [] });
  const messages = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(messages).toEqual([]);
}, 60_000);

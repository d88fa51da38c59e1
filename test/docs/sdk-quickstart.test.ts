/**
 * docs/client-sdk.md's quick start, run as a Node script against a started server, twice:
 * the second run finds the accounts taken (it logs in), gets the same conversation back and
 * resumes from the sync state the first run saved. Compiled from the doc's text (types
 * checked by samples.test.ts), with only the server's address put in.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { blocksAfter, readDoc, repoRoot } from './markdown';
import { startTestServer, stopTestServer, type TestServer } from '../e2e/harness';

const [sample] = blocksAfter(readDoc('docs/client-sdk.md'), '## Quick start');

let server: TestServer;
let app: string;

beforeAll(async () => {
  server = await startTestServer();
  // An app folder: the SDK (as built by `npm run build` into dist/) and ws installed.
  app = mkdtempSync(join(tmpdir(), 'sdk-quickstart-'));
  mkdirSync(join(app, 'node_modules', 'relay-chat-client'), { recursive: true });
  writeFileSync(join(app, 'node_modules', 'relay-chat-client', 'index.js'), `module.exports = require(${JSON.stringify(join(repoRoot, 'dist', 'client', 'index.js'))});\n`);
  symlinkSync(join(repoRoot, 'node_modules', 'ws'), join(app, 'node_modules', 'ws'), 'dir');
  const js = ts.transpileModule(sample.code.replace("'http://localhost:8080'", JSON.stringify(server.url)), {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  writeFileSync(join(app, 'quickstart.mjs'), js);
});
afterAll(async () => {
  await stopTestServer(server);
  rmSync(app, { recursive: true, force: true });
});

function run(): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['quickstart.mjs'], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('the doc has its quick start as a TypeScript block', () => {
  expect(sample.lang).toBe('ts');
  expect(sample.code).toContain("const baseUrl = 'http://localhost:8080';");
});

test('the quick start runs twice: signs up then in, sends, resumes from its saved state', async () => {
  const first = await run();
  expect(first).toMatchObject({ code: 0 });
  expect(first.out).toMatch(/^session \S+ as u_/m);
  expect(first.out).toMatch(/^stored as seq \d+$/m);
  expect(first.out).toMatch(/^\d+ messages in history$/m);
  const saved = JSON.parse(readFileSync(join(app, 'chat-state.json'), 'utf8'));
  expect(saved.outbox).toEqual([]);

  const second = await run();
  expect(second).toMatchObject({ code: 0 });
  const seq = (out: string) => Number(/^stored as seq (\d+)$/m.exec(out)![1]);
  // The same conversation: the second message follows the first.
  expect(seq(second.out)).toBeGreaterThan(seq(first.out));
  expect(Number(/^(\d+) messages in history$/m.exec(second.out)![1])).toBe(2);
  expect(JSON.parse(readFileSync(join(app, 'chat-state.json'), 'utf8')).deviceId).toBe(saved.deviceId);
}, 60_000);

/**
 * Every TypeScript and JavaScript sample in the user-facing docs compiles, strictly, against
 * the SDK's own types: a sample that names a method the SDK lacks, passes the wrong
 * argument or leans on a variable it never defines fails here. The samples import the SDK
 * by its package name (`relay-chat-client`), mapped to its source; the package itself is
 * checked in sdk-package.test.ts. Shell samples are run where that is safe (the curl
 * quickstart: quickstart.test.ts); installing, Docker and cluster scripts are not.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { codeBlocks, readDoc, repoRoot } from './markdown';

const docs = ['README.md', 'bench/README.md', 'sdk/README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const compiledLangs = new Map([
  ['ts', '.ts'],
  ['typescript', '.ts'],
  ['js', '.js'],
  ['javascript', '.js'],
]);

interface Sample {
  name: string;
  file: string;
  text: string;
}

// Virtual files beside this test, so modules (`ws`, node:*) resolve from the repository.
const samples: Sample[] = docs.flatMap((doc) =>
  codeBlocks(readDoc(doc))
    .filter((b) => compiledLangs.has(b.lang))
    .map((b) => ({
      name: `${doc}:${b.line}`,
      file: join(repoRoot, 'test', 'docs', 'samples', `${doc.replace(/[/.]/g, '_')}_${b.line}${compiledLangs.get(b.lang)}`),
      // A module of its own (top-level await, no clashes between samples).
      text: `${b.code}\nexport {};\n`,
    })),
);

const options: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ES2022,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
  types: ['node'],
  skipLibCheck: true,
  esModuleInterop: true,
  allowJs: true,
  checkJs: true,
  baseUrl: repoRoot,
  paths: { 'relay-chat-client': ['src/client/index.ts'] },
};

let diagnostics: Map<string, string[]>;

beforeAll(() => {
  const byFile = new Map(samples.map((s) => [s.file, s.text]));
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => byFile.has(f) || fileExists(f);
  host.readFile = (f) => byFile.get(f) ?? readFile(f);
  host.getSourceFile = (f, lang, ...rest) => {
    const text = byFile.get(f);
    return text === undefined ? getSourceFile(f, lang, ...rest) : ts.createSourceFile(f, text, lang);
  };
  const program = ts.createProgram([...byFile.keys()], options, host);
  diagnostics = new Map(samples.map((s) => [s.file, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const file = d.file?.fileName;
    const list = file === undefined ? undefined : diagnostics.get(file);
    const where = d.file && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    (list ?? diagnostics.get(samples[0].file)!).push(where + ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  }
}, 120_000);

test('the docs have samples to compile', () => {
  expect(samples.length).toBeGreaterThan(5);
});

test.each(samples.map((s) => [s.name, s] as const))('%s compiles', (_name, sample) => {
  expect(diagnostics.get(sample.file)).toEqual([]);
});

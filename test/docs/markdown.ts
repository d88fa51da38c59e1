/**
 * Reading the user-facing docs as data, so tests can run or compile what they show and
 * check the tables they state: a doc that drifts from the server fails a test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(__dirname, '..', '..');

/** The text of a file under the repository root (README.md, docs/protocol.md, ...). */
export function readDoc(path: string): string {
  return readFileSync(join(repoRoot, path), 'utf8');
}

/** One fenced code block: its info string's language, its text and the line it starts on. */
export interface CodeBlock {
  lang: string;
  code: string;
  line: number;
}

/** Every fenced code block of a Markdown text, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i].startsWith('```'); i++) body.push(lines[i]);
    blocks.push({ lang: open[1], code: body.join('\n') + '\n', line: start + 1 });
  }
  return blocks;
}

/** The code blocks that follow the first line containing `marker`, up to the next heading. */
export function blocksAfter(markdown: string, marker: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const from = lines.findIndex((l) => l.includes(marker));
  if (from < 0) throw new Error(`marker not found: ${marker}`);
  let to = from + 1;
  // A `#` line inside a fence is a shell comment, not a heading.
  for (let fenced = false; to < lines.length; to++) {
    if (lines[to].startsWith('```')) fenced = !fenced;
    else if (!fenced && /^#{1,6} /.test(lines[to])) break;
  }
  return codeBlocks(lines.slice(from, to).join('\n')).map((b) => ({ ...b, line: b.line + from }));
}

/**
 * The rows of the first Markdown table after the heading `heading` (exact text, any level),
 * as arrays of cell texts, header row excluded. `\|` inside a cell is kept as `|`.
 */
export function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split('\n');
  const h = lines.findIndex((l) => /^#{1,6} /.test(l) && l.replace(/^#+ /, '').trim() === heading);
  if (h < 0) throw new Error(`heading not found: ${heading}`);
  let i = h + 1;
  while (i < lines.length && !lines[i].startsWith('|')) {
    if (/^#{1,6} /.test(lines[i])) throw new Error(`no table under ${heading}`);
    i++;
  }
  const rows: string[][] = [];
  for (; i < lines.length && lines[i].startsWith('|'); i++) {
    const cells = lines[i]
      .replace(/\\\|/g, '\u0000')
      .split('|')
      .slice(1, -1)
      .map((c) => c.replace(/\u0000/g, '|').trim());
    rows.push(cells);
  }
  // The header and the |---| separator.
  return rows.slice(2);
}

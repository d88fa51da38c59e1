/** The plain-text table printed at the end of a run: one line per row, PASS/FAIL per target. */
import type { BenchResults, Row } from './results';

/** A value with its unit, at a precision that suits the unit. */
export function fmt(v: number | null, unit: string): string {
  if (v === null || Number.isNaN(v)) return '—';
  let digits = 0;
  if (unit === 'ms') digits = v < 10 ? 2 : 1;
  else if (unit === 'KB' || unit === 's' || unit === 'req' || unit === 'sockets' || unit === 'img/s') digits = 2;
  else if (unit === 'µs') digits = v < 100 ? 1 : 0;
  else if (unit === 'events' || unit === '%') digits = 1;
  return `${v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${unit}`;
}

function ratio(r: Row): string {
  return r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`;
}

function verdict(r: Row): string {
  if (r.info) return 'INFO';
  if (r.pass === null) return r.target ? '?' : '';
  return r.pass ? 'PASS' : 'FAIL';
}

export function renderTable(results: BenchResults): string {
  const head = ['', 'metric', 'ours', 'baseline', 'ours/base', 'target', 'result'];
  const body = results.rows.map((r) => [r.scenario, r.metric, fmt(r.ours, r.unit), fmt(r.baseline, r.unit), ratio(r), r.target ?? '', verdict(r)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  let last = '';
  for (let i = 0; i < body.length; i++) {
    if (last && body[i][0] !== last) out.push('');
    last = body[i][0];
    out.push(line(body[i]));
  }
  const notes = results.rows.filter((r) => r.note).map((r) => `  ${r.scenario} ${r.metric}: ${r.note}`);
  if (notes.length) out.push('', 'notes:', ...notes);
  for (const e of results.errors) out.push(`  ${e.scenario} did not complete: ${e.message.split('\n')[0]}`);
  return out.join('\n');
}

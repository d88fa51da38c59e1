/**
 * Hand-written SVG charts for the HTML report (no external assets, no libraries):
 * horizontal bars with an optional target line, percentile curves on a "nines" axis,
 * and log-binned latency histograms.
 */
import { Histogram, type HistogramData } from './histogram';

export const colors = { ours: '#2563eb', baseline: '#9ca3af', target: '#dc2626', alt: '#16a34a' };

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export interface Bar {
  label: string;
  value: number;
  color: string;
}

/** Horizontal bars scaled to the largest value (or the target, if larger). */
export function barChart(title: string, unit: string, bars: Bar[], target?: { value: number; label: string }): string {
  const w = 640;
  const left = 200;
  const right = 90;
  const rowH = 26;
  const top = 30;
  const h = top + bars.length * rowH + 24;
  const max = Math.max(...bars.map((b) => b.value), target?.value ?? 0) * 1.05 || 1;
  const x = (v: number): number => left + (v / max) * (w - left - right);
  const parts = [`<text x="0" y="16" class="t">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    parts.push(
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(b.value) - left).toFixed(1)}" height="${rowH - 8}" fill="${b.color}"/>`,
      `<text x="${(x(b.value) + 6).toFixed(1)}" y="${y + 16}">${num(b.value)} ${esc(unit)}</text>`,
    );
  });
  if (target) {
    const tx = x(target.value).toFixed(1);
    parts.push(
      `<line x1="${tx}" x2="${tx}" y1="${top - 4}" y2="${h - 18}" stroke="${colors.target}" stroke-dasharray="4 3"/>`,
      `<text x="${tx}" y="${h - 4}" text-anchor="middle" fill="${colors.target}">${esc(target.label)}</text>`,
    );
  }
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${parts.join('')}</svg>`;
}

export interface Series {
  name: string;
  color: string;
  hist: HistogramData;
}

/** Latency (log ms) against percentile on an axis of nines: 0, 90, 99, 99.9, 99.99. */
export function percentilePlot(title: string, series: Series[], target?: { ms: number; label: string }): string {
  const w = 640;
  const h = 300;
  const l = 60;
  const r = 20;
  const t = 30;
  const b = 40;
  const maxNines = 4;
  const curves = series
    .filter((s) => s.hist.count > 0)
    .map((s) => {
      const hist = Histogram.from([s.hist]);
      const pts: [number, number][] = [];
      for (let n = 0; n <= maxNines + 1e-9; n += 0.05) pts.push([n, hist.percentile(100 * (1 - 10 ** -n)) / 1000]);
      pts.push([maxNines, hist.max / 1000]);
      return { s, pts };
    });
  const all = curves.flatMap((c) => c.pts.map((p) => p[1])).concat(target ? [target.ms] : []);
  const lo = Math.log10(Math.max(0.01, Math.min(...all, 1)));
  const hi = Math.log10(Math.max(...all, 1)) + 0.1;
  const X = (n: number): number => l + (n / maxNines) * (w - l - r);
  const Y = (ms: number): number => t + (1 - (Math.log10(Math.max(ms, 0.01)) - lo) / (hi - lo || 1)) * (h - t - b);
  const parts = [`<text x="0" y="16" class="t">${esc(title)}</text>`];
  for (let n = 0; n <= maxNines; n++) {
    const label = n === 0 ? '0%' : `${(100 * (1 - 10 ** -n)).toFixed(Math.max(0, n - 2))}%`;
    parts.push(
      `<line x1="${X(n)}" x2="${X(n)}" y1="${t}" y2="${h - b}" class="g"/>`,
      `<text x="${X(n)}" y="${h - b + 16}" text-anchor="middle">${label}</text>`,
    );
  }
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
    const y = Y(10 ** d);
    parts.push(`<line x1="${l}" x2="${w - r}" y1="${y}" y2="${y}" class="g"/>`, `<text x="${l - 6}" y="${y + 4}" text-anchor="end">${num(10 ** d)} ms</text>`);
  }
  if (target) {
    const y = Y(target.ms).toFixed(1);
    parts.push(
      `<line x1="${l}" x2="${w - r}" y1="${y}" y2="${y}" stroke="${colors.target}" stroke-dasharray="4 3"/>`,
      `<text x="${w - r}" y="${Number(y) - 4}" text-anchor="end" fill="${colors.target}">${esc(target.label)}</text>`,
    );
  }
  curves.forEach(({ s, pts }, i) => {
    const d = pts.map(([n, ms], k) => `${k ? 'L' : 'M'}${X(n).toFixed(1)},${Y(ms).toFixed(1)}`).join('');
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${l + 8}" y="${t + 14 + i * 16}" fill="${s.color}">${esc(s.name)}</text>`,
    );
  });
  parts.push(`<text x="${(l + w - r) / 2}" y="${h - 6}" text-anchor="middle">percentile</text>`);
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${parts.join('')}</svg>`;
}

/** Share of samples per log-spaced latency bin, series overlaid. */
export function histogramPlot(title: string, series: Series[]): string {
  const w = 640;
  const h = 220;
  const l = 50;
  const r = 20;
  const t = 30;
  const b = 36;
  const binned = series
    .filter((s) => s.hist.count > 0)
    .map((s) => ({ s, bins: Histogram.from([s.hist]).logBins(10), n: s.hist.count }));
  if (binned.length === 0) return '';
  const los = binned.flatMap((x) => x.bins.map((bin) => bin.lo));
  const his = binned.flatMap((x) => x.bins.map((bin) => bin.hi));
  const lo = Math.floor(Math.log10(Math.min(...los)));
  const hi = Math.ceil(Math.log10(Math.max(...his)));
  const maxShare = Math.max(...binned.flatMap((x) => x.bins.map((bin) => bin.count / x.n)));
  const X = (us: number): number => l + ((Math.log10(us) - lo) / (hi - lo || 1)) * (w - l - r);
  const Y = (share: number): number => t + (1 - share / maxShare) * (h - t - b);
  const parts = [`<text x="0" y="16" class="t">${esc(title)}</text>`];
  for (let d = lo; d <= hi; d++) {
    parts.push(
      `<line x1="${X(10 ** d)}" x2="${X(10 ** d)}" y1="${t}" y2="${h - b}" class="g"/>`,
      `<text x="${X(10 ** d)}" y="${h - b + 14}" text-anchor="middle">${num(10 ** d / 1000)} ms</text>`,
    );
  }
  binned.forEach(({ s, bins, n }, i) => {
    for (const bin of bins) {
      const x0 = X(bin.lo);
      const y = Y(bin.count / n);
      parts.push(`<rect x="${x0.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, X(bin.hi) - x0 - 1).toFixed(1)}" height="${(h - b - y).toFixed(1)}" fill="${s.color}" fill-opacity="0.55"/>`);
    }
    parts.push(`<text x="${w - r}" y="${t + 12 + i * 16}" text-anchor="end" fill="${s.color}">${esc(s.name)} (${n.toLocaleString('en-US')} samples)</text>`);
  });
  parts.push(`<text x="${(l + w - r) / 2}" y="${h - 4}" text-anchor="middle">send→deliver latency (log scale); bar height = share of samples</text>`);
  return `<svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${parts.join('')}</svg>`;
}

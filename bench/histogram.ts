/**
 * A log-linear (HDR-style) latency histogram over integer microseconds: exact below
 * 1,024 µs, then 512 sub-buckets per power of two, so any recorded value is off by at
 * most 0.2%. Fixed bucket layout means histograms from several load generators merge by
 * adding counts, which is how the orchestrator gets one distribution per run.
 */

const subBits = 9;
const half = 1 << subBits; // 512 sub-buckets per power of two above the linear range
const linear = half * 2; // 0..1023 µs recorded exactly
const maxShift = 32 - subBits; // values up to ~2^32 µs (71 minutes)
const size = linear + maxShift * half;

/** The wire form: sparse [bucket, count] pairs plus exact extremes. */
export interface HistogramData {
  counts: [number, number][];
  count: number;
  min: number;
  max: number;
  sum: number;
}

function indexOf(us: number): number {
  if (us < linear) return us;
  const shift = 31 - Math.clz32(us) - subBits; // >= 1 here
  const sub = us >>> shift; // in [half, linear)
  return linear + (shift - 1) * half + (sub - half);
}

/** Highest value that lands in bucket `i` (percentiles report this, as HdrHistogram does). */
function upperOf(i: number): number {
  if (i < linear) return i;
  const shift = Math.floor((i - linear) / half) + 1;
  const sub = ((i - linear) % half) + half;
  return (sub + 1) * 2 ** shift - 1;
}

/** Lowest value that lands in bucket `i`. */
function lowerOf(i: number): number {
  if (i < linear) return i;
  const shift = Math.floor((i - linear) / half) + 1;
  const sub = ((i - linear) % half) + half;
  return sub * 2 ** shift;
}

export class Histogram {
  private readonly counts = new Float64Array(size);
  count = 0;
  min = Infinity;
  max = 0;
  sum = 0;

  /** Records one value in microseconds (negative values, from clock jitter, count as 0). */
  record(us: number): void {
    const v = Math.min(Math.max(0, Math.round(us)), 0xfffffffe);
    this.counts[indexOf(v)]++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Records `n` copies of a value (used for sends that were never delivered). */
  recordMany(us: number, n: number): void {
    if (n <= 0) return;
    const v = Math.min(Math.max(0, Math.round(us)), 0xfffffffe);
    this.counts[indexOf(v)] += n;
    this.count += n;
    this.sum += v * n;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  merge(data: HistogramData): void {
    for (const [i, n] of data.counts) this.counts[i] += n;
    this.count += data.count;
    this.sum += data.sum;
    if (data.count > 0) {
      this.min = Math.min(this.min, data.min);
      this.max = Math.max(this.max, data.max);
    }
  }

  static from(parts: readonly HistogramData[]): Histogram {
    const h = new Histogram();
    for (const p of parts) h.merge(p);
    return h;
  }

  /** Value (µs) at or below which `p` percent of the recorded values fall. */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    if (p >= 100) return this.max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < size; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(upperOf(i), this.max);
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** Counts regrouped into `perDecade` logarithmic bins, for plotting. */
  logBins(perDecade = 10): { lo: number; hi: number; count: number }[] {
    const bins = new Map<number, number>();
    for (let i = 0; i < size; i++) {
      const n = this.counts[i];
      if (n === 0) continue;
      const mid = (lowerOf(i) + upperOf(i)) / 2;
      const b = Math.floor(Math.log10(Math.max(1, mid)) * perDecade);
      bins.set(b, (bins.get(b) ?? 0) + n);
    }
    return [...bins.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([b, count]) => ({ lo: 10 ** (b / perDecade), hi: 10 ** ((b + 1) / perDecade), count }));
  }

  toJSON(): HistogramData {
    const counts: [number, number][] = [];
    for (let i = 0; i < size; i++) if (this.counts[i] > 0) counts.push([i, this.counts[i]]);
    return { counts, count: this.count, min: this.count ? this.min : 0, max: this.max, sum: this.sum };
  }
}

/** The percentiles every report shows, in microseconds. */
export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function percentiles(h: Histogram): Percentiles {
  return {
    count: h.count,
    p50: h.percentile(50),
    p90: h.percentile(90),
    p99: h.percentile(99),
    p999: h.percentile(99.9),
    max: h.max,
    mean: h.mean(),
  };
}

/**
 * S9's floor: the least the image work of one upload can cost. The same library calls the
 * server's image worker makes (src/media/image-worker.ts), written out again here with
 * sharp directly, in-process, libvips on one thread, with nothing else running: sha256 of
 * the bytes (the server hashes every upload), the preview (size, a shrink-on-load decode
 * to the 320 px box, the WebP thumbnail, the ThumbHash placeholder) and the display size
 * (a decode shrunk to the 1600 px box, JPEG quality 82). No HTTP, no disk, no worker
 * hop, no queue: what is left is the work itself.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';

/** One stage's cost per image, ms: medians over the repetitions. */
export interface StageMs {
  hash: number;
  preview: number;
  display: number;
  /** hash + preview + display, one after the other on one core. */
  total: number;
}

/**
 * `cpu` (utime+stime of this process over each stage) is the floor: on a shared machine the
 * wall time also holds whatever else ran on the core, the CPU time does not. `wall` says
 * how busy the machine was (equal to cpu on an idle core).
 */
export interface FloorResult {
  reps: number;
  cpu: StageMs;
  wall: StageMs;
  sharp: string;
  vips: string;
}

type RgbaToThumbHash = (w: number, h: number, rgba: ArrayLike<number>) => Uint8Array;
// thumbhash is ESM only; this keeps a real import() in the CommonJS output (as the worker does).
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

async function preview(input: Buffer, rgbaToThumbHash: RgbaToThumbHash): Promise<void> {
  const source = () => sharp(input, { failOn: 'truncated', autoOrient: true });
  await source().metadata();
  const raw = await source().resize(320, 320, { fit: 'inside', withoutEnlargement: true }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const pixels = () => sharp(raw.data, { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels } });
  await pixels().resize(320, 320, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
  const small = await pixels().resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  rgbaToThumbHash(small.info.width, small.info.height, small.data);
}

async function display(input: Buffer): Promise<void> {
  const source = () => sharp(input, { failOn: 'truncated', autoOrient: true });
  await source().metadata();
  await source().resize(1600, 1600, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 82 }).toBuffer();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** One warm-up, then `reps` images (cycling through `photos`), each stage timed. */
export async function measureFloor(photos: readonly Buffer[], reps: number): Promise<FloorResult> {
  sharp.concurrency(1);
  sharp.cache(false);
  const rgbaToThumbHash = ((await importEsm('thumbhash')) as { rgbaToThumbHash: RgbaToThumbHash }).rgbaToThumbHash;
  const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  hash(photos[0]);
  await preview(photos[0], rgbaToThumbHash);
  await display(photos[0]);
  const stages = ['hash', 'preview', 'display', 'total'] as const;
  const cpu = Object.fromEntries(stages.map((k) => [k, [] as number[]])) as Record<keyof StageMs, number[]>;
  const wall = Object.fromEntries(stages.map((k) => [k, [] as number[]])) as Record<keyof StageMs, number[]>;
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (let i = 0; i < reps; i++) {
    const input = photos[i % photos.length];
    const w = [performance.now()];
    const c = [cpuMs()];
    hash(input);
    w.push(performance.now());
    c.push(cpuMs());
    await preview(input, rgbaToThumbHash);
    w.push(performance.now());
    c.push(cpuMs());
    await display(input);
    w.push(performance.now());
    c.push(cpuMs());
    for (const [k, from, to] of [['hash', 0, 1], ['preview', 1, 2], ['display', 2, 3], ['total', 0, 3]] as const) {
      cpu[k].push(c[to] - c[from]);
      wall[k].push(w[to] - w[from]);
    }
  }
  const medians = (m: Record<keyof StageMs, number[]>): StageMs => ({ hash: median(m.hash), preview: median(m.preview), display: median(m.display), total: median(m.total) });
  return {
    reps,
    cpu: medians(cpu),
    wall: medians(wall),
    sharp: sharp.versions.sharp,
    vips: sharp.versions.vips,
  };
}

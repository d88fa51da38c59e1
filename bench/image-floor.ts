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

/** Milliseconds per image, medians over the repetitions; cpuMs is utime+stime per image. */
export interface FloorResult {
  reps: number;
  hashMs: number;
  previewMs: number;
  displayMs: number;
  /** hash + preview + display, one after the other on one core. */
  totalMs: number;
  cpuMs: number;
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
  const t = { hash: [] as number[], preview: [] as number[], display: [] as number[], total: [] as number[] };
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) {
    const input = photos[i % photos.length];
    const t0 = performance.now();
    hash(input);
    const t1 = performance.now();
    await preview(input, rgbaToThumbHash);
    const t2 = performance.now();
    await display(input);
    const t3 = performance.now();
    t.hash.push(t1 - t0);
    t.preview.push(t2 - t1);
    t.display.push(t3 - t2);
    t.total.push(t3 - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    reps,
    hashMs: median(t.hash),
    previewMs: median(t.preview),
    displayMs: median(t.display),
    totalMs: median(t.total),
    cpuMs: (cpu.user + cpu.system) / 1000 / reps,
    sharp: sharp.versions.sharp,
    vips: sharp.versions.vips,
  };
}

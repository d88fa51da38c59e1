/**
 * The sharp work for one image, run by the piscina pool in `pool.ts` on a worker thread:
 * decoding a 12 MP JPEG takes a core for a sizeable fraction of a second, which the event
 * loop must never spend.
 *
 * Two stages, so what a recipient sees first is ready first: `preview` (size, thumbnail and
 * placeholder, from one decode shrunk on load to the thumbnail box) and `display` (the large
 * rendition). Outputs are encoded from pixels without metadata: no EXIF, GPS, XMP or ICC.
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import sharp, { type Sharp } from 'sharp';
import { classifySharpError } from './errors';
import { sniffType } from './sniff';
import type { ImageTask, ImageTaskResult, WireVariant } from './types';

// Parallelism comes from the pool (one worker per core); libvips' own threads on top would
// only oversubscribe the cores. Its operation cache never hits on one-off uploads.
sharp.concurrency(1);
sharp.cache(false);

/**
 * Image work yields the CPU to the event loop: with one worker per core, an equal share
 * would let a burst of uploads slow every message on the shard. On Linux the nice value is
 * per thread, and the pixels are pushed by libvips' own threads (created by whichever
 * thread first needed them), so after each task this worker renices every libvips thread
 * of the process as well as itself. Where that is refused or there is no /proc, the work
 * runs at normal priority.
 */
const workerNice = 10;
const reniced = new Set<number>();
function yieldToTheLoop(): void {
  try {
    os.setPriority(workerNice);
    for (const name of readdirSync('/proc/self/task')) {
      const tid = Number(name);
      if (reniced.has(tid)) continue;
      if (readFileSync(`/proc/self/task/${name}/comm`, 'latin1').startsWith('libvips')) os.setPriority(tid, workerNice);
      reniced.add(tid);
    }
  } catch {
    // Not Linux, or not permitted here: nothing else to do.
  }
}
yieldToTheLoop();

/**
 * Thumbnails are WebP: a quarter smaller than JPEG at quality 80 on our test image, keeps
 * the alpha of PNG/GIF/WebP uploads, and every current browser and mobile OS decodes it; at
 * 320 px its encode time is small. The display size is JPEG unless it has alpha (encodeJpeg).
 */
const outputType = 'image/webp';
const webpQuality = 80;
const jpegQuality = 82;
/** ThumbHash's encoder takes at most 100×100. */
const placeholderSize = 100;

type RgbaToThumbHash = (w: number, h: number, rgba: ArrayLike<number>) => Uint8Array;

/**
 * thumbhash ships ESM only and this project compiles to CommonJS, where TypeScript rewrites
 * `import()` into `require()` (which cannot load ESM before Node 20.19). The Function keeps a
 * real dynamic import in the emitted code.
 */
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;
let thumbHashEncoder: Promise<RgbaToThumbHash> | null = null;
function loadThumbHash(): Promise<RgbaToThumbHash> {
  thumbHashEncoder ??= importEsm('thumbhash').then((m) => (m as { rgbaToThumbHash: RgbaToThumbHash }).rgbaToThumbHash);
  return thumbHashEncoder;
}

async function encode(pixels: Sharp, box: number): Promise<WireVariant> {
  const { data, info } = await pixels
    .resize(box, box, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: webpQuality })
    .toBuffer({ resolveWithObject: true });
  return { bytes: data, width: info.width, height: info.height, contentType: outputType };
}

/**
 * The display size of an opaque image is JPEG: on a 12 MP photo it costs 120 ms against
 * WebP's 450 ms (measured here, one core), for 10% more bytes, and twenty uploads at once
 * must all be shown at full size within the three-second budget. WebP stays for images with
 * alpha, which JPEG would flatten.
 */
async function encodeJpeg(pixels: Sharp, box: number): Promise<WireVariant> {
  const { data, info } = await pixels
    .resize(box, box, { fit: 'inside', withoutEnlargement: true })
    .jpeg({ quality: jpegQuality })
    .toBuffer({ resolveWithObject: true });
  return { bytes: data, width: info.width, height: info.height, contentType: 'image/jpeg' };
}

async function processImage(task: ImageTask): Promise<ImageTaskResult> {
  const input = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  if (sniffType(input).kind !== 'image') {
    return { ok: false, code: 'not_image', message: 'not an image: unrecognised or non-image magic bytes' };
  }
  try {
    // failOn 'truncated' refuses cut-off data; the stricter default ('warning') also refuses
    // the harmless warnings many phone and camera JPEGs carry (extraneous bytes, bad markers).
    const source = () => sharp(input, { failOn: 'truncated', limitInputPixels: task.maxPixels, autoOrient: true });
    if (task.stage === 'display') {
      // Starting the pipeline with the resize lets libvips shrink JPEGs while decoding.
      const { hasAlpha } = await source().metadata();
      const display = hasAlpha ? await encode(source(), task.displaySize) : await encodeJpeg(source(), task.displaySize);
      return { ok: true, stage: 'display', display };
    }
    const meta = await source().metadata();
    // Everything small comes from one shrink-on-load decode to the thumbnail box: a 12 MP
    // JPEG decodes at an eighth of its size, so the preview costs a fraction of the display.
    const raw = await source()
      .resize(task.thumbnailSize, task.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rawInput = { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels } };
    const pixels = (): Sharp => sharp(raw.data, rawInput);
    const thumbnail = await encode(pixels(), task.thumbnailSize);
    const small = await pixels()
      .resize(placeholderSize, placeholderSize, { fit: 'inside' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rgbaToThumbHash = await loadThumbHash();
    const placeholder = Buffer.from(rgbaToThumbHash(small.info.width, small.info.height, small.data)).toString('base64');
    return { ok: true, stage: 'preview', width: meta.autoOrient.width, height: meta.autoOrient.height, thumbnail, placeholder };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, code: classifySharpError(message, input), message };
  }
}

/** The task, then the priority of any libvips thread it started. */
async function run(task: ImageTask): Promise<ImageTaskResult> {
  try {
    return await processImage(task);
  } finally {
    yieldToTheLoop();
  }
}

// piscina calls the module's `default` export.
export default run;

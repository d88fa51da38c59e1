/**
 * The sharp work for one image, run by the piscina pool in `pool.ts` on a worker thread:
 * decoding a 12 MP JPEG takes a core for a sizeable fraction of a second, which the event
 * loop must never spend.
 *
 * One decode per image: the oriented original is shrunk once to the display size as raw
 * pixels, and the display, the thumbnail and the placeholder are all made from those pixels.
 * Outputs are encoded from raw pixels, so no EXIF, GPS, XMP or ICC can reach them.
 */
import sharp, { type Sharp } from 'sharp';
import { classifySharpError } from './errors';
import { sniffType } from './sniff';
import type { ImageTask, ImageTaskResult, WireVariant } from './types';

// Parallelism comes from the pool (one worker per core); libvips' own threads on top would
// only oversubscribe the cores. Its operation cache never hits on one-off uploads.
sharp.concurrency(1);
sharp.cache(false);

/**
 * WebP rather than JPEG: a quarter smaller at quality 80 on our test image, keeps the alpha
 * of PNG/GIF/WebP uploads, and every current browser and mobile OS decodes it. It costs
 * ten times JPEG's encode time, paid once here; the bytes go to every recipient (README.md).
 */
const outputType = 'image/webp';
const webpQuality = 80;
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

async function processImage(task: ImageTask): Promise<ImageTaskResult> {
  const input = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  if (sniffType(input).kind !== 'image') {
    return { ok: false, code: 'not_image', message: 'not an image: unrecognised or non-image magic bytes' };
  }
  try {
    // failOn 'truncated' refuses cut-off data; the stricter default ('warning') also refuses
    // the harmless warnings many phone and camera JPEGs carry (extraneous bytes, bad markers).
    const source = sharp(input, { failOn: 'truncated', limitInputPixels: task.maxPixels, autoOrient: true });
    const meta = await source.metadata();
    const raw = await source
      .resize(task.displaySize, task.displaySize, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rawInput = { raw: { width: raw.info.width, height: raw.info.height, channels: raw.info.channels } };
    const pixels = (): Sharp => sharp(raw.data, rawInput);

    const display = await encode(pixels(), task.displaySize);
    const thumbnail = await encode(pixels(), task.thumbnailSize);
    const small = await pixels()
      .resize(placeholderSize, placeholderSize, { fit: 'inside' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rgbaToThumbHash = await loadThumbHash();
    const placeholder = Buffer.from(rgbaToThumbHash(small.info.width, small.info.height, small.data)).toString('base64');

    return { ok: true, width: meta.autoOrient.width, height: meta.autoOrient.height, display, thumbnail, placeholder };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, code: classifySharpError(message, input), message };
  }
}

// piscina calls the module's `default` export.
export default processImage;

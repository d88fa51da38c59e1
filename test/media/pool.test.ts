/**
 * MediaPool on real bytes: camera JPEGs with EXIF and GPS, PNG with alpha, and the inputs
 * it must refuse (truncated, pixel bombs, non-images), each with its stable code.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { MediaError, MediaPool, type ImageOptions, type MediaErrorCode } from '../../src/media';
import { alphaPng, cameraJpeg, exeHead, pixelBombPng } from './fixtures';

jest.setTimeout(60_000);

let pool: MediaPool;
let photo: Buffer;

beforeAll(async () => {
  pool = new MediaPool({ threads: 2 });
  photo = await cameraJpeg();
});
afterAll(() => pool.close());

/** Both stages, as the attachment flow runs them. */
async function both(on: MediaPool, bytes: Buffer, opts?: ImageOptions) {
  const preview = await on.preview(bytes, opts);
  return { ...preview, display: await on.display(bytes, opts) };
}

async function refusal(p: Promise<unknown>): Promise<{ code: MediaErrorCode; message: string }> {
  const err: unknown = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  const { code, message } = err as MediaError;
  return { code, message };
}

describe('MediaPool: images it serves', () => {
  it('the fixture really is a 4000×3000 JPEG with EXIF orientation 6', async () => {
    const meta = await sharp(photo).metadata();
    expect([meta.format, meta.width, meta.height, meta.orientation]).toEqual(['jpeg', 4000, 3000, 6]);
    // The GPS IFD pointer (tag 0x8825, little-endian as libvips writes it).
    expect(meta.exif?.includes(Buffer.from([0x25, 0x88]))).toBe(true);
  });

  it('auto-orients a 12 MP camera JPEG: portrait size, portrait variants', async () => {
    const out = await both(pool, photo);
    expect(out.sourceType).toBe('image/jpeg');
    expect([out.width, out.height]).toEqual([3000, 4000]);
    expect(out.display).toMatchObject({ width: 1200, height: 1600, contentType: 'image/jpeg' });
    expect(out.thumbnail).toMatchObject({ width: 240, height: 320, contentType: 'image/webp' });
    for (const v of [out.display, out.thumbnail]) {
      const meta = await sharp(v.bytes).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([v.contentType === 'image/jpeg' ? 'jpeg' : 'webp', v.width, v.height]);
    }
  });

  it('no variant carries EXIF, GPS, XMP, ICC or an orientation tag', async () => {
    const out = await both(pool, photo);
    for (const v of [out.display, out.thumbnail]) {
      const meta = await sharp(v.bytes).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      // The WebP container has no EXIF or XMP chunk, and the camera's strings are nowhere.
      for (const needle of ['EXIF', 'Exif', 'XMP ', 'RelayTestCam', 'GPS-12']) expect(v.bytes.includes(needle)).toBe(false);
    }
  });

  // ThumbHash's header (evanw/thumbhash): bit 23 of the first 24-bit word says alpha, bit 15
  // of the next 16-bit word says landscape. thumbhash is ESM-only, which jest's CJS cannot load.
  const hasAlpha = (hash: Buffer) => (hash[2] & 0x80) !== 0;
  const isLandscape = (hash: Buffer) => (hash[4] & 0x80) !== 0;

  it('the placeholder is a ThumbHash of a few dozen bytes, portrait and opaque like the photo', async () => {
    const out = await both(pool, photo);
    const hash = Buffer.from(out.placeholder, 'base64');
    expect(hash.length).toBeGreaterThanOrEqual(5);
    expect(hash.length).toBeLessThanOrEqual(40);
    expect(isLandscape(hash)).toBe(false);
    expect(hasAlpha(hash)).toBe(false);
  });

  it('the placeholder of a transparent landscape PNG says so', async () => {
    const hash = Buffer.from((await both(pool, await alphaPng())).placeholder, 'base64');
    expect(isLandscape(hash)).toBe(true);
    expect(hasAlpha(hash)).toBe(true);
  });

  it('keeps a PNG\'s alpha and never enlarges a small image', async () => {
    const out = await both(pool, await alphaPng());
    expect([out.width, out.height]).toEqual([800, 600]);
    expect(out.display).toMatchObject({ width: 800, height: 600 });
    expect(out.thumbnail).toMatchObject({ width: 320, height: 240 });
    const meta = await sharp(out.thumbnail.bytes).metadata();
    expect(meta.hasAlpha).toBe(true);
    const { data } = await sharp(out.thumbnail.bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(data[3]).toBeGreaterThan(100);
    expect(data[3]).toBeLessThan(155);
  });

  it('sizes come from the options', async () => {
    const out = await both(pool, await alphaPng(), { thumbnailSize: 100, displaySize: 400 });
    expect(out.thumbnail).toMatchObject({ width: 100, height: 75 });
    expect(out.display).toMatchObject({ width: 400, height: 300 });
  });
});

describe('MediaPool: what it refuses', () => {
  it('a JPEG cut in half: truncated', async () => {
    const half = photo.subarray(0, Math.floor(photo.length / 2));
    const { code } = await refusal(both(pool, half));
    expect(code).toBe('truncated');
  });

  it('a PNG cut in half: truncated', async () => {
    const png = await sharp({ create: { width: 1000, height: 800, channels: 3, background: '#204060', noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
      .png()
      .toBuffer();
    const { code } = await refusal(both(pool, png.subarray(0, png.length >> 1)));
    expect(code).toBe('truncated');
  });

  it('a 30000×30000 PNG (900 MP, ~100 kB): too_many_pixels, before decoding', async () => {
    const bomb = await pixelBombPng();
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const started = Date.now();
    const { code } = await refusal(both(pool, bomb));
    expect(code).toBe('too_many_pixels');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('the display stage refuses a pixel bomb and a truncated JPEG on its own', async () => {
    expect((await refusal(pool.display(await pixelBombPng()))).code).toBe('too_many_pixels');
    expect((await refusal(pool.display(photo.subarray(0, photo.length >> 1)))).code).toBe('truncated');
  });

  it('the pixel limit is an option', async () => {
    const { code } = await refusal(both(pool, await alphaPng(), { maxPixels: 100_000 }));
    expect(code).toBe('too_many_pixels');
  });

  it('random bytes, zero bytes and an empty buffer: not_image', async () => {
    const noise = randomBytes(4096);
    noise[0] = 0x00; // rule out the one-in-16-million chance of a JPEG's FF D8 FF
    for (const input of [noise, Buffer.alloc(4096), Buffer.alloc(0)]) {
      expect((await refusal(both(pool, input))).code).toBe('not_image');
    }
  });

  it('an .exe (MZ header), even with a JPEG inside: not_image', async () => {
    const exe = Buffer.concat([exeHead(), photo.subarray(0, 1000)]);
    expect((await refusal(both(pool, exe))).code).toBe('not_image');
  });

  it('image magic with garbage after it is refused with a code, not a crash', async () => {
    const fake = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(2048)]);
    const { code } = await refusal(both(pool, fake));
    expect(['truncated', 'unsupported']).toContain(code);
  });

  it('the pool keeps working after refusals', async () => {
    await refusal(both(pool, await pixelBombPng(20000)));
    await refusal(both(pool, photo.subarray(0, 5000)));
    const out = await both(pool, await alphaPng());
    expect(out.display.width).toBe(800);
  });

  it('a worker that dies fails its own task only; the pool replaces it', async () => {
    const crashing = new MediaPool({ threads: 1 });
    try {
      await crashing.preview(await alphaPng()); // the worker is up
      // Killing the thread from outside is the closest a test gets to a native crash in
      // libvips; it reaches into the pool's piscina instance on purpose.
      const inner = (crashing as unknown as { pool: { threads: { terminate(): Promise<number> }[] } }).pool;
      const outcome = refusal(crashing.preview(photo));
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all(inner.threads.map((t) => t.terminate()));
      expect((await outcome).code).toBe('worker_failed');
      const out = await crashing.preview(await alphaPng());
      expect(out.width).toBe(800);
    } finally {
      await crashing.close();
    }
  });

  it('tasks still running when the pool closes reject with worker_failed', async () => {
    const closing = new MediaPool({ threads: 1 });
    const outcome = refusal(closing.preview(photo));
    await new Promise((r) => setTimeout(r, 50));
    await closing.close();
    expect((await outcome).code).toBe('worker_failed');
  });
});

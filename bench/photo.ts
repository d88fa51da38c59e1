/**
 * Camera-like test photos for the image benchmarks (media.ts, S9): 12 MP JPEGs of Gaussian
 * noise at quality 80 with EXIF orientation 6, as a phone held upright writes them. Noise
 * is a harsh input (a larger file and slower entropy decoding than most real photos), so
 * real uploads do better.
 */
import sharp from 'sharp';

/** A 4000×3000 noise JPEG (about 4.6 MB); `seed` shifts the background so photos differ. */
export async function cameraPhoto(seed: number): Promise<Buffer> {
  return sharp({
    create: { width: 4000, height: 3000, channels: 3, background: { r: 60 + seed, g: 140, b: 200 }, noise: { type: 'gaussian', mean: 128, sigma: 30 } },
  })
    .jpeg({ quality: 80 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/**
 * The same picture with distinct bytes: a JPEG comment segment (COM) carrying `tag`,
 * inserted after the APPn segments (EXIF stays where readers look for it). The sha256
 * differs, so the server's content dedup cannot skip the work, while the pixels, and so
 * the decode and encode work, stay exactly those of `jpeg`. Costs a copy, not an encode.
 */
export function withTag(jpeg: Buffer, tag: string): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  let at = 2;
  while (jpeg[at] === 0xff && (jpeg[at + 1] & 0xf0) === 0xe0) at += 2 + jpeg.readUInt16BE(at + 2);
  const text = Buffer.from(tag, 'latin1');
  const head = Buffer.alloc(4);
  head[0] = 0xff;
  head[1] = 0xfe;
  head.writeUInt16BE(2 + text.length, 2);
  return Buffer.concat([jpeg.subarray(0, at), head, text, jpeg.subarray(at)]);
}

/**
 * `npx tsc -p tsconfig.bench.json && node dist-bench/bench/media.js [count]`
 *
 * MediaPool on 12 MP camera-like JPEGs (4000×3000, Gaussian noise, quality 80, EXIF
 * orientation 6): ms per image with one worker processing one image at a time, then
 * images/s with one worker per core and the queue kept full. Noise is a harsh input (a
 * larger file and slower entropy decoding than most real photos), so real uploads do better.
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import sharp from 'sharp';
import { MediaPool } from '../src/media';
import { cameraPhoto as photo } from './photo';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20);
  const inputs = await Promise.all([0, 1, 2, 3].map(photo));
  console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, node ${process.version}, sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips})`);
  console.log(`input: 4000×3000 JPEG, ${(inputs[0].length / 1e6).toFixed(1)} MB`);

  /** Both stages, as an upload goes through them. */
  const both = async (pool: MediaPool, input: Buffer) => {
    await pool.preview(input);
    await pool.display(input);
  };
  const one = new MediaPool({ threads: 1 });
  await both(one, inputs[0]);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await both(one, inputs[i % inputs.length]);
    times.push(performance.now() - t);
  }
  await one.close();
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`1 worker, one at a time: mean ${mean.toFixed(0)} ms, median ${times[times.length >> 1].toFixed(0)} ms, max ${times[times.length - 1].toFixed(0)} ms per image (preview: size, thumbnail, placeholder; then display)`);

  const threads = os.availableParallelism();
  const pool = new MediaPool({ threads });
  await Promise.all(Array.from({ length: threads }, (_, i) => both(pool, inputs[i % inputs.length])));
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const started = performance.now();
  await Promise.all(Array.from({ length: count * 2 }, (_, i) => both(pool, inputs[i % inputs.length])));
  const seconds = (performance.now() - started) / 1000;
  loop.disable();
  await pool.close();
  console.log(`${threads} workers, queue full: ${((count * 2) / seconds).toFixed(2)} images/s (${count * 2} images in ${seconds.toFixed(1)} s), event-loop delay max ${(loop.max / 1e6).toFixed(1)} ms`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * The reason the pool exists: processing 12 MP images must not stall the event loop.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MediaPool } from '../../src/media';
import { cameraJpeg } from './fixtures';

jest.setTimeout(120_000);

it('the loop\'s max delay stays under 50 ms while the pool makes the display size of six 12 MP photos', async () => {
  const photo = await cameraJpeg();
  const pool = new MediaPool({ threads: 2 });
  try {
    await pool.preview(photo); // warm the workers (thread start, sharp and thumbhash load)
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const started = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => pool.display(photo)));
    const elapsed = performance.now() - started;
    delay.disable();
    const maxMs = delay.max / 1e6;
    // The work itself takes far longer than the bound: a blocked loop could not hide.
    expect(elapsed).toBeGreaterThan(500);
    expect(maxMs).toBeLessThan(50);
  } finally {
    await pool.close();
  }
});

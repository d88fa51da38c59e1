/** chat_event_loop_delay_seconds: registered with the others, and a blocked loop shows in its buckets. */
import { createObservability } from '../../src/observability';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  if (!line) throw new Error(`no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

test('a 60 ms block of the event loop is counted above 50 ms; counts are cumulative', async () => {
  const obs = createObservability({ level: 'error', shardId: 't', silent: true });
  try {
    const first = await obs.metrics.registry.metrics();
    expect(first).toContain('# TYPE chat_event_loop_delay_seconds histogram');
    await sleep(100);
    const t = Date.now();
    while (Date.now() - t < 60); // block the loop
    await sleep(50);
    const text = await obs.metrics.registry.metrics();
    const count = sample(text, 'chat_event_loop_delay_seconds_count');
    const over50 = count - sample(text, 'chat_event_loop_delay_seconds_bucket{le="0.05"}');
    expect(count).toBeGreaterThanOrEqual(5);
    expect(over50).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'chat_event_loop_delay_seconds_bucket{le="+Inf"}')).toBe(count);
    expect(sample(text, 'chat_event_loop_delay_seconds_sum')).toBeGreaterThan(0.04);
    await sleep(50);
    const later = await obs.metrics.registry.metrics();
    expect(sample(later, 'chat_event_loop_delay_seconds_count')).toBeGreaterThan(count);
  } finally {
    obs.close();
  }
});

import { Emitter } from '../../src/client';

type Events = { ping: [n: number]; done: [] };

class Probe extends Emitter<Events> {
  fire<K extends keyof Events>(name: K, ...args: Events[K]): void {
    this.emit(name, ...args);
  }
}

test('on/off/once deliver to the right listeners', async () => {
  const e = new Probe();
  const seen: number[] = [];
  const off = e.on('ping', (n) => seen.push(n));
  const next = e.once('ping');
  e.fire('ping', 1);
  off();
  e.fire('ping', 2);
  expect(seen).toEqual([1]);
  await expect(next).resolves.toEqual([1]);
});

test('a throwing listener neither stops the others nor the emitter; its error is rethrown on a new task', () => {
  const timers: (() => void)[] = [];
  const spy = jest.spyOn(global, 'setTimeout').mockImplementation(((fn: () => void) => {
    timers.push(fn);
    return 0 as unknown as NodeJS.Timeout;
  }) as typeof setTimeout);
  try {
    const e = new Probe();
    const seen: string[] = [];
    e.on('done', () => {
      throw new Error('boom');
    });
    e.on('done', () => seen.push('second'));
    expect(() => e.fire('done')).not.toThrow();
    expect(seen).toEqual(['second']);
    expect(timers).toHaveLength(1);
    expect(() => timers[0]()).toThrow('boom');
  } finally {
    spy.mockRestore();
  }
});

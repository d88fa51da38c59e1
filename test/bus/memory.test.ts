import { MemoryBus, type BusMessage } from '../../src/bus';

const msg = (frame: string): BusMessage => ({ t: 'frames', users: ['u'], frame, exclude_session: null });

test('delivers in publish order to current subscribers only', async () => {
  const bus = new MemoryBus();
  const got: string[] = [];
  bus.publish('t', msg('before'));
  const off = bus.subscribe('t', (m) => got.push(m.t === 'frames' ? m.frame : ''));
  bus.subscribe('other', () => got.push('wrong topic'));
  for (let i = 0; i < 5; i++) bus.publish('t', msg(String(i)));
  off();
  bus.publish('t', msg('after'));
  expect(got).toEqual(['0', '1', '2', '3', '4']);
  await bus.close();
});

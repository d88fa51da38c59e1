import { MemoryBus } from '../../src/bus';
import { frame, runBusContract } from './contract';

// One process is one shard: every open() shares the process's bus.
runBusContract('memory', async () => {
  const bus = new MemoryBus();
  return { open: async () => bus, cleanup: async () => {} };
});

test('delivers synchronously: handlers ran when publish() returns', async () => {
  const bus = new MemoryBus();
  const got: string[] = [];
  await bus.subscribe('t', (m) => got.push(m.t === 'frames' ? m.frame : ''));
  bus.publish('t', frame('now'));
  expect(got).toEqual(['now']);
  await bus.close();
});

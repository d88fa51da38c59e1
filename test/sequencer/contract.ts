/**
 * The Sequencer contract suite (src/sequencer/index.ts), written once and run against
 * every engine. A harness opens any number of sequencers on the same backing storage,
 * each with its own connection, as separate shards (or a restarted one) would.
 */
import { newId } from '../../src/protocol';
import type { SeqRange, Sequencer } from '../../src/sequencer';

/** Backing storage for one test: `open` gives a new instance with its own connection to it. */
export interface SequencerHarness {
  open(): Promise<Sequencer>;
  /** Runs after every opened sequencer was closed; releases connections and storage. */
  cleanup(): Promise<void>;
}

/** Creates fresh backing storage for one test. */
export type SequencerFactory = () => Promise<SequencerHarness>;

/** Fails the test when two ranges share a seq; returns them sorted by start. */
export function expectDisjoint(ranges: readonly SeqRange[]): SeqRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start < sorted[i - 1].end) {
      throw new Error(`ranges overlap: [${sorted[i - 1].start}, ${sorted[i - 1].end}) and [${sorted[i].start}, ${sorted[i].end})`);
    }
  }
  return sorted;
}

/** Registers the Sequencer contract tests under `describe(name)`. */
export function runSequencerContract(name: string, factory: SequencerFactory): void {
  describe(`Sequencer contract: ${name}`, () => {
    let harness: SequencerHarness;
    const opened: Sequencer[] = [];

    async function open(): Promise<Sequencer> {
      const s = await harness.open();
      opened.push(s);
      return s;
    }

    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await harness.cleanup();
    });

    it('starts at 1 and hands out contiguous increasing ranges of the requested size', async () => {
      const seq = await open();
      const conv = newId('c');
      expect(await seq.reserve(conv, 64)).toEqual({ start: 1, end: 65 });
      expect(await seq.reserve(conv, 1)).toEqual({ start: 65, end: 66 });
      expect(await seq.reserve(conv, 10)).toEqual({ start: 66, end: 76 });
    });

    it('keeps conversations independent', async () => {
      const seq = await open();
      const [a, b] = [newId('c'), newId('c')];
      await seq.reserve(a, 100);
      expect(await seq.reserve(b, 5)).toEqual({ start: 1, end: 6 });
      expect(await seq.reserve(a, 5)).toEqual({ start: 101, end: 106 });
    });

    it('rejects a count that is not a positive integer', async () => {
      const seq = await open();
      const conv = newId('c');
      await expect(seq.reserve(conv, 0)).rejects.toBeDefined();
      await expect(seq.reserve(conv, -3)).rejects.toBeDefined();
      await expect(seq.reserve(conv, 1.5)).rejects.toBeDefined();
      expect(await seq.reserve(conv, 1)).toEqual({ start: 1, end: 2 });
    });

    it('never overlaps across many concurrent reserve calls on one instance', async () => {
      const seq = await open();
      const conv = newId('c');
      const ranges = await Promise.all(Array.from({ length: 200 }, (_, i) => seq.reserve(conv, 1 + (i % 7))));
      const sorted = expectDisjoint(ranges);
      expect(sorted[0].start).toBe(1);
    });

    it('never overlaps across two instances with their own connections, interleaved', async () => {
      const [one, two] = [await open(), await open()];
      const convs = [newId('c'), newId('c'), newId('c')];
      const calls: Promise<SeqRange & { conv: string }>[] = [];
      for (let i = 0; i < 300; i++) {
        const conv = convs[i % convs.length];
        const s = i % 2 === 0 ? one : two;
        calls.push(s.reserve(conv, 1 + (i % 64)).then((r) => ({ ...r, conv })));
      }
      const all = await Promise.all(calls);
      for (const conv of convs) {
        const mine = all.filter((r) => r.conv === conv);
        expectDisjoint(mine);
        // Each instance's own ranges come back increasing, in call order.
        for (const s of [0, 1]) {
          const ownStarts = all.filter((r, i) => r.conv === conv && i % 2 === s).map((r) => r.start);
          expect(ownStarts).toEqual([...ownStarts].sort((x, y) => x - y));
        }
      }
    });

    it('rejects reserve after close', async () => {
      const seq = await open();
      await seq.close();
      await expect(seq.reserve(newId('c'), 1)).rejects.toBeDefined();
    });

    it('hands out strictly greater seqs after close and reopen', async () => {
      const conv = newId('c');
      const first = await harness.open();
      const before = await first.reserve(conv, 64);
      await first.close();
      const second = await open();
      const after = await second.reserve(conv, 64);
      expect(after.start).toBeGreaterThanOrEqual(before.end);
    });
  });
}

/**
 * The Bus contract suite (src/bus/index.ts), written once and run against every engine.
 * A harness opens any number of buses on the same backing transport, as separate shards
 * would (an in-process engine may hand out the same instance: one process is one shard).
 */
import type { Bus, BusMessage } from '../../src/bus';

/** Backing transport for one test: `open` gives a bus as one shard would see it. */
export interface BusHarness {
  open(): Promise<Bus>;
  /** Runs after every opened bus was closed. */
  cleanup(): Promise<void>;
}

export type BusFactory = () => Promise<BusHarness>;

export const frame = (text: string): BusMessage => ({ t: 'frames', users: ['u'], frame: text, frame_type: 'DELIVER', exclude_session: null });
const text = (m: BusMessage): string => (m.t === 'frames' ? m.frame : `<${m.t}>`);

/** Resolves once `cond` holds; fails after `ms`, naming what was awaited. */
export async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Registers the Bus contract tests under `describe(name)`. */
export function runBusContract(name: string, factory: BusFactory): void {
  describe(`Bus contract: ${name}`, () => {
    let harness: BusHarness;
    const opened: Bus[] = [];
    let topicSeq = 0;
    // Unique per test, so a slow message of an earlier test cannot leak into a later one.
    const topic = (label: string): string => `${label}:${process.pid}:${Date.now()}:${++topicSeq}`;

    async function open(): Promise<Bus> {
      const bus = await harness.open();
      if (!opened.includes(bus)) opened.push(bus);
      return bus;
    }

    /** Collects what a handler receives on `t`. */
    async function listen(bus: Bus, t: string): Promise<{ got: string[]; off: () => void }> {
      const got: string[] = [];
      const off = await bus.subscribe(t, (m) => got.push(text(m)));
      return { got, off };
    }

    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      for (const bus of opened.splice(0)) await bus.close();
      await harness.cleanup();
    });

    it('delivers 1000 messages in publish order', async () => {
      const bus = await open();
      const t = topic('order');
      const { got } = await listen(bus, t);
      const sent = Array.from({ length: 1000 }, (_, i) => String(i));
      for (const s of sent) bus.publish(t, frame(s));
      await waitFor('1000 messages', () => got.length >= 1000);
      expect(got).toEqual(sent);
    });

    it('delivers nothing published before subscribe, and nothing of other topics', async () => {
      const bus = await open();
      const [t, other] = [topic('t'), topic('other')];
      bus.publish(t, frame('before'));
      const { got } = await listen(bus, t);
      const { got: otherGot } = await listen(bus, other);
      bus.publish(t, frame('after'));
      bus.publish(other, frame('end'));
      await waitFor('end marker', () => otherGot.length === 1);
      // One publisher, one subscribing instance: 'after' was delivered before 'end'.
      expect(got).toEqual(['after']);
    });

    it('stops calling a handler once its unsubscribe function returned; others keep receiving', async () => {
      const bus = await open();
      const t = topic('unsub');
      const one = await listen(bus, t);
      const two = await listen(bus, t);
      bus.publish(t, frame('both'));
      await waitFor('first message', () => one.got.length === 1 && two.got.length === 1);
      one.off();
      one.off(); // idempotent
      bus.publish(t, frame('only two'));
      await waitFor('second message', () => two.got.length === 2);
      expect(one.got).toEqual(['both']);
      expect(two.got).toEqual(['both', 'only two']);
    });

    it('drops a topic when its last handler leaves, and subscribes it again afterwards', async () => {
      const bus = await open();
      const [t, marker] = [topic('drop'), topic('marker')];
      const first = await listen(bus, t);
      const end = await listen(bus, marker);
      first.off();
      bus.publish(t, frame('nobody'));
      bus.publish(marker, frame('m1'));
      await waitFor('marker', () => end.got.length === 1);
      expect(first.got).toEqual([]);
      const again = await listen(bus, t);
      bus.publish(t, frame('back'));
      await waitFor('message after resubscribe', () => again.got.length === 1);
      expect(again.got).toEqual(['back']);
      expect(first.got).toEqual([]);
    });

    it('gives every message to each of two handlers of one topic, in order', async () => {
      const bus = await open();
      const t = topic('two');
      const [a, b] = [await listen(bus, t), await listen(bus, t)];
      const sent = Array.from({ length: 200 }, (_, i) => String(i));
      for (const s of sent) bus.publish(t, frame(s));
      await waitFor('both handlers', () => a.got.length >= 200 && b.got.length >= 200);
      expect(a.got).toEqual(sent);
      expect(b.got).toEqual(sent);
    });

    it('carries messages between two shards both ways, each publisher in order', async () => {
      const [one, two] = [await open(), await open()];
      const [toOne, toTwo] = [topic('to-one'), topic('to-two')];
      const atOne = await listen(one, toOne);
      const atTwo = await listen(two, toTwo);
      const sent = Array.from({ length: 300 }, (_, i) => String(i));
      for (const s of sent) {
        one.publish(toTwo, frame(`1:${s}`));
        two.publish(toOne, frame(`2:${s}`));
      }
      await waitFor('both directions', () => atOne.got.length >= 300 && atTwo.got.length >= 300);
      expect(atTwo.got).toEqual(sent.map((s) => `1:${s}`));
      expect(atOne.got).toEqual(sent.map((s) => `2:${s}`));
    });

    it('keeps each publisher in order when two publish to one topic', async () => {
      const [one, two] = [await open(), await open()];
      const t = topic('shared');
      const { got } = await listen(one, t);
      for (let i = 0; i < 200; i++) {
        one.publish(t, frame(`a${i}`));
        two.publish(t, frame(`b${i}`));
      }
      await waitFor('400 messages', () => got.length >= 400);
      const from = (p: string) => got.filter((g) => g.startsWith(p)).map((g) => Number(g.slice(1)));
      expect(from('a')).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(from('b')).toEqual(Array.from({ length: 200 }, (_, i) => i));
    });

    it('delivers what a handler publishes (a reply travels like any message)', async () => {
      const [one, two] = [await open(), await open()];
      const [ping, pong] = [topic('ping'), topic('pong')];
      await two.subscribe(ping, (m) => two.publish(pong, frame(`re:${text(m)}`)));
      const { got } = await listen(one, pong);
      one.publish(ping, frame('hello'));
      await waitFor('reply', () => got.length === 1);
      expect(got).toEqual(['re:hello']);
    });

    it('carries every message kind unchanged', async () => {
      const [one, two] = [await open(), await open()];
      const t = topic('kinds');
      const got: BusMessage[] = [];
      await two.subscribe(t, (m) => got.push(m));
      const msgs: BusMessage[] = [
        { t: 'frames', users: ['u1', 'u2'], frame: '{"type":"DELIVER","body":"é ✓"}', frame_type: 'DELIVER', exclude_session: 's1' },
        { t: 'presence', user_id: 'u1', state: 'online', frame: '{"type":"PRESENCE"}', last_seen: null, at: 1 },
      ];
      for (const m of msgs) one.publish(t, m);
      await waitFor('both kinds', () => got.length === 2);
      expect(got).toEqual(msgs);
    });
  });
}

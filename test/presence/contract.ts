/**
 * The Presence contract suite (src/presence/index.ts), written once and run against every
 * engine. A harness opens any number of presence handles on the same backing state, one
 * per gateway as separate shards would (an in-process engine may hand out one instance).
 */
import type { Presence } from '../../src/presence';

export interface PresenceHarness {
  open(): Promise<Presence>;
  /** Runs after every opened handle was closed; removes the test's state. */
  cleanup(): Promise<void>;
}

export type PresenceFactory = () => Promise<PresenceHarness>;

/** Registers the Presence contract tests under `describe(name)`. */
export function runPresenceContract(name: string, factory: PresenceFactory): void {
  describe(`Presence contract: ${name}`, () => {
    let harness: PresenceHarness;
    const opened: Presence[] = [];
    let seq = 0;
    const id = (label: string): string => `${label}${++seq}`;

    /** A handle for gateway `gatewayId`, registered (heartbeat) as a gateway does at start. */
    async function gateway(gatewayId: string): Promise<Presence> {
      const p = await harness.open();
      if (!opened.includes(p)) opened.push(p);
      await p.heartbeat(gatewayId);
      return p;
    }

    beforeEach(async () => {
      harness = await factory();
    });
    afterEach(async () => {
      for (const p of opened.splice(0)) await p.close();
      await harness.cleanup();
    });

    it('keeps a user online while any session is registered, across two gateways; reports each transition once', async () => {
      const [g1, g2] = [await gateway('g1'), await gateway('g2')];
      const u = id('u');
      expect(await g1.addSession(u, 'g1', 's1')).toEqual({ becameOnline: true });
      expect(await g2.addSession(u, 'g2', 's2')).toEqual({ becameOnline: false });
      expect(await g1.removeSession(u, 'g1', 's1', 100)).toEqual({ becameOffline: false });
      expect(await g2.get([u])).toEqual([{ user_id: u, online: true, last_seen: null }]);
      expect(await g2.removeSession(u, 'g2', 's2', 200)).toEqual({ becameOffline: true });
      expect(await g2.removeSession(u, 'g2', 's2', 300)).toEqual({ becameOffline: false });
      expect(await g1.get([u, id('nobody')])).toEqual([
        { user_id: u, online: false, last_seen: 200 },
        { user_id: `nobody${seq}`, online: false, last_seen: null },
      ]);
      expect(await g1.addSession(u, 'g1', 's3')).toEqual({ becameOnline: true });
      // Online again, with the previous disconnect still known.
      expect(await g2.get([u])).toEqual([{ user_id: u, online: true, last_seen: 200 }]);
    });

    it('ignores removing a session it never registered', async () => {
      const g1 = await gateway('g1');
      const u = id('u');
      expect(await g1.removeSession(u, 'g1', 'nope', 1)).toEqual({ becameOffline: false });
      await g1.addSession(u, 'g1', 's1');
      expect(await g1.removeSession(u, 'g1', 'other', 1)).toEqual({ becameOffline: false });
      expect((await g1.get([u]))[0].online).toBe(true);
    });

    it('reports each transition exactly once under concurrent calls from two gateways', async () => {
      const [g1, g2] = [await gateway('g1'), await gateway('g2')];
      const users = Array.from({ length: 20 }, () => id('u'));
      for (let round = 0; round < 3; round++) {
        const adds = await Promise.all(
          users.flatMap((u) => [0, 1, 2, 3].map((k) => (k % 2 === 0 ? g1 : g2).addSession(u, k % 2 === 0 ? 'g1' : 'g2', `s${round}-${k}`))),
        );
        expect(adds.filter((r) => r.becameOnline)).toHaveLength(users.length);
        const removes = await Promise.all(
          users.flatMap((u) => [0, 1, 2, 3].map((k) => (k % 2 === 0 ? g1 : g2).removeSession(u, k % 2 === 0 ? 'g1' : 'g2', `s${round}-${k}`, 1000 + round))),
        );
        expect(removes.filter((r) => r.becameOffline)).toHaveLength(users.length);
        expect((await g1.get(users)).every((i) => !i.online && i.last_seen === 1000 + round)).toBe(true);
      }
    });

    it('locates online users by gateway, each gateway listed once per user', async () => {
      const [g1, g2] = [await gateway('g1'), await gateway('g2')];
      const [a, b, c, d] = [id('a'), id('b'), id('c'), id('d')];
      await g1.addSession(a, 'g1', 's1');
      await g1.addSession(b, 'g1', 's2');
      await g1.addSession(b, 'g1', 's3');
      await g2.addSession(b, 'g2', 's4');
      await g2.addSession(d, 'g2', 's5');
      await g2.removeSession(d, 'g2', 's5', 1);
      const m = await g2.locate([a, b, c, d]);
      expect(Object.fromEntries(m)).toEqual({ g1: [a, b], g2: [b] });
      expect((await g1.locate([])).size).toBe(0);
    });

    it('knows which devices have a live session: per user, across gateways, not sessions of no device', async () => {
      const [g1, g2] = [await gateway('g1'), await gateway('g2')];
      const [a, b, c] = [id('a'), id('b'), id('c')];
      await g1.addSession(a, 'g1', 's1', 'phone');
      await g2.addSession(a, 'g2', 's2', 'laptop');
      await g2.addSession(a, 'g2', 's3', 'laptop');
      await g1.addSession(b, 'g1', 's4');
      await g1.addSession(c, 'g1', 's5', 'tablet');
      await g1.removeSession(c, 'g1', 's5', 1);
      await g2.removeSession(a, 'g2', 's2', 1);
      const live = await g1.liveDevices([a, b, c]);
      expect(Object.fromEntries([...live].map(([u, d]) => [u, [...d].sort()]))).toEqual({ [a]: ['laptop', 'phone'] });
      await g2.removeSession(a, 'g2', 's3', 1);
      expect([...((await g2.liveDevices([a])).get(a) ?? [])]).toEqual(['phone']);
      expect((await g1.liveDevices([])).size).toBe(0);
    });

    it('locates and reads many users in one call', async () => {
      const [g1, g2] = [await gateway('g1'), await gateway('g2')];
      const users = Array.from({ length: 500 }, () => id('u'));
      await Promise.all(users.map((u, i) => (i % 2 === 0 ? g1.addSession(u, 'g1', 's') : i % 5 === 0 ? g2.addSession(u, 'g2', 's') : null)));
      const m = await g1.locate(users);
      expect(m.get('g1')).toEqual(users.filter((_, i) => i % 2 === 0));
      expect(m.get('g2')).toEqual(users.filter((_, i) => i % 2 !== 0 && i % 5 === 0));
      const infos = await g2.get(users);
      expect(infos.map((i) => i.user_id)).toEqual(users);
      expect(infos.filter((i) => i.online)).toHaveLength(250 + 50);
    });

    it('answers a heartbeat with nothing to do while every gateway is alive', async () => {
      const [g1, g2] = [await gateway('g1'), await gateway('g2')];
      await g1.addSession(id('u'), 'g1', 's');
      expect(await g1.heartbeat('g1')).toEqual({ lapsed: false, wentOffline: [] });
      expect(await g2.heartbeat('g2')).toEqual({ lapsed: false, wentOffline: [] });
    });
  });
}

/** RedisPresence against a real Redis: the Presence contract, then expiry of crashed gateways. */
import type Redis from 'ioredis';
import { RedisPresence } from '../../src/presence';
import { runPresenceContract } from '../presence/contract';
import { connectRedis, deleteKeys, randomPrefix } from './redis-env';

const connections: Redis[] = [];
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
});

/** Each gateway its own connection, as on separate shards; every key under one random prefix. */
function cluster(ttlMs?: number): { open(): RedisPresence; prefix: string; cleanup(): Promise<void> } {
  const prefix = randomPrefix();
  const own: Redis[] = [];
  return {
    prefix,
    open: () => {
      const redis = connectRedis();
      own.push(redis);
      return new RedisPresence(redis, { prefix, ttlMs });
    },
    cleanup: async () => {
      const admin = connectRedis();
      await deleteKeys(admin, prefix);
      await admin.quit();
      // Presence borrows its connection; the owner (here the harness) closes it.
      await Promise.all(own.map((c) => c.quit()));
    },
  };
}

runPresenceContract('redis', async () => {
  const c = cluster();
  return { open: async () => c.open(), cleanup: c.cleanup };
});

describe('RedisPresence registrations with a ttl', () => {
  const ttlMs = 300;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const admin = connectRedis();
  connections.push(admin);

  it("takes a crashed gateway's users offline within the ttl and reports them once", async () => {
    const c = cluster(ttlMs);
    try {
      const [g1, g2] = [c.open(), c.open()];
      await g1.heartbeat('g1');
      await g2.heartbeat('g2');
      await g1.addSession('alice', 'g1', 's1', 'alice-phone'); // only on the crashing gateway
      await g1.addSession('bob', 'g1', 's2', 'bob-phone');
      await g2.addSession('bob', 'g2', 's3', 'bob-laptop'); // also on a live one
      const crashedAt = Date.now();
      // g1 crashes: no more heartbeats. g2 keeps going, so only g1 lapses.
      const reported: string[] = [];
      const until = Date.now() + ttlMs + 100;
      while (Date.now() < until) {
        reported.push(...(await g2.heartbeat('g2')).wentOffline.map((w) => w.user_id));
        await sleep(50);
      }
      expect(reported).toEqual(['alice']);
      const infos = await g2.get(['alice', 'bob']);
      expect(infos.map((i) => [i.user_id, i.online])).toEqual([
        ['alice', false],
        ['bob', true],
      ]);
      expect(Object.fromEntries(await g2.locate(['alice', 'bob']))).toEqual({ g2: ['bob'] });
      // Push decides per device: only devices on live gateways count as connected.
      expect(Object.fromEntries([...(await g2.liveDevices(['alice', 'bob']))].map(([u, d]) => [u, [...d]]))).toEqual({ bob: ['bob-laptop'] });
      expect(await g2.heartbeat('g2')).toEqual({ lapsed: false, wentOffline: [] });
      const [alice] = await g2.get(['alice']);
      expect(alice.last_seen).toBeGreaterThanOrEqual(crashedAt - 50);
      expect(alice.last_seen).toBeLessThanOrEqual(crashedAt + 50);
      // The crashed gateway's bookkeeping is gone.
      expect(await admin.zscore(`${c.prefix}gateways`, 'g1')).toBeNull();
      expect(await admin.exists(`${c.prefix}gw:g1`)).toBe(0);
      expect(await admin.hkeys(`${c.prefix}user:bob`)).toEqual(expect.arrayContaining(['g2/s3', 'online']));
      expect(await admin.hkeys(`${c.prefix}user:bob`)).not.toContain('g1/s2');
    } finally {
      await c.cleanup();
    }
  });

  it('reports users left offline by a lapsed gateway to exactly one of several reapers', async () => {
    const c = cluster(ttlMs);
    try {
      const [g1, g2, g3] = [c.open(), c.open(), c.open()];
      await g1.heartbeat('g1');
      const users = Array.from({ length: 50 }, (_, i) => `u${i}`);
      for (const u of users) await g1.addSession(u, 'g1', `s-${u}`);
      await sleep(ttlMs + 50);
      const results = await Promise.all([g2.heartbeat('g2'), g3.heartbeat('g3'), g2.heartbeat('g2'), g3.heartbeat('g3')]);
      const reported = results.flatMap((r) => r.wentOffline.map((w) => w.user_id));
      expect(reported.sort()).toEqual([...users].sort());
      expect(results.every((r) => r.wentOffline.every((w) => typeof w.last_seen === 'number'))).toBe(true);
      // Those users' next removeSession (the crashed gateway's sockets are long gone) is a no-op.
      expect(await g2.removeSession('u1', 'g1', 's-u1', Date.now())).toEqual({ becameOffline: false });
    } finally {
      await c.cleanup();
    }
  });

  it('tells a gateway whose registration lapsed to add its sessions again, and refuses sessions until it does', async () => {
    const c = cluster(ttlMs);
    try {
      const [g1, g2] = [c.open(), c.open()];
      expect((await g1.heartbeat('g1')).lapsed).toBe(true); // first registration
      expect((await g1.heartbeat('g1')).lapsed).toBe(false);
      await g1.addSession('dave', 'g1', 's1');
      await sleep(ttlMs + 50); // g1 pauses (a long GC, a partition)
      await expect(g1.addSession('erin', 'g1', 's2')).rejects.toThrow(/PRESENCE_NOT_REGISTERED/);
      expect((await g2.heartbeat('g2')).wentOffline.map((w) => w.user_id)).toEqual(['dave']);
      const back = await g1.heartbeat('g1');
      expect(back).toEqual({ lapsed: true, wentOffline: [] });
      // The gateway re-adds what it still holds: an online transition, announced again.
      expect(await g1.addSession('dave', 'g1', 's1')).toEqual({ becameOnline: true });
      expect((await g2.get(['dave']))[0].online).toBe(true);
    } finally {
      await c.cleanup();
    }
  });

  it('keeps last_seen after the last session ends and lets the hash expire later', async () => {
    const c = cluster(ttlMs);
    try {
      const redis = connectRedis();
      connections.push(redis);
      const g1 = new RedisPresence(redis, { prefix: c.prefix, ttlMs, lastSeenTtlMs: 200 });
      await g1.heartbeat('g1');
      await g1.addSession('frank', 'g1', 's1');
      expect(await admin.pttl(`${c.prefix}user:frank`)).toBe(-1); // online: no expiry
      expect(await g1.removeSession('frank', 'g1', 's1', 12345)).toEqual({ becameOffline: true });
      expect(await g1.get(['frank'])).toEqual([{ user_id: 'frank', online: false, last_seen: 12345 }]);
      expect(await admin.pttl(`${c.prefix}user:frank`)).toBeGreaterThan(0);
      await sleep(250);
      expect(await g1.get(['frank'])).toEqual([{ user_id: 'frank', online: false, last_seen: null }]);
    } finally {
      await c.cleanup();
    }
  });

  it('rejects a gateway id that would break the session field format', async () => {
    const c = cluster();
    try {
      await expect(c.open().heartbeat('a/b')).rejects.toThrow(/invalid gateway id/);
    } finally {
      await c.cleanup();
    }
  });
});

import { Ring } from '../../src/cluster/ring';
import { newId } from '../../src/protocol';

const keys = Array.from({ length: 30_000 }, () => newId('c'));

test('every shard builds the same ring from the same members, whatever their order', () => {
  const a = new Ring(['s1', 's2', 's3']);
  const b = new Ring(['s3', 's1', 's2', 's1']);
  expect(a.version).toBe(b.version);
  for (const k of keys.slice(0, 1000)) expect(a.owner(k)).toBe(b.owner(k));
  expect(new Ring(['s1', 's2']).version).not.toBe(a.version);
});

test('load spreads evenly over three shards', () => {
  const ring = new Ring(['s1', 's2', 's3']);
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(ring.owner(k), (counts.get(ring.owner(k)) ?? 0) + 1);
  for (const n of counts.values()) expect(Math.abs(n / keys.length - 1 / 3)).toBeLessThan(0.06);
});

test('a join moves only keys to the new shard, and about its share of them', () => {
  const before = new Ring(['s1', 's2', 's3']);
  const after = new Ring(['s1', 's2', 's3', 's4']);
  let moved = 0;
  for (const k of keys) {
    if (before.owner(k) !== after.owner(k)) {
      moved++;
      expect(after.owner(k)).toBe('s4');
    }
  }
  expect(moved / keys.length).toBeGreaterThan(0.15);
  expect(moved / keys.length).toBeLessThan(0.35);
});

test('a leave moves only the leaving shard keys', () => {
  const before = new Ring(['s1', 's2', 's3']);
  const after = new Ring(['s1', 's3']);
  for (const k of keys.slice(0, 5000)) {
    if (before.owner(k) !== 's2') expect(after.owner(k)).toBe(before.owner(k));
    else expect(['s1', 's3']).toContain(after.owner(k));
  }
});

test('an empty ring has no owner', () => {
  const ring = new Ring([]);
  expect(ring.empty).toBe(true);
  expect(() => ring.owner('c_1')).toThrow(/no shards/);
});

test("a shard's share of the hash space matches the keys it owns, and the shares add up to one", () => {
  const ring = new Ring(['s1', 's2', 's3']);
  const shares = ring.shards.map((s) => ring.share(s));
  expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  for (const s of ring.shards) {
    const owned = keys.filter((k) => ring.owner(k) === s).length / keys.length;
    expect(Math.abs(ring.share(s) - owned)).toBeLessThan(0.02);
  }
  expect(new Ring(['s1']).share('s1')).toBe(1);
  expect(ring.share('s9')).toBe(0);
  expect(new Ring([]).share('s1')).toBe(0);
});

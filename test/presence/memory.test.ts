import { MemoryPresence, visiblePresence } from '../../src/presence';

test('online while any session is registered; transitions reported once', async () => {
  const p = new MemoryPresence();
  expect(await p.addSession('u', 'g1', 's1')).toEqual({ becameOnline: true });
  expect(await p.addSession('u', 'g2', 's2')).toEqual({ becameOnline: false });
  expect(await p.removeSession('u', 'g1', 's1', 100)).toEqual({ becameOffline: false });
  expect(await p.get(['u'])).toEqual([{ user_id: 'u', online: true, last_seen: null }]);
  expect(await p.removeSession('u', 'g2', 's2', 200)).toEqual({ becameOffline: true });
  expect(await p.removeSession('u', 'g2', 's2', 300)).toEqual({ becameOffline: false });
  expect(await p.get(['u', 'nobody'])).toEqual([
    { user_id: 'u', online: false, last_seen: 200 },
    { user_id: 'nobody', online: false, last_seen: null },
  ]);
});

test('locate groups online users by gateway', async () => {
  const p = new MemoryPresence();
  await p.addSession('a', 'g1', 's1');
  await p.addSession('b', 'g1', 's2');
  await p.addSession('b', 'g2', 's3');
  const m = await p.locate(['a', 'b', 'c']);
  expect(Object.fromEntries(m)).toEqual({ g1: ['a', 'b'], g2: ['b'] });
});

test('visiblePresence applies privacy settings', () => {
  const all = { show_presence: true, show_last_seen: true };
  expect(visiblePresence('u', true, 5, all, 99)).toEqual({ user_id: 'u', state: 'online', last_seen: 99 });
  expect(visiblePresence('u', false, 5, all, 99)).toEqual({ user_id: 'u', state: 'offline', last_seen: 5 });
  expect(visiblePresence('u', true, 5, { show_presence: false, show_last_seen: true }, 99)).toEqual({ user_id: 'u', state: 'offline', last_seen: null });
  expect(visiblePresence('u', false, 5, { show_presence: true, show_last_seen: false }, 99)).toEqual({ user_id: 'u', state: 'offline', last_seen: null });
});

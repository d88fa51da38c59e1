import { MemoryPresence, visiblePresence } from '../../src/presence';
import { runPresenceContract } from './contract';

// One process holds every gateway: all open() calls share one instance.
runPresenceContract('memory', async () => {
  const p = new MemoryPresence();
  return { open: async () => p, cleanup: async () => {} };
});

test('visiblePresence applies privacy settings', () => {
  const all = { show_presence: true, show_last_seen: true };
  expect(visiblePresence('u', true, 5, all, 99)).toEqual({ user_id: 'u', state: 'online', last_seen: 99 });
  expect(visiblePresence('u', false, 5, all, 99)).toEqual({ user_id: 'u', state: 'offline', last_seen: 5 });
  expect(visiblePresence('u', true, 5, { show_presence: false, show_last_seen: true }, 99)).toEqual({ user_id: 'u', state: 'offline', last_seen: null });
  expect(visiblePresence('u', false, 5, { show_presence: true, show_last_seen: false }, 99)).toEqual({ user_id: 'u', state: 'offline', last_seen: null });
});

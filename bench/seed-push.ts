/**
 * S10's users, conversations and push registrations, written into the server's database
 * through the project's own store before the server starts (as seed.ts does for S1-S9;
 * registrations likewise, since the push service's port is known by then). Every offline
 * device is registered with a subscription at the local push service whose keys derive from
 * its device id (push-keys.ts). Device ids embed the user id, so they are unique machine-wide
 * and the push service can tell them apart by the endpoint's path.
 */
import { SqliteStore, openSqliteDatabase } from '../src/store';
import { subscriptionOf } from './push-keys';

export interface PushSeed {
  sender: string;
  /** (a): direct conversations with one offline recipient each. */
  direct: { user: string; conv: string; device: string }[];
  /** (c): direct conversations whose recipient has an offline device and an online one. */
  readers: { user: string; conv: string; device: string; online: string }[];
  /** (b): groups of `members` offline recipients and the sender. */
  groups: { conv: string; members: string[] }[];
}

const dummyHash = 'scrypt$bench$not-a-real-hash';
const pad = (n: number, w: number): string => String(n).padStart(w, '0');

export async function seedPush(dbFile: string, port: number, sizes: { direct: number; readers: number; groups: number; members: number }, sync: 'full' | 'normal'): Promise<PushSeed> {
  const out: PushSeed = {
    sender: 'u_push_sender',
    direct: Array.from({ length: sizes.direct }, (_, i) => ({ user: `u_push_a${pad(i, 5)}`, conv: `c_push_a${pad(i, 5)}`, device: `off_u_push_a${pad(i, 5)}` })),
    readers: Array.from({ length: sizes.readers }, (_, i) => ({ user: `u_push_c${pad(i, 5)}`, conv: `c_push_c${pad(i, 5)}`, device: `off_u_push_c${pad(i, 5)}`, online: `on_u_push_c${pad(i, 5)}` })),
    groups: Array.from({ length: sizes.groups }, (_, g) => ({ conv: `c_push_g${pad(g, 3)}`, members: Array.from({ length: sizes.members }, (_, i) => `u_push_g${pad(g, 3)}_${pad(i, 4)}`) })),
  };
  const db = openSqliteDatabase(dbFile, { synchronous: sync });
  const store = new SqliteStore(db);
  const now = Date.now();
  const user = (user_id: string) => store.createUser({ user_id, username: user_id.slice(2), display_name: user_id === out.sender ? 'Push sender' : user_id, password_hash: dummyHash, created_at: now });
  const register = (user_id: string, device_id: string) => {
    const s = subscriptionOf(device_id, port);
    return store.putPushRegistration({ user_id, device_id, platform: 'web', app_id: '', target: { provider: 'webpush', endpoint: s.endpoint, keys: s.keys }, created_at: now, updated_at: now });
  };
  const direct = (conv_id: string, other: string) =>
    store.createConversation({ conv_id, type: 'direct', title: null, created_at: now, members: [{ user_id: out.sender, role: 'member' }, { user_id: other, role: 'member' }] });
  db.exec('BEGIN');
  try {
    await user(out.sender);
    for (const r of [...out.direct, ...out.readers]) {
      await user(r.user);
      await direct(r.conv, r.user);
      await register(r.user, r.device);
    }
    for (const g of out.groups) {
      for (const m of g.members) {
        await user(m);
        await register(m, `off_${m}`);
      }
      await store.createConversation({
        conv_id: g.conv,
        type: 'group',
        title: `push group ${g.conv.slice(-3)}`,
        created_at: now,
        members: [{ user_id: out.sender, role: 'admin' as const }, ...g.members.map((user_id) => ({ user_id, role: 'member' as const }))],
      });
    }
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  } finally {
    await store.close();
  }
  return out;
}

/**
 * Seeds the server's database before it starts, through the project's own store (and
 * sequencer, so seeded conversations continue at the right seq): users with a dummy
 * password hash (tokens are minted by the bench, so nobody logs in and scrypt never
 * runs), direct conversations in pairs, the 250-member group, and for the reconnect
 * storm one conversation per client holding the events it missed.
 */
import { randomUUID } from 'node:crypto';
import { SqliteStore, openSqliteDatabase, type AppendItem } from '../src/store';
import { SqliteSequencer } from '../src/sequencer';
import type { Params } from './params';

export interface Seeded {
  /** Users of S1-S4; users[2i] and users[2i+1] share pairConvs[i]. */
  users: string[];
  pairConvs: string[];
  group: string;
  /** users[0 .. members) */
  groupMembers: string[];
  /** S5: storm.users[i] is in storm.convs[i] with `missed` events from an offline sender. */
  storm: { users: string[]; convs: string[]; missed: number };
}

const dummyHash = 'scrypt$bench$not-a-real-hash';
const pad = (n: number): string => String(n).padStart(6, '0');

/** The seeded user of global index `i` (the same name in every database that holds it). */
/** The conversation a direct pair is created with, on either engine's store. */
export function directConversation(conv_id: string, a: string, b: string, now: number): Parameters<SqliteStore['createConversation']>[0] {
  return { conv_id, type: 'direct', title: null, created_at: now, members: [{ user_id: a, role: 'member' }, { user_id: b, role: 'member' }] };
}

export function benchUser(i: number): string {
  return `u_bench${pad(i)}`;
}

/**
 * Users `from .. from + count` (from and count even) and their direct pairs (2i, 2i+1),
 * named as seed() names them; returns the pairs' conversation ids in order.
 */
async function seedPairUsers(store: SqliteStore, from: number, count: number, now: number): Promise<string[]> {
  for (let i = from; i < from + count; i++) {
    await store.createUser({ user_id: benchUser(i), username: `bench${pad(i)}`, display_name: `Bench ${i}`, password_hash: dummyHash, created_at: now });
  }
  const convs: string[] = [];
  for (let i = from / 2; i < (from + count) / 2; i++) {
    const conv_id = `c_bench_pair${pad(i)}`;
    convs.push(conv_id);
    await store.createConversation(directConversation(conv_id, benchUser(2 * i), benchUser(2 * i + 1), now));
  }
  return convs;
}

/**
 * S11: one shard's own database holding users `from .. from + count` and their pairs, as
 * seed() seeds them (a shard serves only its slice, so pairs never straddle two shards).
 */
export async function seedPairs(dbFile: string, from: number, count: number, sync: Params['sqliteSync']): Promise<{ users: string[]; pairConvs: string[] }> {
  if (from % 2 !== 0 || count % 2 !== 0) throw new Error('seedPairs: from and count must be even');
  const db = openSqliteDatabase(dbFile, { synchronous: sync });
  const store = new SqliteStore(db);
  db.exec('BEGIN');
  try {
    const pairConvs = await seedPairUsers(store, from, count, Date.now());
    db.exec('COMMIT');
    return { users: Array.from({ length: count }, (_, i) => benchUser(from + i)), pairConvs };
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  } finally {
    await store.close();
  }
}

export async function seed(dbFile: string, p: Params): Promise<Seeded> {
  const userCount = Math.max(p.s1.connections, 2 * p.s2.pairs, 2 * p.s3.pairs, p.s4.members, 2 * p.s8.pairs, p.s8.idleWarm + p.s8.idle, 2 * (p.s9.pairs + p.s9.uploaders), p.s12.idleWarm + p.s12.idle);
  const out: Seeded = {
    users: Array.from({ length: userCount + (userCount % 2) }, (_, i) => benchUser(i)),
    pairConvs: [],
    group: 'c_bench_group',
    groupMembers: [],
    storm: { users: [], convs: [], missed: p.s5.missed },
  };
  out.groupMembers = out.users.slice(0, p.s4.members);
  const db = openSqliteDatabase(dbFile, { synchronous: p.sqliteSync });
  const store = new SqliteStore(db);
  const sequencer = new SqliteSequencer(db);
  const now = Date.now();
  // One transaction for the whole seed: the store's own transactions nest as savepoints.
  db.exec('BEGIN');
  try {
    out.pairConvs = await seedPairUsers(store, 0, out.users.length, now);
    await store.createConversation({
      conv_id: out.group,
      type: 'group',
      title: 'bench group',
      created_at: now,
      members: out.groupMembers.map((user_id, i) => ({ user_id, role: i === 0 ? 'admin' : 'member' })),
    });
    await seedStorm(store, sequencer, out, p, now);
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  } finally {
    await store.close();
  }
  return out;
}

async function seedStorm(store: SqliteStore, sequencer: SqliteSequencer, out: Seeded, p: Params, now: number): Promise<void> {
  const sender = 'u_bench_storm_sender';
  await store.createUser({ user_id: sender, username: 'bench_storm_sender', display_name: 'Storm sender', password_hash: dummyHash, created_at: now });
  let batch: AppendItem[] = [];
  for (let i = 0; i < p.s5.clients; i++) {
    const user_id = `u_bench_storm${String(i).padStart(5, '0')}`;
    const conv_id = `c_bench_storm${String(i).padStart(5, '0')}`;
    out.storm.users.push(user_id);
    out.storm.convs.push(conv_id);
    await store.createUser({ user_id, username: `bench_storm${i}`, display_name: `Storm ${i}`, password_hash: dummyHash, created_at: now });
    await store.createConversation(directConversation(conv_id, user_id, sender, now));
    const range = await sequencer.reserve(conv_id, p.s5.missed);
    for (let seq = range.start; seq < range.end; seq++) {
      batch.push({
        event: {
          conv_id,
          seq,
          ts: now + seq,
          sender_id: sender,
          kind: 'message',
          body: `message ${seq} you missed while you were away`,
          reply_to: null,
          attachments: [],
          mentions: [],
          client_msg_id: randomUUID(),
        },
      });
    }
    if (batch.length >= 1000) {
      await store.appendEvents(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await store.appendEvents(batch);
}

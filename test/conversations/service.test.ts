/** The conversation actors against a real SQLite store, with an in-process bus and presence. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConversationService } from '../../src/conversations';
import { SqliteStore, openSqliteDatabase, type AppendItem, type AppendResult } from '../../src/store';
import { SqliteSequencer } from '../../src/sequencer';
import { MemoryBus, gatewayTopic, type BusMessage } from '../../src/bus';
import { MemoryPresence } from '../../src/presence';
import { createObservability } from '../../src/observability';
import { defaultLimits } from '../../src/protocol';
import * as ids from '../../src/protocol/ids';

let dir: string;
let store: SqliteStore;
let service: ConversationService;
let bus: MemoryBus;
let presence: MemoryPresence;
let appendCalls: number[];
const frames: BusMessage[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conv-'));
  const db = openSqliteDatabase(join(dir, 'chat.db'), { synchronous: 'normal' });
  store = new SqliteStore(db);
  appendCalls = [];
  const append = store.appendEvents.bind(store);
  store.appendEvents = (items: readonly AppendItem[]): Promise<AppendResult[]> => {
    appendCalls.push(items.length);
    return append(items);
  };
  bus = new MemoryBus();
  presence = new MemoryPresence();
  service = serviceOn(store, db, 60_000);
  service.start();
  frames.length = 0;
  bus.subscribe(gatewayTopic('g1'), (m) => frames.push(m));
  for (const u of ['alice', 'bob', 'carol']) {
    await store.createUser({ user_id: u, username: u, display_name: u, password_hash: 'x', created_at: 1 });
  }
});

afterEach(async () => {
  await service.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A service over `store` (on connection `db`) with this test's bus and presence. */
function serviceOn(
  on: SqliteStore,
  db: ReturnType<typeof openSqliteDatabase>,
  actorIdleMs: number,
  missingConversations?: { maxEntries: number; ttlMs: number },
): ConversationService {
  const obs = createObservability({ level: 'error', shardId: 't', silent: true });
  return new ConversationService({
    store: on,
    sequencer: new SqliteSequencer(db),
    bus,
    presence,
    limits: defaultLimits,
    logger: obs.logger,
    metrics: obs.metrics,
    markerFlushMs: 10_000,
    actorIdleMs,
    editWindowMs: 60_000,
    linkPreviews: null,
    missingConversations,
  });
}

/** A second service on the same database file: new actors, empty dedup windows. */
function freshService(actorIdleMs = 60_000, missingConversations?: { maxEntries: number; ttlMs: number }): ConversationService {
  const db = openSqliteDatabase(join(dir, 'chat.db'), { synchronous: 'normal' });
  return serviceOn(new SqliteStore(db), db, actorIdleMs, missingConversations);
}

const send = (conv: string, user: string, id: string, body = 'hi') =>
  service.dispatch({ op: 'send', conv_id: conv, user_id: user, session_id: null, client_msg_id: id, body });

test('concurrent sends get strictly increasing seqs, committed in few group commits', async () => {
  const { conversation } = await service.create('alice', { type: 'group', member_ids: ['bob'], title: 'g' });
  appendCalls.length = 0;
  const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => send(conversation.conv_id, i % 2 ? 'alice' : 'bob', `m${i}`)));
  const seqs = acks.map((a) => a.seq);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
  // 200 events, batched: far fewer store calls than events.
  expect(appendCalls.reduce((a, b) => a + b, 0)).toBe(200);
  expect(appendCalls.length).toBeLessThanOrEqual(10);
  const events = await store.readEvents(conversation.conv_id, 0, 1000);
  expect(events.filter((e) => e.kind === 'message').map((e) => e.seq)).toEqual(seqs);
});

test('a duplicate while the original is in flight, and after it, gets the original seq', async () => {
  const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
  const [a, b] = await Promise.all([send(conversation.conv_id, 'alice', 'same'), send(conversation.conv_id, 'alice', 'same')]);
  expect(b).toEqual({ ...a, duplicate: true });
  expect(await send(conversation.conv_id, 'alice', 'same')).toEqual({ ...a, duplicate: true });
  // The same client_msg_id from another sender is a different message.
  expect((await send(conversation.conv_id, 'bob', 'same')).duplicate).toBe(false);
});

test('dedup survives actor eviction through the store key', async () => {
  const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
  const first = await send(conversation.conv_id, 'alice', 'k1');
  await service.stop();
  const again = freshService();
  const retry = await again.dispatch({ op: 'send', conv_id: conversation.conv_id, user_id: 'alice', session_id: null, client_msg_id: 'k1', body: 'hi' });
  expect(retry).toEqual({ seq: first.seq, ts: first.ts, duplicate: true });
  const next = await again.dispatch({ op: 'send', conv_id: conversation.conv_id, user_id: 'alice', session_id: null, client_msg_id: 'k2', body: 'hi' });
  expect(next.seq).toBeGreaterThan(first.seq);
  await again.stop();
});

test('fan-out publishes one message per gateway with the frame serialised once', async () => {
  const { conversation } = await service.create('alice', { type: 'group', member_ids: ['bob', 'carol'], title: 'g' });
  await presence.addSession('bob', 'g1', 's1');
  await presence.addSession('carol', 'g1', 's2');
  await presence.addSession('alice', 'g2', 's3');
  const g2: BusMessage[] = [];
  bus.subscribe(gatewayTopic('g2'), (m) => g2.push(m));
  frames.length = 0;
  const ack = await service.dispatch({ op: 'send', conv_id: conversation.conv_id, user_id: 'alice', session_id: 's3', client_msg_id: 'f1', body: 'to all' });
  await new Promise((r) => setImmediate(r));
  const delivers = frames.filter((m) => m.t === 'frames' && m.frame.includes('"DELIVER"'));
  expect(delivers).toHaveLength(1);
  const m = delivers[0];
  if (m.t !== 'frames') throw new Error('unexpected');
  expect(m.users.sort()).toEqual(['bob', 'carol']);
  expect(JSON.parse(m.frame)).toMatchObject({ type: 'DELIVER', seq: ack.seq, body: 'to all', kind: 'message' });
  expect(g2.find((x) => x.t === 'frames' && x.frame.includes('"DELIVER"'))).toMatchObject({ users: ['alice'], exclude_session: 's3' });
});

test('non-members and unknown conversations are refused alike; nothing is stored', async () => {
  const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
  await expect(send(conversation.conv_id, 'carol', 'x')).rejects.toMatchObject({ code: 'not_found', message: 'conversation not found' });
  await expect(send('c_missing', 'alice', 'x')).rejects.toMatchObject({ code: 'not_found', message: 'conversation not found' });
  const events = await store.readEvents(conversation.conv_id, 0, 100);
  expect(events.filter((e) => e.kind === 'message')).toHaveLength(0);
});

describe('commands for conversations that do not exist', () => {
  /** Counts the store's conversation lookups. */
  function countLookups(on: SqliteStore): () => number {
    let n = 0;
    const get = on.getConversation.bind(on);
    on.getConversation = (convId) => {
      n++;
      return get(convId);
    };
    return () => n;
  }
  const anyCommand = (conv: string, i: number) => {
    switch (i % 4) {
      case 0:
        return send(conv, 'alice', `probe-${i}`);
      case 1:
        return service.dispatch({ op: 'read', conv_id: conv, user_id: 'alice', seq: 1, receipts: true });
      case 2:
        return service.dispatch({ op: 'typing', conv_id: conv, user_id: 'alice', state: 'started' });
      default:
        return service.dispatch({ op: 'react', conv_id: conv, user_id: 'alice', session_id: null, client_msg_id: `r-${i}`, target_seq: 1, emoji: '👍' });
    }
  };

  test('leave no actor behind, whatever the command, and are answered not_found', async () => {
    const results = await Promise.allSettled(Array.from({ length: 3000 }, (_, i) => anyCommand(`c_random${i}`, i)));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'not_found')).toBe(true);
    expect(service.liveActors).toBe(0);
    // What stays is bounded: the negative cache, never more than its cap.
    expect(service.missingCached).toBeLessThanOrEqual(10_000);
  });

  test('a repeated unknown id is looked up once while cached; the cache stays within its cap', async () => {
    const lookups = countLookups(store);
    await Promise.allSettled(Array.from({ length: 50 }, () => send('c_again', 'alice', 'x')));
    const first = lookups();
    expect(first).toBeLessThanOrEqual(2); // the first command's, and at most one for those that came during it
    await Promise.allSettled(Array.from({ length: 50 }, () => send('c_again', 'alice', 'x')));
    expect(lookups()).toBe(first);
    expect(service.liveActors).toBe(0);

    const small = freshService(60_000, { maxEntries: 100, ttlMs: 60_000 });
    for (let i = 0; i < 1000; i++) await small.dispatch({ op: 'typing', conv_id: `c_r${i}`, user_id: 'alice', state: 'started' }).catch(() => undefined);
    expect(small.missingCached).toBe(100);
    expect(small.liveActors).toBe(0);
    await small.stop();
  });

  test('a conversation whose id was cached as missing works as soon as it is created', async () => {
    // Ids are the server's, so this cannot happen by chance; the cache must be right anyway.
    await expect(send('c_future', 'alice', 'early')).rejects.toMatchObject({ code: 'not_found' });
    expect(service.missingCached).toBe(1);
    const spy = jest.spyOn(ids, 'newId').mockReturnValueOnce('c_future');
    try {
      const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
      expect(conversation.conv_id).toBe('c_future');
    } finally {
      spy.mockRestore();
    }
    expect((await send('c_future', 'alice', 'now')).duplicate).toBe(false);

    // Created by another shard: its announce, routed here, is what tells this one.
    await expect(send('c_elsewhere', 'alice', 'early')).rejects.toMatchObject({ code: 'not_found' });
    await store.createConversation({
      conv_id: 'c_elsewhere', type: 'group', title: 'g', created_at: Date.now(),
      members: [{ user_id: 'alice', role: 'admin' }, { user_id: 'bob', role: 'member' }],
    });
    await service.dispatch({ op: 'announce', conv_id: 'c_elsewhere', user_id: 'alice' });
    expect((await send('c_elsewhere', 'alice', 'now')).duplicate).toBe(false);
  });

  test('commands of a conversation without an actor keep their order while it is looked up', async () => {
    const { conversation } = await service.create('alice', { type: 'group', member_ids: ['bob'], title: 'g' });
    await service.stop();
    const again = freshService();
    const acks = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        again.dispatch({ op: 'send', conv_id: conversation.conv_id, user_id: 'alice', session_id: null, client_msg_id: `o${i}`, body: String(i) }),
      ),
    );
    for (let i = 1; i < acks.length; i++) expect(acks[i].seq).toBeGreaterThan(acks[i - 1].seq);
    expect(again.liveActors).toBe(1);
    await again.stop();
  });
});

test('direct conversations are deduplicated per pair, from either side', async () => {
  const a = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
  const b = await service.create('bob', { type: 'direct', member_ids: ['alice'], title: null });
  expect(a.created).toBe(true);
  expect(b.created).toBe(false);
  expect(b.conversation.conv_id).toBe(a.conversation.conv_id);
  await expect(service.create('alice', { type: 'direct', member_ids: ['alice'], title: null })).rejects.toMatchObject({ code: 'bad_request' });
  await expect(service.create('alice', { type: 'group', member_ids: ['zed'], title: 'x' })).rejects.toMatchObject({ code: 'not_found' });
});

test('read markers only move forward and stop() writes them', async () => {
  const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
  const acks = [];
  for (let i = 0; i < 3; i++) acks.push(await send(conversation.conv_id, 'alice', `r${i}`));
  const read = (seq: number) => service.dispatch({ op: 'read', conv_id: conversation.conv_id, user_id: 'bob', seq, receipts: true });
  expect(await read(acks[2].seq)).toEqual({ last_read_seq: acks[2].seq });
  expect(await read(acks[0].seq)).toEqual({ last_read_seq: acks[2].seq });
  expect(await read(10_000)).toEqual({ last_read_seq: acks[2].seq }); // clamped to the last seq
  await service.stop();
  expect((await store.getMember(conversation.conv_id, 'bob'))?.last_read_seq).toBe(acks[2].seq);
});

test('a failed commit rejects with unavailable and stores nothing', async () => {
  const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
  store.appendEvents = () => Promise.reject(new Error('disk full'));
  await expect(send(conversation.conv_id, 'alice', 'fail-1')).rejects.toMatchObject({ code: 'unavailable' });
});

test('idle actors are evicted and a later command reloads state from the store', async () => {
  const quick = freshService(50);
  quick.start();
  const { conversation } = await quick.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
  const first = await quick.dispatch({ op: 'send', conv_id: conversation.conv_id, user_id: 'alice', session_id: null, client_msg_id: 'e1', body: 'x' });
  expect(quick.liveActors).toBe(1);
  await new Promise((r) => setTimeout(r, 200));
  expect(quick.liveActors).toBe(0);
  const second = await quick.dispatch({ op: 'send', conv_id: conversation.conv_id, user_id: 'alice', session_id: null, client_msg_id: 'e2', body: 'y' });
  expect(second.seq).toBeGreaterThan(first.seq);
  expect(quick.liveActors).toBe(1);
  await quick.stop();
});

describe('idempotency inside the actor (dedup.ts), commits held open on a real store', () => {
  /** Holds every commit until the returned function is called. */
  function holdCommits(): () => void {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const append = store.appendEvents;
    store.appendEvents = async (items) => {
      await gate;
      return append(items);
    };
    return open;
  }
  const react = (conv: string, user: string, id: string, target: number) =>
    service.dispatch({ op: 'react', conv_id: conv, user_id: user, session_id: null, client_msg_id: id, target_seq: target, emoji: '👍' });

  test('a retry arriving while its original commits waits, and is answered after the original', async () => {
    const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
    const order: string[] = [];
    const open = holdCommits();
    const original = send(conversation.conv_id, 'alice', 'held').then((a) => (order.push('original'), a));
    const retry = send(conversation.conv_id, 'alice', 'held').then((a) => (order.push('retry'), a));
    // Another kind with the same key is refused at once, while the original is still held.
    await expect(react(conversation.conv_id, 'alice', 'held', 1)).rejects.toMatchObject({ code: 'conflict' });
    expect(order).toEqual([]);
    open();
    const [a, b] = await Promise.all([original, retry]);
    expect(b).toEqual({ ...a, duplicate: true });
    expect(order).toEqual(['original', 'retry']);
  });

  test('a failed commit fails the retry waiting on it; the next retry is stored as new', async () => {
    const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
    const append = store.appendEvents;
    let fail = true;
    store.appendEvents = (items) => (fail ? ((fail = false), Promise.reject(new Error('disk full'))) : append(items));
    const first = send(conversation.conv_id, 'alice', 'flaky');
    const waiting = send(conversation.conv_id, 'alice', 'flaky');
    await expect(first).rejects.toMatchObject({ code: 'unavailable' });
    await expect(waiting).rejects.toMatchObject({ code: 'unavailable' });
    const later = await send(conversation.conv_id, 'alice', 'flaky');
    expect(later.duplicate).toBe(false);
    expect((await store.readEvents(conversation.conv_id, 0, 100)).filter((e) => e.client_msg_id === 'flaky')).toHaveLength(1);
  });

  test('a retry from a removed member is answered from the window; a new command is refused', async () => {
    const { conversation } = await service.create('alice', { type: 'group', member_ids: ['bob'], title: 'g' });
    const first = await send(conversation.conv_id, 'bob', 'bye');
    await service.dispatch({ op: 'remove_member', conv_id: conversation.conv_id, user_id: 'alice', target_id: 'bob' });
    expect(await send(conversation.conv_id, 'bob', 'bye')).toEqual({ ...first, duplicate: true });
    await expect(send(conversation.conv_id, 'bob', 'new')).rejects.toMatchObject({ code: 'not_found' });
  });

  test('a DELETE found duplicate at commit (its key already used for another target) leaves its target alive', async () => {
    const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
    const conv = conversation.conv_id;
    const [m1, m2] = [await send(conv, 'alice', 'm1'), await send(conv, 'alice', 'm2')];
    const del = (svc: ConversationService, target: number) =>
      svc.dispatch({ op: 'delete', conv_id: conv, user_id: 'alice', session_id: null, client_msg_id: 'd1', target_seq: target });
    const original = await del(service, m1.seq);
    await service.stop();
    const again = freshService();
    // The rules accept deleting m2; the store's key says d1 is the delete of m1: a retry.
    expect(await del(again, m2.seq)).toEqual({ ...original, duplicate: true });
    // m2 was marked deleted while the duplicate was in flight; it is alive again.
    const r = await again.dispatch({ op: 'react', conv_id: conv, user_id: 'bob', session_id: null, client_msg_id: 'r-m2', target_seq: m2.seq, emoji: '👍' });
    expect(r.duplicate).toBe(false);
    expect((await again.dispatch({ op: 'send', conv_id: conv, user_id: 'bob', session_id: null, client_msg_id: 'reply', body: 'x', reply_to: m2.seq })).duplicate).toBe(false);
    await again.stop();
  });

  test('when the store cannot be asked after a refusal, the answer is unavailable (retry), not the refusal', async () => {
    const { conversation } = await service.create('alice', { type: 'direct', member_ids: ['bob'], title: null });
    store.findByClientMsgId = () => Promise.reject(new Error('store down'));
    await expect(react(conversation.conv_id, 'bob', 'r-none', 999)).rejects.toMatchObject({ code: 'unavailable' });
  });
});

test('stop() waits for accepted commands still waiting in their mailbox, and refuses new ones', async () => {
  // A leaving shard must have committed and fanned out everything it accepted before it
  // leaves the ring: a command waiting for its seq range must not commit after stop().
  const db = openSqliteDatabase(join(dir, 'chat.db'), { synchronous: 'normal' });
  const sequencer = new SqliteSequencer(db);
  const reserve = sequencer.reserve.bind(sequencer);
  let slow = false;
  sequencer.reserve = async (convId, n) => {
    if (slow) await new Promise((r) => setTimeout(r, 200));
    return reserve(convId, n);
  };
  const obs = createObservability({ level: 'error', shardId: 't2', silent: true });
  const stopping = new ConversationService({
    store, sequencer, bus, presence, limits: defaultLimits, logger: obs.logger, metrics: obs.metrics,
    markerFlushMs: 10_000, actorIdleMs: 60_000, editWindowMs: 60_000, linkPreviews: null,
  });
  const { conversation } = await service.create('alice', { type: 'group', member_ids: ['bob'], title: 'g' });
  await presence.addSession('bob', 'g1', 's-bob');
  slow = true;
  let acked = false;
  const first = stopping.dispatch({ op: 'send', conv_id: conversation.conv_id, user_id: 'alice', session_id: null, client_msg_id: 'x1', body: 'last words' });
  void first.then(() => (acked = true));
  frames.length = 0;
  await stopping.stop();
  expect(acked).toBe(true);
  expect(frames.map((f) => (f.t === 'frames' ? JSON.parse(f.frame).body : null))).toContain('last words');
  await expect(
    stopping.dispatch({ op: 'send', conv_id: conversation.conv_id, user_id: 'alice', session_id: null, client_msg_id: 'x2', body: 'too late' }),
  ).rejects.toThrow(/stopping/);
});

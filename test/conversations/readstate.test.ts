/**
 * Members' read state (src/conversations/readstate.ts) without an actor: a real SQLite store
 * for the counts, the real marker writer, and the ordered fan-out over the in-process bus,
 * so each test sees the frames a gateway would get.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus, gatewayTopic, type BusMessage } from '../../src/bus';
import { MemoryPresence } from '../../src/presence';
import { SqliteStore, openSqliteDatabase, type MemberRecord } from '../../src/store';
import { createObservability } from '../../src/observability';
import { Fanout, OrderedFanout } from '../../src/conversations/fanout';
import { MarkerWriter } from '../../src/conversations/markers';
import { ReadState } from '../../src/conversations/readstate';
import { ConversationState } from '../../src/conversations/state';
import type { ConvEvent, ConversationType } from '../../src/protocol';

const { logger } = createObservability({ level: 'error', shardId: 't', silent: true });
let store: SqliteStore;
let markers: MarkerWriter;
let frames: { users: string[]; frame: Record<string, unknown> }[];
let out: OrderedFanout;

beforeEach(async () => {
  store = new SqliteStore(openSqliteDatabase(join(mkdtempSync(join(tmpdir(), 'rs-')), 'db.sqlite'), { synchronous: 'normal' }));
  markers = new MarkerWriter(store, logger, 60_000);
  const bus = new MemoryBus();
  const presence = new MemoryPresence();
  for (const u of ['ann', 'bob', 'cat']) await presence.addSession(u, 'g1', `s-${u}`);
  frames = [];
  await bus.subscribe(gatewayTopic('g1'), (m: BusMessage) => {
    if (m.t === 'frames') frames.push({ users: [...m.users].sort(), frame: JSON.parse(m.frame) });
  });
  out = new OrderedFanout(new Fanout(bus, presence), logger, 'c1');
});
afterEach(() => store.close());

function member(user_id: string): MemberRecord {
  return { conv_id: 'c1', user_id, role: 'member', joined_at: 1, last_read_seq: 0, last_delivered_seq: 0, muted_until: null, marked_unread: false };
}

/** A conversation of ann, bob and cat whose log holds `messages` (seq 1.., by the given senders). */
async function conversation(type: ConversationType, senders: string[]): Promise<{ state: ConversationState; reads: ReadState }> {
  const events: ConvEvent[] = senders.map((s, i) => ({ conv_id: 'c1', seq: i + 1, ts: i + 1, sender_id: s, kind: 'message', body: `m${i + 1}`, client_msg_id: `k${i + 1}` }));
  if (events.length > 0) await store.appendEvents(events.map((event) => ({ event })));
  const state = new ConversationState({ conv_id: 'c1', type, title: null, created_at: 1, last_seq: senders.length, member_count: 3 }, ['ann', 'bob', 'cat'].map(member));
  for (const e of events) state.loaded(e);
  return { state, reads: new ReadState(state, store, markers, out) };
}

const settled = () => out.settled();

test('READ moves forward only, clamped to the last seq; receipts to the others unless hidden; READ_SYNC with counts', async () => {
  const { state, reads } = await conversation('group', ['bob', 'bob', 'cat', 'bob']);
  const ann = state.members.get('ann')!;
  expect(reads.read({ op: 'read', conv_id: 'c1', user_id: 'ann', seq: 2, receipts: true }, ann)).toEqual({ last_read_seq: 2 });
  expect(reads.read({ op: 'read', conv_id: 'c1', user_id: 'ann', seq: 1, receipts: true }, ann)).toEqual({ last_read_seq: 2 });
  expect(reads.read({ op: 'read', conv_id: 'c1', user_id: 'ann', seq: 99, receipts: false }, ann)).toEqual({ last_read_seq: 4 });
  await settled();
  expect(frames).toEqual([
    { users: ['bob', 'cat'], frame: { type: 'RECEIPT', conv_id: 'c1', user_id: 'ann', seq: 2, kind: 'read' } },
    { users: ['ann'], frame: { type: 'READ_SYNC', conv_id: 'c1', last_read_seq: 2, unread: 2, unread_mentions: 0, marked_unread: false } },
    // Hidden receipts: the reader's own devices still sync.
    { users: ['ann'], frame: { type: 'READ_SYNC', conv_id: 'c1', last_read_seq: 4, unread: 0, unread_mentions: 0, marked_unread: false } },
  ]);
});

test('MARK_UNREAD syncs every device of the member; the next READ clears it even when it moves nothing', async () => {
  const { state, reads } = await conversation('direct', ['bob', 'bob']);
  const ann = state.members.get('ann')!;
  reads.read({ op: 'read', conv_id: 'c1', user_id: 'ann', seq: 2, receipts: true }, ann);
  expect(reads.markUnread({ op: 'mark_unread', conv_id: 'c1', user_id: 'ann' }, ann)).toEqual({ marked_unread: true });
  reads.read({ op: 'read', conv_id: 'c1', user_id: 'ann', seq: 2, receipts: true }, ann);
  await settled();
  const syncs = frames.filter((f) => f.frame.type === 'READ_SYNC').map((f) => f.frame.marked_unread);
  expect(syncs).toEqual([false, true, false]);
});

test('DELIVERED in a group tells only the authors of the newly delivered messages; in a direct chat the other member', async () => {
  const group = await conversation('group', ['bob', 'cat', 'ann', 'bob']);
  const ann = group.state.members.get('ann')!;
  group.reads.delivered({ op: 'delivered', conv_id: 'c1', user_id: 'ann', seq: 2 }, ann);
  group.reads.delivered({ op: 'delivered', conv_id: 'c1', user_id: 'ann', seq: 1 }, ann); // backwards: nothing
  group.reads.delivered({ op: 'delivered', conv_id: 'c1', user_id: 'ann', seq: 3 }, ann); // only her own message: nobody
  group.reads.delivered({ op: 'delivered', conv_id: 'c1', user_id: 'ann', seq: 4 }, ann);
  await settled();
  expect(frames.map((f) => [f.users, f.frame.seq])).toEqual([
    [['bob', 'cat'], 2],
    [['bob'], 4],
  ]);
});

test('a sent message moves its sender\'s marker; READ_SYNC when that cleared unread messages, even ones from before the actor loaded', async () => {
  const { state, reads } = await conversation('direct', ['bob']);
  const sent = (seq: number, sender: string): ConvEvent => ({ conv_id: 'c1', seq, ts: seq, sender_id: sender, kind: 'message', body: 'x' });
  state.committed({ event: sent(2, 'ann') });
  reads.sent(sent(2, 'ann')); // ann had bob's message 1 unread: cleared
  state.committed({ event: sent(3, 'ann') });
  reads.sent(sent(3, 'ann')); // nothing new from others: no frame
  await settled();
  expect(frames).toEqual([{ users: ['ann'], frame: { type: 'READ_SYNC', conv_id: 'c1', last_read_seq: 2, unread: 0, unread_mentions: 0, marked_unread: false } }]);
  expect(state.members.get('ann')?.lastRead).toBe(3);
});

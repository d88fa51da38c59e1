/**
 * CassandraStore against a real Cassandra: the Store contract suite unchanged, then what
 * only this engine has (log buckets, claims moved after failover, parallel group commit).
 * One store (one keyspace) per file: the contract uses fresh random ids everywhere.
 */
import { connectCassandra, type Cassandra } from '../../src/cassandra';
import { newId } from '../../src/protocol';
import { CassandraStore } from '../../src/store';
import { bucketOf, bucketSize } from '../../src/store/cassandra';
import { runStoreContract } from '../store/contract';
import { attachment, group, message, t0, targeted } from '../store/contract-fixtures';
import { cassandraConfig, dropKeyspace, randomKeyspace } from './cassandra-env';

jest.setTimeout(20_000);

const keyspace = randomKeyspace('it_store');
let cassandra: Cassandra | undefined;
let shared: CassandraStore | undefined;

beforeAll(async () => {
  cassandra = await connectCassandra(cassandraConfig(keyspace));
  shared = await CassandraStore.open(cassandra);
}, 60_000);

afterAll(async () => {
  await shared?.close();
  await cassandra?.close();
  await dropKeyspace(keyspace);
}, 60_000);

function store(): CassandraStore {
  if (shared === undefined) throw new Error('no store: beforeAll failed');
  return shared;
}

runStoreContract('cassandra', async () => ({ store: store(), cleanup: async () => {} }));

describe('CassandraStore engine specifics', () => {
  it('places events in buckets of 4096 and reads across a bucket boundary', async () => {
    const [a, b] = [newId('u'), newId('u')];
    const convId = await group(store(), [a, b]);
    const seqs = [4093, 4094, 4095, 4096, 4097, 4098];
    await store().appendEvents(seqs.map((seq) => message(convId, seq, seq % 2 ? a : b)));
    // Folds cross the boundary too: a reaction in bucket 1 on a message in bucket 0, a reply thread spanning both.
    await store().appendEvents([
      targeted(convId, 4099, b, 'reaction', 4094, { emoji: '👍' }),
      message(convId, 4100, b, 'reply', { reply_to: 4095, thread_root: 4095 }),
    ]);
    expect(bucketSize).toBe(4096);
    const rows = await (cassandra as Cassandra).client.execute(
      'SELECT bucket, seq FROM events WHERE conv_id = ? AND bucket IN (0, 1)',
      [convId],
      { prepare: true },
    );
    expect(rows.rows.map((r) => [Number(r.get('bucket')), Number(r.get('seq'))])).toEqual(
      [...seqs, 4099, 4100].map((s) => [bucketOf(s), s]),
    );
    expect(bucketOf(4095)).toBe(0);
    expect(bucketOf(4096)).toBe(1);

    expect((await store().readEvents(convId, 0, 100)).map((e) => e.seq)).toEqual([...seqs, 4099, 4100]);
    expect((await store().readEvents(convId, 4094, 3)).map((e) => e.seq)).toEqual([4095, 4096, 4097]);
    expect((await store().readEvents(convId, 4095, 1)).map((e) => e.seq)).toEqual([4096]);
    expect((await store().readMessages(convId, 4098, 3)).map((m) => m.seq)).toEqual([4095, 4096, 4097]);
    expect((await store().readMessages(convId, 4097, 10)).map((m) => m.seq)).toEqual([4093, 4094, 4095, 4096]);
    expect((await store().readMessages(convId, Number.MAX_SAFE_INTEGER, 2)).map((m) => m.seq)).toEqual([4098, 4100]);
    expect((await store().readMessage(convId, 4094))?.reactions).toEqual({ [b]: '👍' });
    expect((await store().readMessage(convId, 4095))?.reply_count).toBe(1);
    expect((await store().readThreadReplies(convId, 4095, 0, 10)).map((m) => [m.seq, m.reply_count])).toEqual([[4100, 1]]);
    // a sent 4093, 4095, 4097; b the others. Unread for a after 4094: 4096, 4098, 4100.
    expect(await store().countUnread(convId, a, 4094)).toEqual({ unread: 3, mentions: 0 });
    expect((await store().getConversation(convId))?.last_seq).toBe(4100);
  });

  it('moves a claim whose event never landed to the retry, written at its own new seq', async () => {
    const a = newId('u');
    const convId = await group(store(), [a]);
    await store().appendEvents([message(convId, 1, a, 'before')]);
    // A shard claimed key "lost" for seq 2 and died before writing the event.
    const claimedTs = t0 + 2000;
    await (cassandra as Cassandra).client.execute(
      'INSERT INTO event_keys (conv_id, sender_id, client_msg_id, seq, ts) VALUES (?, ?, ?, ?, ?)',
      [convId, a, 'lost', 2, claimedTs],
      { prepare: true },
    );
    // Not a committed send yet: the lookup does not answer with a seq that has no event.
    expect(await store().findByClientMsgId(convId, a, 'lost')).toBeNull();
    // The client retries on another shard, which sequences it as 65: it is new there, so
    // devices already past seq 2 still get it; seq 2 stays a gap.
    const retry = message(convId, 65, a, 'retried', { client_msg_id: 'lost' });
    expect(await store().appendEvents([retry])).toEqual([{ status: 'ok' }]);
    const events = await store().readEvents(convId, 0, 10);
    expect(events.map((e) => [e.seq, e.ts, e.body])).toEqual([
      [1, t0 + 1000, 'before'],
      [65, t0 + 65_000, 'retried'],
    ]);
    expect(await store().findByClientMsgId(convId, a, 'lost')).toEqual({ seq: 65, ts: t0 + 65_000, kind: 'message' });
    expect((await store().getConversation(convId))?.last_seq).toBe(65);
    expect((await store().listInbox(a, null, 10)).rows[0]).toMatchObject({ conv_id: convId, preview: 'retried' });
    // A further retry is a plain duplicate of the moved claim and writes nothing.
    expect(await store().appendEvents([message(convId, 66, a, 'again', { client_msg_id: 'lost' })])).toEqual([
      { status: 'duplicate', seq: 65, ts: t0 + 65_000, kind: 'message' },
    ]);
    expect(await store().readEvents(convId, 0, 100)).toHaveLength(2);
  });

  it('answers a batch retried after it was written with duplicates, not a seq collision', async () => {
    const a = newId('u');
    const convId = await group(store(), [a]);
    const items = [message(convId, 1, a), message(convId, 2, a)];
    await store().appendEvents(items);
    expect(await store().appendEvents(items)).toEqual([
      { status: 'duplicate', seq: 1, ts: t0 + 1000, kind: 'message' },
      { status: 'duplicate', seq: 2, ts: t0 + 2000, kind: 'message' },
    ]);
  });

  it('clears the emoji of a reaction row the deleting batch has read, as of those it has not', async () => {
    const [a, b] = [newId('u'), newId('u')];
    const convId = await group(store(), [a, b]);
    await store().appendEvents([message(convId, 1, a), targeted(convId, 2, b, 'reaction', 1, { emoji: '🎉' })]);
    await store().appendEvents([targeted(convId, 3, b, 'reaction', 1, { emoji: '😮' })]);
    // Aimed at reaction 2, the first item makes the batch read row 2: the delete then
    // clears it as a folded column, and row 3 by seq.
    await store().appendEvents([targeted(convId, 4, a, 'reaction', 2, { emoji: '👀' }), targeted(convId, 5, a, 'delete', 1)]);
    const reactions = (await store().readEvents(convId, 0, 10)).filter((e) => e.target_seq === 1 && e.kind === 'reaction');
    expect(reactions.map((e) => [e.seq, e.emoji])).toEqual([
      [2, null],
      [3, null],
    ]);
  });

  it('commits one batch over many conversations, and concurrent batches, keeping input order', async () => {
    const a = newId('u');
    const convs = await Promise.all(Array.from({ length: 20 }, () => group(store(), [a])));
    const items = [1, 2, 3, 4, 5].flatMap((seq) => convs.map((c) => message(c, seq, a, `${c}:${seq}`)));
    const started = Date.now();
    const results = await store().appendEvents(items);
    const batchMs = Date.now() - started;
    expect(results).toEqual(items.map(() => ({ status: 'ok' })));
    const others = await Promise.all(Array.from({ length: 10 }, () => group(store(), [a])));
    const parallel = await Promise.all(others.map((c) => store().appendEvents([message(c, 1, a), message(c, 2, a)])));
    expect(parallel.flat()).toEqual(Array(20).fill({ status: 'ok' }));
    for (const c of convs) {
      expect((await store().readEvents(c, 0, 10)).map((e) => e.body)).toEqual([1, 2, 3, 4, 5].map((s) => `${c}:${s}`));
      expect((await store().getConversation(c))?.last_seq).toBe(5);
    }
    for (const c of others) expect((await store().getConversation(c))?.last_seq).toBe(2);
    const inbox = await store().listInbox(a, null, 100);
    expect(inbox.rows).toHaveLength(30);
    // eslint-disable-next-line no-console
    console.log(`cassandra: one batch of ${items.length} events over ${convs.length} conversations took ${batchMs} ms`);
  });

  it('counts unread conversations past long runs of other events, across log buckets', async () => {
    const [a, b] = [newId('u'), newId('u')];
    const badge = (limit = 100) => store().countUnreadConversations(a, null, limit);
    // After the marker: 60 of a's own messages (more than the first probes read), crossing into bucket 1.
    const far = await group(store(), [a, b]);
    await store().appendEvents([message(far, 4000, b), ...Array.from({ length: 60 }, (_, i) => message(far, 4060 + i, a))]);
    await store().saveMarkers([{ conv_id: far, user_id: a, last_read_seq: 4000 }]);
    expect(await badge()).toBe(0);
    await store().appendEvents([message(far, 4120, b)]);
    expect(await badge()).toBe(1);
    // The unread message two buckets after the marker's, the bucket between them empty.
    const gap = await group(store(), [a, b]);
    await store().appendEvents([message(gap, 1, a), message(gap, 9000, b)]);
    await store().saveMarkers([{ conv_id: gap, user_id: a, last_read_seq: 1 }]);
    expect(await badge()).toBe(2);
    expect((await store().listInbox(a, null, 10)).rows.map((r) => r.unread)).toEqual([1, 1]);
  });

  it('leaves the log alone for a conversation read up to its last_seq, as the unread count does', async () => {
    const [a, b] = [newId('u'), newId('u')];
    const convId = await group(store(), [a, b]);
    await store().appendEvents([message(convId, 1, b)]);
    await store().saveMarkers([{ conv_id: convId, user_id: a, last_read_seq: 1 }]);
    // An event row past last_seq: an append that died before writing the conversation row (written last).
    await (cassandra as Cassandra).client.execute(
      "INSERT INTO events (conv_id, bucket, seq, kind, sender_id, created_at) VALUES (?, 0, 2, 'message', ?, ?)",
      [convId, b, t0],
      { prepare: true },
    );
    expect((await store().listInbox(a, null, 10)).rows[0]).toMatchObject({ conv_id: convId, last_seq: 1, unread: 0 });
    expect(await store().countUnreadConversations(a, null, 10)).toBe(0);
  });

  it('counts unread conversations beyond the ones looked at concurrently, and stops at the limit', async () => {
    const [a, b] = [newId('u'), newId('u')];
    const convs = await Promise.all(Array.from({ length: 40 }, () => group(store(), [a, b])));
    await Promise.all(convs.map((c, i) => store().appendEvents([message(c, 1, i % 4 === 0 ? a : b)])));
    expect(await store().countUnreadConversations(a, null, 100)).toBe(30);
    expect(await store().countUnreadConversations(a, convs[1], 100)).toBe(29);
    expect(await store().countUnreadConversations(a, null, 25)).toBe(25);
    expect(await store().countUnreadConversations(b, null, 100)).toBe(10);
  });

  it('re-posts the attachments of a send whose claim moved to a retry, at the retry seq', async () => {
    const a = newId('u');
    const convId = await group(store(), [a]);
    const id = newId('att');
    await store().createAttachment({ attachment_id: id, owner_id: a, name: 'x.jpg', declared_type: 'image/jpeg', declared_size: 1, declared_sha256: 'ab', created_at: t0 });
    // A shard claimed the key for seq 2, posted the attachment and died before the event.
    const c = cassandra as Cassandra;
    await c.client.execute('INSERT INTO event_keys (conv_id, sender_id, client_msg_id, seq, ts) VALUES (?, ?, ?, ?, ?)', [convId, a, 'lost', 2, t0 + 2000], { prepare: true });
    await c.client.execute('UPDATE attachments SET conv_id = ?, seq = ? WHERE attachment_id = ? IF EXISTS', [convId, 2, id], { prepare: true });
    const retry = message(convId, 9, a, 'retried', { client_msg_id: 'lost', attachments: [attachment(id)] });
    expect(await store().appendEvents([retry])).toEqual([{ status: 'ok' }]);
    expect((await store().getAttachments([id]))[0]).toMatchObject({ conv_id: convId, seq: 9 });
    // Posted elsewhere by another message: a new send does not take it over.
    await store().appendEvents([message(convId, 10, a, 'again', { attachments: [attachment(id)] })]);
    expect((await store().getAttachments([id]))[0]).toMatchObject({ conv_id: convId, seq: 9 });
  });

  it('adds the columns added since to the events table of an existing keyspace', async () => {
    const old = randomKeyspace('it_store_old');
    const c = await connectCassandra(cassandraConfig(old));
    try {
      // The events table as it first shipped, before attachment_ready.
      await c.client.execute(`CREATE TABLE events (conv_id text, bucket int, seq bigint, kind text, sender_id text, body text,
        reply_to bigint, target_seq bigint, emoji text, client_msg_id text, attachments list<text>, mentions list<text>,
        user_ids list<text>, title text, created_at bigint, thread_root bigint, link_preview text, reactions map<text, text>,
        edited_at bigint, deleted boolean, reply_count int, derived set<bigint>, PRIMARY KEY ((conv_id, bucket), seq))`);
      const opened = await CassandraStore.open(c);
      const columns = await c.client.execute('SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?', [old, 'events'], { prepare: true });
      expect(columns.rows.map((r) => String(r.get('column_name')))).toEqual(expect.arrayContaining(['attachment', 'ready_attachments']));
      // And it works: an attachment_ready folds into its message.
      const a = newId('u');
      const convId = await group(opened, [a]);
      const p = attachment(newId('att'));
      const made = { ...p, display: { width: 1, height: 1, size: 1, content_type: 'image/webp' } };
      await opened.appendEvents([message(convId, 1, a, 'x', { attachments: [p] }), { event: { conv_id: convId, seq: 2, ts: t0, sender_id: a, kind: 'attachment_ready', target_seq: 1, attachment: made } }]);
      expect((await opened.readMessage(convId, 1))?.attachments).toEqual([made]);
      // Opening again is a no-op.
      await CassandraStore.open(c);
    } finally {
      await c.close();
      await dropKeyspace(old);
    }
  }, 60_000);

  it('reads settings written before push_previews existed as push_previews true, and updates them', async () => {
    const userId = newId('u');
    await (cassandra as Cassandra).client.execute(
      'INSERT INTO users (user_id, username, display_name, password_hash, created_at, settings) VALUES (?, ?, ?, ?, ?, ?)',
      [userId, userId, 'Old', 'h', t0, '{"show_presence":false,"show_last_seen":true,"send_read_receipts":true}'],
      { prepare: true },
    );
    expect((await store().getUser(userId))?.settings).toEqual({
      show_presence: false,
      show_last_seen: true,
      send_read_receipts: true,
      push_previews: true,
      discoverable: true,
    });
    expect((await store().updateUserSettings(userId, { push_previews: false }))?.settings.push_previews).toBe(false);
    expect((await store().getUsers([userId]))[0].settings).toMatchObject({ show_presence: false, push_previews: false });
  });

  it('indexes the users of a keyspace from before people search when it opens, once', async () => {
    const old = randomKeyspace('it_store_search');
    const c = await connectCassandra(cassandraConfig(old));
    try {
      // The users table as it first shipped, with a live user and a deleted one.
      await c.client.execute('CREATE TABLE users (user_id text PRIMARY KEY, username text, display_name text, password_hash text, created_at bigint, settings text)');
      await c.client.execute('ALTER TABLE users ADD deleted_at bigint');
      await c.client.execute("INSERT INTO users (user_id, username, display_name, password_hash, created_at, settings) VALUES ('u_old', 'oldtimer', 'Olive Stone', 'h', 1, '{}')");
      await c.client.execute("INSERT INTO users (user_id, username, display_name, password_hash, created_at, settings, deleted_at) VALUES ('u_gone', 'oldgone', 'Deleted user', '', 1, '{}', 5)");
      const opened = await CassandraStore.open(c);
      expect((await opened.searchUsers('ol', null, 10)).users.map((u) => u.user_id)).toEqual(['u_old']);
      expect((await opened.searchUsers('sto', null, 10)).users.map((u) => u.user_id)).toEqual(['u_old']);
      // Opening again finds the table and leaves it alone.
      await CassandraStore.open(c);
      expect((await opened.searchUsers('old', null, 10)).users.map((u) => u.user_id)).toEqual(['u_old']);
    } finally {
      await c.close();
      await dropKeyspace(old);
    }
  }, 60_000);

  it('adds claimed_at to the blobs table of an existing keyspace: a claim left by the old collector is stale at once', async () => {
    const old = randomKeyspace('it_store_old');
    const c = await connectCassandra(cassandraConfig(old));
    try {
      // The blobs table as it first shipped, with a claim never dropped (and its index entry).
      await c.client.execute('CREATE TABLE blobs (sha256 text PRIMARY KEY, refs int, unreferenced_since bigint, claimed boolean)');
      await c.client.execute("INSERT INTO blobs (sha256, refs, unreferenced_since, claimed) VALUES ('aa', 0, 1000, true) IF NOT EXISTS");
      const opened = await CassandraStore.open(c);
      await c.client.execute("INSERT INTO time_index_hours (index_name, hour) VALUES ('unreferenced', 0)");
      await c.client.execute("INSERT INTO time_index (index_name, hour, at, id) VALUES ('unreferenced', 0, 1000, 'aa')");
      // Listed even with a cutoff at the epoch's first millisecond; taken over once.
      expect(await opened.listUnreferencedBlobs(3000, 10, 1)).toEqual([{ sha256: 'aa', unreferenced_since: 1000, claimed_at: 0 }]);
      expect(await opened.claimBlob('aa', 1000, 0)).toBe(true);
      expect(await opened.claimBlob('aa', 1000, 0)).toBe(false);
      expect(await opened.listUnreferencedBlobs(3000, 10, 1)).toEqual([]);
      await opened.dropBlob('aa');
      await opened.refBlob('aa');
      await opened.unrefBlob('aa');
      expect(await opened.listUnreferencedBlobs(Date.now() + 1, 10, 1)).toEqual([{ sha256: 'aa', unreferenced_since: expect.any(Number), claimed_at: null }]);
      // Opening again is a no-op.
      await CassandraStore.open(c);
    } finally {
      await c.close();
      await dropKeyspace(old);
    }
  }, 60_000);
});

/**
 * The idempotency step (src/conversations/dedup.ts): the in-memory window and the store
 * lookup after a refusal, with a real SQLite store.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtocolError } from '../../src/protocol';
import { SqliteStore, openSqliteDatabase } from '../../src/store';
import type { AckResult } from '../../src/conversations';
import { DedupWindow, answeredByStore, type Answer } from '../../src/conversations/dedup';

function answer(): Answer & { got: Promise<AckResult> } {
  let resolve!: (a: AckResult) => void;
  let reject!: (e: unknown) => void;
  const got = new Promise<AckResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { resolve, reject, got };
}

const conflict = expect.objectContaining({ code: 'conflict' });

test('an unknown key is not answered', () => {
  expect(new DedupWindow().answer('u\u0000k', 'message', answer())).toBe(false);
});

test('a retry while the original commits waits for its ACK; another kind is refused at once', async () => {
  const w = new DedupWindow();
  w.begin('u\u0000k', 'message');
  const retry = answer();
  const other = answer();
  expect(w.answer('u\u0000k', 'message', retry)).toBe(true);
  expect(w.answer('u\u0000k', 'reaction', other)).toBe(true);
  await expect(other.got).rejects.toEqual(conflict);
  w.settle('u\u0000k', { seq: 5, ts: 50, kind: 'message' });
  await expect(retry.got).resolves.toEqual({ seq: 5, ts: 50, duplicate: true });
  const later = answer();
  expect(w.answer('u\u0000k', 'message', later)).toBe(true);
  await expect(later.got).resolves.toEqual({ seq: 5, ts: 50, duplicate: true });
});

test('when the store says the key belongs to another kind, waiting retries get conflict', async () => {
  const w = new DedupWindow();
  w.begin('u\u0000k', 'reaction');
  const retry = answer();
  w.answer('u\u0000k', 'reaction', retry);
  w.settle('u\u0000k', { seq: 2, ts: 20, kind: 'message' });
  await expect(retry.got).rejects.toEqual(conflict);
});

test('a failed commit fails the waiting retries with the same error', async () => {
  const w = new DedupWindow();
  w.begin('u\u0000k', 'edit');
  const retry = answer();
  w.answer('u\u0000k', 'edit', retry);
  const err = new ProtocolError('unavailable', 'retry');
  w.fail('u\u0000k', err);
  await expect(retry.got).rejects.toBe(err);
  expect(w.answer('u\u0000k', 'edit', answer())).toBe(false);
});

test('the window forgets the oldest keys beyond its capacity', () => {
  const w = new DedupWindow();
  for (let i = 0; i < 1100; i++) w.settle(`u\u0000k${i}`, { seq: i, ts: i, kind: 'message' });
  expect(w.answer('u\u0000k0', 'message', answer())).toBe(false);
  expect(w.answer('u\u0000k1099', 'message', answer())).toBe(true);
});

test('after a refusal, the store decides: the original ACK, conflict for another kind, or the refusal stands', async () => {
  const db = openSqliteDatabase(join(mkdtempSync(join(tmpdir(), 'dedup-')), 'db.sqlite'), { synchronous: 'normal' });
  const store = new SqliteStore(db);
  await store.appendEvents([{ event: { conv_id: 'c1', seq: 3, ts: 30, sender_id: 'u1', kind: 'message', body: 'hi', client_msg_id: 'k' } }]);
  const cmd = { op: 'send' as const, conv_id: 'c1', user_id: 'u1', session_id: null, client_msg_id: 'k', body: 'hi' };
  const w = new DedupWindow();

  const same = answer();
  expect(await answeredByStore(store, w, cmd, same)).toBe(true);
  await expect(same.got).resolves.toEqual({ seq: 3, ts: 30, duplicate: true });
  // The window learnt it: the next retry is answered from memory.
  expect(w.answer('u1\u0000k', 'message', answer())).toBe(true);

  const other = answer();
  expect(await answeredByStore(store, new DedupWindow(), { op: 'react', conv_id: 'c1', user_id: 'u1', session_id: null, client_msg_id: 'k', target_seq: 3, emoji: '👍' }, other)).toBe(true);
  await expect(other.got).rejects.toEqual(conflict);

  expect(await answeredByStore(store, new DedupWindow(), { ...cmd, client_msg_id: 'never' }, answer())).toBe(false);
  expect(await answeredByStore(store, new DedupWindow(), { ...cmd, user_id: 'u2' }, answer())).toBe(false);
  await store.close();
});

/**
 * Micro check of SqliteStore.appendEvents throughput (not a test; jest ignores it):
 * 100k message events in batches of 500 across 100 conversations, per synchronous mode.
 * Run: npx ts-node --transpile-only test/store/throughput.bench.ts
 * Env: BENCH_IDS=uuid (default, random v4 like most clients) | ordered (time-ordered, like
 * UUIDv7); BENCH_DIR=<parent dir of the temp database> (default: the OS temp dir).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore, openSqliteDatabase, type AppendItem } from '../../src/store';

const total = 100_000;
const batchSize = 500;
const convCount = 100;

// Time-ordered ids sort by creation, so each sender's index entries append at the end.
function clientMsgId(n: number): string {
  if (process.env.BENCH_IDS === 'ordered') return `${(1e12 + n).toString(36)}-${randomUUID().slice(0, 13)}`;
  return randomUUID();
}

async function run(synchronous: 'full' | 'normal'): Promise<number> {
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'store-bench-'));
  const store = new SqliteStore(openSqliteDatabase(path.join(dir, 'bench.db'), { synchronous }));
  const convs: string[] = [];
  for (let c = 0; c < convCount; c++) {
    const conv_id = `c_bench_${c}`;
    convs.push(conv_id);
    await store.createConversation({
      conv_id,
      type: 'group',
      title: null,
      created_at: 1,
      members: [{ user_id: 'u_a', role: 'admin' }, { user_id: 'u_b', role: 'member' }],
    });
  }
  const seqs = new Array<number>(convCount).fill(0);
  const batches: AppendItem[][] = [];
  for (let i = 0; i < total; i += batchSize) {
    const batch: AppendItem[] = [];
    for (let j = 0; j < batchSize; j++) {
      const n = i + j;
      const c = n % convCount;
      batch.push({
        event: {
          conv_id: convs[c],
          seq: ++seqs[c],
          ts: 1_700_000_000_000 + n,
          sender_id: n % 2 === 0 ? 'u_a' : 'u_b',
          kind: 'message',
          body: `message number ${n} with a little text to look like a chat line`,
          reply_to: null,
          attachments: [],
          mentions: [],
          client_msg_id: clientMsgId(n),
        },
      });
    }
    batches.push(batch);
  }
  const started = process.hrtime.bigint();
  for (const batch of batches) await store.appendEvents(batch);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return total / seconds;
}

async function main(): Promise<void> {
  for (const mode of ['normal', 'full'] as const) {
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) rates.push(await run(mode));
    const fmt = rates.map((r) => Math.round(r).toLocaleString('en-US')).join(', ');
    console.log(`synchronous=${mode} ids=${process.env.BENCH_IDS ?? 'uuid'}: ${fmt} events/s (3 runs)`);
  }
}

void main();

/**
 * S6's child process: appends events through the project's SqliteStore in group-commit
 * batches on a fresh database and reports events/s. A child of its own so the numbers
 * measure the store alone, without the orchestrator's or anyone's event loop in the way.
 * Events look like chat traffic: ~64-character bodies, client_msg_ids from the SDK's own
 * generator (time-ordered), spread round-robin over the conversations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { newSortableId } from '../src/protocol/ids';
import { SqliteStore, openSqliteDatabase, startCheckpointer, type AppendItem } from '../src/store';

export interface StoreJob {
  dir: string;
  sync: 'normal' | 'full';
  events: number;
  batch: number;
  convs: number;
}

export interface StoreJobResult {
  seconds: number;
  eventsPerSec: number;
}

async function run(job: StoreJob): Promise<StoreJobResult> {
  const dir = mkdtempSync(path.join(job.dir, `store-${job.sync}-`));
  const db = openSqliteDatabase(path.join(dir, 'store.db'), { synchronous: job.sync });
  // As the server runs it: WAL checkpoints on a worker thread, not inside the commits.
  const checkpointer = startCheckpointer(db);
  const store = new SqliteStore(db);
  try {
    const convs = Array.from({ length: job.convs }, (_, i) => `c_store${i}`);
    for (const conv_id of convs) {
      await store.createConversation({
        conv_id,
        type: 'group',
        title: null,
        created_at: 1,
        members: [
          { user_id: 'u_a', role: 'admin' },
          { user_id: 'u_b', role: 'member' },
        ],
      });
    }
    const seqs = new Array<number>(job.convs).fill(0);
    // Built up front so the timed loop is the store's work only.
    const batches: AppendItem[][] = [];
    for (let n = 0; n < job.events; n += job.batch) {
      const batch: AppendItem[] = [];
      for (let j = n; j < Math.min(job.events, n + job.batch); j++) {
        const c = j % job.convs;
        batch.push({
          event: {
            conv_id: convs[c],
            seq: ++seqs[c],
            ts: 1_700_000_000_000 + j,
            sender_id: j % 2 === 0 ? 'u_a' : 'u_b',
            kind: 'message',
            body: `message ${j} with a little text to look like a chat line, ok`,
            reply_to: null,
            attachments: [],
            mentions: [],
            client_msg_id: newSortableId('m'),
          },
        });
      }
      batches.push(batch);
    }
    const started = process.hrtime.bigint();
    for (const batch of batches) await store.appendEvents(batch);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { seconds, eventsPerSec: job.events / seconds };
  } finally {
    await checkpointer?.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.once('message', (job: StoreJob) => {
  run(job).then(
    (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
    (err: unknown) => process.send?.({ ok: false, message: String(err) }, () => process.exit(1)),
  );
});

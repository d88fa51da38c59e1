import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteStore, openSqliteDatabase, type AppendItem } from '/work/main/src/store';

async function run(sync: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-x-'));
  const Database = require('better-sqlite3');
  if (process.env.PAGE) { const d0 = new Database(path.join(dir, 'bench.db')); d0.pragma('page_size=' + process.env.PAGE); d0.exec('VACUUM'); d0.close(); }
  const db = openSqliteDatabase(path.join(dir, 'bench.db'), { synchronous: 'normal' });
  if (process.env.NOCKPT) db.pragma('wal_autocheckpoint=0');
  const ps = db.pragma('page_size', { simple: true });
  db.pragma(`synchronous = ${sync}`);
  if (process.env.NODEDUP) db.exec('DROP INDEX events_dedup');
  const store = new SqliteStore(db);
  const convs: string[] = [];
  for (let c = 0; c < 100; c++) { convs.push(`c_bench_${c}`); await store.createConversation({ conv_id: convs[c], type: 'group', title: null, created_at: 1, members: [{ user_id: 'u_a', role: 'admin' }, { user_id: 'u_b', role: 'member' }] }); }
  const seqs = new Array<number>(100).fill(0);
  const batches: AppendItem[][] = [];
  for (let i = 0; i < 100000; i += 500) { const b: AppendItem[] = []; for (let j = 0; j < 500; j++) { const n = i + j, c = n % 100;
    b.push({ event: { conv_id: convs[c], seq: ++seqs[c], ts: 1_700_000_000_000 + n, sender_id: n % 2 ? 'u_b' : 'u_a', kind: 'message', body: `message number ${n} with a little text to look like a chat line`, reply_to: null, attachments: [], mentions: [], client_msg_id: process.env.SEQID ? `m_${String(n).padStart(8,'0')}` : `m_${n}` } }); } batches.push(b); }
  const t = process.hrtime.bigint();
  for (const b of batches) await store.appendEvents(b);
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const wal = fs.statSync(path.join(dir, 'bench.db-wal')).size, main = fs.statSync(path.join(dir, 'bench.db')).size;
  console.log(sync, 'page', ps, process.env.NODEDUP ? 'nodedup' : '', Math.round(100000 / s), 'ev/s', 'db MB', (main/1e6).toFixed(1), 'wal MB', (wal/1e6).toFixed(1));
  await store.close(); fs.rmSync(dir, { recursive: true, force: true });
}
(async () => { for (const m of (process.env.MODES ?? 'OFF,NORMAL').split(',')) await run(m); })();

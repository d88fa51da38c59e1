/**
 * S6 store: events/s appended through the SQLite store engine with group commit, in a
 * child process. Informational rows, no target: issue 15 dropped the 100,000 appends/s
 * micro-target (the server's cost per message is in S2's and S3's rows). First
 * SQLITE_SYNC=normal on the same file system as the server's DATA_DIR (the other
 * scenarios run the server that way); full (an ACK survives power loss) alongside, and
 * normal on tmpfs, which takes the disk out and leaves the store's CPU cost: the gap
 * between the two is what the disk costs. The relay has no store, so there is no baseline.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Ctx } from '../context';
import { row, type Row, type StoreRun } from '../results';
import type { StoreJob, StoreJobResult } from '../store-worker';

const tmpfs = '/dev/shm';

function runJob(job: StoreJob): Promise<StoreJobResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, '..', 'store-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (msg: { ok: true; result: StoreJobResult } | { ok: false; message: string }) => {
      if (msg.ok) resolve(msg.result);
      else reject(new Error(msg.message));
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`store worker exited with ${code}`));
    });
    child.send(job);
  });
}

export async function runS6(ctx: Ctx): Promise<Row[]> {
  const p = ctx.params.s6;
  const runs: StoreRun[] = [];
  ctx.results.s6 = runs;
  const plan: [StoreRun['sync'], StoreRun['medium'], number][] = [
    ['normal', 'disk', p.events],
    ['full', 'disk', p.eventsFull],
    ...(existsSync(tmpfs) ? [['normal', 'tmpfs', p.eventsTmpfs] as [StoreRun['sync'], StoreRun['medium'], number]] : []),
  ];
  for (const [sync, medium, events] of plan) {
    console.log(`  S6 store: ${events.toLocaleString('en-US')} events, batches of ${p.batch}, ${p.convs} conversations, synchronous=${sync} on ${medium}`);
    const dir = medium === 'tmpfs' ? tmpfs : ctx.workDir;
    const r = await runJob({ dir, sync, events, batch: p.batch, convs: p.convs });
    runs.push({ sync, medium, events, batch: p.batch, convs: p.convs, seconds: r.seconds, eventsPerSec: r.eventsPerSec });
  }
  return runs.map((r) => ({ ...row('S6', `store events/s, SQLITE_SYNC=${r.sync}, ${r.medium}, batch ${r.batch}`, 'events/s', r.eventsPerSec, null), info: true }));
}

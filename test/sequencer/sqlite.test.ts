import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteSequencer, type SeqRange } from '../../src/sequencer';
import { openSqliteDatabase } from '../../src/store';
import { expectDisjoint, runSequencerContract } from './contract';

function tempDir(): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seq-test-'));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

runSequencerContract('sqlite', async () => {
  const { dir, remove } = tempDir();
  const file = path.join(dir, 'seq.db');
  const connections: Database.Database[] = [];
  return {
    // Each instance gets its own connection to the one file, as two shards would.
    open: async () => {
      const db = openSqliteDatabase(file, { synchronous: 'normal' });
      connections.push(db);
      return new SqliteSequencer(db);
    },
    // The sequencer borrows its connection; the owner (here the harness) closes it.
    cleanup: async () => {
      for (const db of connections) db.close();
      remove();
    },
  };
});

/** Runs reserve-child.ts in a separate process; resolves with the ranges it printed. */
function runChild(
  file: string,
  conv: string,
  count: number,
  mode: 'exit' | 'kill',
  onReady: () => void,
): Promise<{ ranges: SeqRange[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'reserve-child.ts'), file, conv, String(count), mode],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    let ready = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!ready && out.startsWith('ready\n')) {
        ready = true;
        onReady();
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0 && signal === null) return reject(new Error(`child failed (${code}): ${err}`));
      const ranges = out
        .slice('ready\n'.length)
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const [start, end] = l.split(' ').map(Number);
          return { start, end };
        });
      resolve({ ranges, signal });
    });
  });
}

describe('SqliteSequencer across processes', () => {
  it('never overlaps between processes racing on one file, and resumes above a SIGKILLed one', async () => {
    const { dir, remove } = tempDir();
    const file = path.join(dir, 'seq.db');
    try {
      // Create the file (WAL mode) first so the children race on reserve, not on creation.
      openSqliteDatabase(file, { synchronous: 'normal' }).close();
      let readyCount = 0;
      const onReady = () => {
        if (++readyCount === 2) fs.writeFileSync(`${file}.go`, '');
      };
      const [a, b] = await Promise.all([
        runChild(file, 'c_race', 1000, 'kill', onReady),
        runChild(file, 'c_race', 1000, 'exit', onReady),
      ]);
      expect(a.signal).toBe('SIGKILL');
      expect(a.ranges).toHaveLength(1000);
      expect(b.ranges).toHaveLength(1000);
      const sorted = expectDisjoint([...a.ranges, ...b.ranges]);
      // The processes really interleaved (otherwise this test proves nothing about races).
      const fromA = new Set(a.ranges.map((r) => r.start));
      const switches = sorted.filter((r, i) => i > 0 && fromA.has(r.start) !== fromA.has(sorted[i - 1].start)).length;
      expect(switches).toBeGreaterThan(0);
      const highest = sorted[sorted.length - 1].end;
      const db = new Database(file);
      const next = await new SqliteSequencer(db).reserve('c_race', 64);
      db.close();
      expect(next.start).toBeGreaterThanOrEqual(highest);
    } finally {
      remove();
    }
  }, 60_000);
});

/**
 * `npm run bench [-- --quick] [-- --only S2,S3] [-- --profile] [-- --keep] [-- --server path/main.js]`
 *
 * The orchestrator: seeds a temporary DATA_DIR through the project's store, forks the
 * load generators, runs each scenario against our server and the bare relay (both child
 * processes, fresh per scenario), then prints the table and writes
 * bench/results/<timestamp>.json, latest.json and latest.html. It never generates load
 * itself and never runs inside the server's process. --profile starts our server with
 * --cpu-prof and summarises each profile; --keep leaves the temporary directory (logs,
 * database) in place; --server runs another build's main.js as "ours" (to compare a change).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Ctx } from './context';
import { paramsFor } from './params';
import { LoadgenPool } from './pool';
import { formatProfile, summariseProfile } from './profile';
import { renderHtml } from './report-html';
import { renderTable } from './report-table';
import type { BenchResults, Row } from './results';
import { runS1 } from './scenarios/s1-density';
import { runS2 } from './scenarios/s2-throughput';
import { runS3 } from './scenarios/s3-latency';
import { runS4 } from './scenarios/s4-fanout';
import { runS5 } from './scenarios/s5-reconnect';
import { runS6 } from './scenarios/s6-store';
import { runS7 } from './scenarios/s7-cross-shard';
import { runS8 } from './scenarios/s8-longpoll';
import { runS9 } from './scenarios/s9-images';
import { runS10 } from './scenarios/s10-push';
import { runS11 } from './scenarios/s11-density-scale';
import { runS12 } from './scenarios/s12-mqtt';
import { seed } from './seed';

const root = path.resolve(__dirname, '..', '..');

const scenarios: { id: string; title: string; run: (ctx: Ctx) => Promise<Row[]> }[] = [
  { id: 'S1', title: 'idle connection density', run: runS1 },
  { id: 'S2', title: '1:1 throughput, closed loop: heavy (S2) and moderate (S2m) shapes', run: runS2 },
  { id: 'S3', title: 'latency and cost per message, open loop', run: runS3 },
  { id: 'S4', title: 'group fan-out', run: runS4 },
  { id: 'S5', title: 'reconnect storm with replay', run: runS5 },
  { id: 'S6', title: 'store throughput (informational)', run: runS6 },
  { id: 'S7', title: 'cross-shard 1:1 on Cassandra and Redis, both shard transports', run: runS7 },
  { id: 'S8', title: 'long-poll against WebSocket, our server', run: runS8 },
  { id: 'S9', title: "images: upload to the recipient's screen, and messaging beside them", run: runS9 },
  { id: 'S10', title: 'push to offline devices: latency, fan-out, retraction', run: runS10 },
  { id: 'S11', title: 'density at scale: idle connections over several shard processes, heartbeat CPU', run: runS11 },
  { id: 'S12', title: 'MQTT against WebSocket: idle memory, CPU per message, bytes on the wire, encodings', run: runS12 },
];

interface Args {
  quick: boolean;
  only: Set<string> | null;
  profile: boolean;
  keep: boolean;
  server: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: null, profile: false, keep: false, server: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--profile') args.profile = true;
    else if (a === '--keep') args.keep = true;
    else if (a === '--server') args.server = path.resolve(argv[++i] ?? '');
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = a.includes('=') ? a.slice(7) : (argv[++i] ?? '');
      args.only = new Set(list.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean));
    } else throw new Error(`unknown argument ${a} (use --quick, --only S1,S2, --profile, --keep, --server path/to/main.js)`);
  }
  return args;
}

/** tsc does not copy the .sql, .cql and .lua files the engines load next to their JS. */
function copySqlFiles(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    if (entry.isDirectory()) copySqlFiles(src, path.join(to, entry.name));
    else if (/\.(sql|cql|lua)$/.test(entry.name)) {
      mkdirSync(to, { recursive: true });
      copyFileSync(src, path.join(to, entry.name));
    }
  }
}

function gitRev(): string | null {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${rev}+dirty` : rev;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const params = paramsFor(args.quick);
  const started = Date.now();
  const timestamp = new Date().toISOString();
  copySqlFiles(path.join(root, 'src'), path.join(root, 'dist-bench', 'src'));
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'relay-bench-'));
  const dataDir = path.join(workDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const profileDir = args.profile ? path.join(workDir, 'profiles') : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  console.log(args.quick ? 'relay bench: QUICK RUN (smaller counts, shorter phases; indicative only)' : 'relay bench: full run');
  console.log(`  ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, Node ${process.version}, server SQLITE_SYNC=${params.sqliteSync}, work dir ${workDir}`);
  const load = os.loadavg()[0];
  if (load > 0.5) console.log(`  warning: load average ${load.toFixed(2)} before start: other work on this machine will skew the numbers`);

  const results: BenchResults = {
    meta: {
      timestamp,
      quick: args.quick,
      node: process.version,
      cpus: os.cpus()[0]?.model ?? '?',
      cores: os.cpus().length,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      gitRev: gitRev(),
      sqliteSync: params.sqliteSync,
      loadgens: params.loadgens,
      durationSec: 0,
      loadavgAtStart: readFileSync('/proc/loadavg', 'utf8').trim(),
    },
    params,
    rows: [],
    errors: [],
    profiles: [],
  };

  let t = Date.now();
  const seeded = await seed(path.join(dataDir, 'chat.db'), params);
  console.log(`  seeded ${seeded.users.length + seeded.storm.users.length + 1} users, ${seeded.pairConvs.length + seeded.storm.convs.length + 1} conversations, ${seeded.storm.convs.length * seeded.storm.missed} events in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const pool = await LoadgenPool.start(params.loadgens);
  const ctx: Ctx = { params, seeded, secret: randomBytes(32).toString('base64url'), dataDir, workDir, pool, profileDir, serverMain: args.server, results };
  if (args.server) console.log(`  server under test: ${args.server}`);

  try {
    for (const s of scenarios) {
      if (args.only && !args.only.has(s.id)) continue;
      console.log(`\n== ${s.id} ${s.title} ==`);
      t = Date.now();
      try {
        results.rows.push(...(await s.run(ctx)));
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        console.log(`  ${s.id} failed: ${message}`);
        results.errors.push({ scenario: s.id, message });
        await pool.closeAll().catch(() => undefined);
      }
      console.log(`  ${s.id} took ${((Date.now() - t) / 1000).toFixed(1)} s`);
      if (profileDir) collectProfiles(profileDir, s.id, results);
    }
  } finally {
    pool.stop();
  }

  results.meta.durationSec = (Date.now() - started) / 1000;
  const outDir = path.join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const stamp = timestamp.replace(/[:.]/g, '-');
  if (profileDir) {
    const keepDir = path.join(outDir, 'profiles', stamp);
    mkdirSync(keepDir, { recursive: true });
    for (const f of readdirSync(profileDir)) copyFileSync(path.join(profileDir, f), path.join(keepDir, f));
    for (const p of results.profiles) p.file = path.relative(root, path.join(keepDir, path.basename(p.file)));
  }
  const json = JSON.stringify(results, null, 1);
  writeFileSync(path.join(outDir, `${stamp}.json`), json);
  writeFileSync(path.join(outDir, 'latest.json'), json);
  writeFileSync(path.join(outDir, 'latest.html'), renderHtml(results));

  console.log(`\n${args.quick ? 'QUICK RUN — ' : ''}results (${results.meta.durationSec.toFixed(0)} s, ${results.meta.cores} cores shared by server and load generators; KB = 1,024 bytes):\n`);
  console.log(renderTable(results));
  for (const p of results.profiles) console.log('\n' + formatProfile(p));
  console.log(`\nwritten: bench/results/${stamp}.json, bench/results/latest.json, bench/results/latest.html`);
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
  else console.log(`kept: ${workDir}`);
}

function collectProfiles(dir: string, id: string, results: BenchResults): void {
  for (const f of readdirSync(dir)) {
    if (!f.startsWith(`${id}-ours`) || !f.endsWith('.cpuprofile')) continue;
    const file = path.join(dir, f);
    if (existsSync(file) && !results.profiles.some((p) => p.tag === f)) results.profiles.push(summariseProfile(file, f.replace('.cpuprofile', '')));
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);

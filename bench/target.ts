/**
 * The two servers a scenario can drive, each in its own child process: ours
 * (`node dist-bench/src/main.js` on the seeded DATA_DIR) and the baseline relay. The
 * orchestrator measures them from outside (/proc, /metrics, the inspector), never from
 * within.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { sleep } from './clock';
import { collectGarbage } from './inspector';
import type { FromRelay } from './ipc';

export type TargetKind = 'ours' | 'baseline';

export interface Target {
  kind: TargetKind;
  pid: number;
  wsUrl: string;
  /** http://host:port of ours (for /healthz); null for the baseline. */
  http: string | null;
  /** mqtt://host:port of ours' MQTT listener (S12); null for the baseline, which speaks no MQTT. */
  mqttUrl: string | null;
  /** Full GC, then heap used in bytes (ours: /metrics nodejs_heap_size_used_bytes). */
  gcAndHeap(): Promise<number>;
  /** A value from ours' /metrics (sum over label sets), or null for the baseline. */
  metric(name: string): Promise<number | null>;
  /** Ours' whole /metrics text (null for the baseline, or when the scrape fails). */
  scrape(): Promise<string | null>;
  /** Graceful stop (ours: SIGTERM drains and closes sockets with 1012). */
  stop(): Promise<void>;
}

export interface OursOptions {
  dataDir: string;
  secret: string;
  sqliteSync: 'full' | 'normal';
  /** Start with --inspect so gcAndHeap() can force a full GC. */
  inspect: boolean;
  /** Write a V8 CPU profile here when the server exits (--cpu-prof). */
  cpuProfile: { dir: string; name: string } | null;
  logFile: string;
  /** main.js to run instead of this build's dist-bench/src/main.js. */
  main: string | null;
  /** More settings, over the defaults above (S7: STORE=cassandra BUS=redis, shard id, ...). */
  env?: Record<string, string>;
}

/** A TCP port free right now on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const done = await Promise.race([exited(child).then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited(child);
  }
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Children still running, killed if the orchestrator exits early. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function startOurs(opts: OursOptions): Promise<Target> {
  const port = await freePort();
  // Set in every scenario: the listener's default (1883) is one port for the whole machine,
  // and another bench or test holding it would stop the server at start.
  const mqttPort = await freePort();
  const inspectPort = opts.inspect ? await freePort() : 0;
  const main = opts.main ?? path.join(__dirname, '..', 'src', 'main.js');
  // Node flags go on the command line: Node 20 refuses --cpu-prof in NODE_OPTIONS.
  const args = [
    ...(opts.inspect ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
    ...(opts.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfile.dir}`, `--cpu-prof-name=${opts.cpuProfile.name}`] : []),
    main,
  ];
  const log = openSync(opts.logFile, 'a');
  // The bench scrapes /metrics without a token: one set in the caller's shell must not
  // turn every scrape into a 401.
  const { METRICS_TOKEN: _scrapedWithoutToken, ...callerEnv } = process.env;
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', log, log],
    env: {
      ...callerEnv,
      NODE_OPTIONS: '',
      PORT: String(port),
      MQTT_PORT: String(mqttPort),
      HOST: '127.0.0.1',
      DATA_DIR: opts.dataDir,
      JWT_SECRET: opts.secret,
      SQLITE_SYNC: opts.sqliteSync,
      LOG_LEVEL: 'warn',
      // The bench measures the server's cost, not its per-user send limits.
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      // Every simulated client is 127.0.0.1, tens of thousands of them connecting at once.
      SESSION_OPEN_PER_SECOND: '1000000',
      SESSION_OPEN_BURST: '1000000',
      MAX_PENDING_PER_ADDRESS: '1000000',
      MAX_PENDING_SESSIONS: '1000000',
      ...opts.env,
    },
  });
  closeSync(log);
  live.add(child);
  child.once('exit', () => live.delete(child));
  const http = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} at start:\n${tail(opts.logFile)}`);
    try {
      if ((await fetch(`${http}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child, 1000);
      throw new Error(`server not ready after 30 s:\n${tail(opts.logFile)}`);
    }
    await sleep(50);
  }
  const scrape = async (): Promise<string> => (await fetch(`${http}/metrics`)).text();
  const metric = async (name: string): Promise<number> => {
    const text = await scrape();
    let sum = 0;
    const re = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm');
    for (let m = re.exec(text); m; m = re.exec(text)) sum += Number(m[1]);
    return sum;
  };
  return {
    kind: 'ours',
    pid: child.pid as number,
    http,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    async gcAndHeap() {
      if (opts.inspect) await collectGarbage(inspectPort);
      return metric('nodejs_heap_size_used_bytes');
    },
    metric,
    scrape: () => scrape().catch(() => null),
    stop: () => stopChild(child, 30_000),
  };
}

/** `pingMs` > 0: the relay heartbeats its sockets at that interval (S11's floor); 0: no pings. */
export async function startBaseline(pingMs = 0): Promise<Target> {
  const port = await freePort();
  const child = fork(path.join(__dirname, 'relay.js'), [String(port), String(pingMs)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const next = (op: FromRelay['op']): Promise<FromRelay> =>
    new Promise((resolve, reject) => {
      const onMsg = (msg: FromRelay): void => {
        if (msg.op !== op) return;
        child.off('message', onMsg);
        child.off('exit', onExit);
        resolve(msg);
      };
      const onExit = (): void => reject(new Error('baseline relay exited'));
      child.on('message', onMsg);
      child.once('exit', onExit);
    });
  await next('ready');
  return {
    kind: 'baseline',
    pid: child.pid as number,
    http: null,
    mqttUrl: null,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    async gcAndHeap() {
      const done = next('gc-done');
      child.send({ op: 'gc' });
      const msg = await done;
      return msg.op === 'gc-done' ? msg.heapUsed : 0;
    },
    metric: async () => null,
    scrape: async () => null,
    stop: () => stopChild(child, 5000),
  };
}

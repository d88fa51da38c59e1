/**
 * The orchestrator's handle on its load generator processes: forks them once per run,
 * sends each one command at a time, gathers the replies, and prints progress for long
 * connection phases.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ConnectCommand, ConnectResult, FromLoadgen, LoadgenStats, ToLoadgen, TrafficPlan, TrafficResult } from './ipc';
import type { Progress } from './progress';

type Reply<K extends FromLoadgen['op']> = Extract<FromLoadgen, { op: K }>;

class Loadgen {
  private waiting: { op: string; resolve: (m: FromLoadgen) => void; reject: (e: Error) => void } | null = null;
  onProgress: (done: number, total: number) => void = () => {};

  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: FromLoadgen) => {
      if (msg.op === 'progress') return this.onProgress(msg.done, msg.total);
      const w = this.waiting;
      if (!w) return;
      if (msg.op === 'error') {
        this.waiting = null;
        w.reject(new Error(`load generator failed: ${msg.message}`));
      } else if (msg.op === w.op) {
        this.waiting = null;
        w.resolve(msg);
      }
    });
    child.once('exit', (code) => {
      this.waiting?.reject(new Error(`load generator exited (${code})`));
      this.waiting = null;
    });
  }

  request<K extends FromLoadgen['op']>(msg: ToLoadgen | null, op: K): Promise<Reply<K>> {
    return new Promise((resolve, reject) => {
      this.waiting = { op, resolve: resolve as (m: FromLoadgen) => void, reject };
      if (msg) this.child.send(msg);
    });
  }
}

export class LoadgenPool {
  private constructor(private readonly gens: Loadgen[]) {}

  static async start(count: number): Promise<LoadgenPool> {
    const gens: Loadgen[] = [];
    for (let i = 0; i < count; i++) {
      const child = fork(path.join(__dirname, 'loadgen.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const gen = new Loadgen(child);
      gens.push(gen);
    }
    await Promise.all(gens.map((g) => g.request(null, 'ready')));
    return new LoadgenPool(gens);
  }

  get size(): number {
    return this.gens.length;
  }

  /** The load generators' process ids (to read their CPU from /proc). */
  get pids(): number[] {
    return this.gens.map((g) => g.child.pid as number);
  }

  /**
   * Connects clientsPerGen[i] on load generator i; prints progress under `label`.
   * `urlPerGen` (S11: one server per load generator) overrides `shared.url` per generator.
   */
  async connect(
    shared: Omit<ConnectCommand, 'op' | 'clients'>,
    clientsPerGen: ConnectCommand['clients'][],
    progress: Progress,
    urlPerGen?: readonly string[],
  ): Promise<ConnectResult[]> {
    const done = new Array<number>(clientsPerGen.length).fill(0);
    const total = clientsPerGen.reduce((n, c) => n + c.length, 0);
    const results = await Promise.all(
      clientsPerGen.map((clients, i) => {
        const gen = this.gens[i];
        gen.onProgress = (d) => {
          done[i] = d;
          progress.update(done.reduce((a, b) => a + b, 0), total);
        };
        const url = urlPerGen?.[i] ?? shared.url;
        return gen.request({ op: 'connect', ...shared, url, clients }, 'connected').then((r) => r.result);
      }),
    );
    progress.done(total);
    return results;
  }

  /** Runs plans[i] on load generator i; resolves when every one has reported. */
  async traffic(plans: TrafficPlan[]): Promise<TrafficResult[]> {
    return Promise.all(plans.map((plan, i) => this.gens[i].request({ op: 'traffic', plan }, 'traffic').then((r) => r.result)));
  }

  /** Closes every connection of every load generator. */
  async closeAll(): Promise<void> {
    await Promise.all(this.gens.map((g) => g.request({ op: 'close' }, 'closed')));
  }

  /** Every load generator's counters, in order. */
  async stats(): Promise<LoadgenStats[]> {
    return Promise.all(this.gens.map((g) => g.request({ op: 'stats' }, 'stats')));
  }

  stop(): void {
    for (const g of this.gens) if (g.child.connected) g.child.send({ op: 'exit' } satisfies ToLoadgen);
  }

  /** stop(), then waits for every process to be gone (SIGKILL after `graceMs`). */
  async exit(graceMs = 10_000): Promise<void> {
    const gone = this.gens.map(
      (g) =>
        new Promise<void>((resolve) => {
          if (g.child.exitCode !== null || g.child.signalCode !== null) return resolve();
          g.child.once('exit', () => resolve());
        }),
    );
    this.stop();
    const timer = setTimeout(() => {
      for (const g of this.gens) if (g.child.exitCode === null && g.child.signalCode === null) g.child.kill('SIGKILL');
    }, graceMs);
    await Promise.all(gone);
    clearTimeout(timer);
  }
}

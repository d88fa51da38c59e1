/**
 * Readiness: whether the engines a shard cannot work without answer, for /readyz. The
 * probes run on a timer (every second, side by side, each with a deadline), never per
 * /readyz request: a load balancer polling many shards costs the store one tiny read per
 * shard per second. A check still under way (past its deadline, against a hung engine) is
 * not started again until it settles, so a hung engine cannot pile up probes; the engine
 * counts as down meanwhile. Changes of state are logged.
 */
import type { Gauge } from 'prom-client';
import type winston from 'winston';

/** One engine's check: resolves (or returns true) when it can serve; rejects or returns false when not. */
export interface Probe {
  name: string;
  check(): Promise<unknown> | boolean;
}

/** What /readyz shows. */
export interface ReadinessState {
  ready: boolean;
  /** Engines whose last probe failed (or has not passed yet). */
  down: string[];
}

export interface ReadinessOptions {
  intervalMs?: number;
  /** A probe not answered within this counts as failed. */
  timeoutMs?: number;
  /** `chat_engine_up{engine}`: 1 when the last probe passed. */
  gauge?: Gauge<'engine'>;
  logger?: winston.Logger;
}

export class Readiness {
  /** Engines whose last probe failed; every engine starts down until its first probe passes. */
  private readonly failing: Set<string>;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Checks started and not yet settled (possibly past their deadline). */
  private readonly unsettled = new Set<string>();
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly probes: readonly Probe[],
    private readonly opts: ReadinessOptions = {},
  ) {
    this.failing = new Set(probes.map((p) => p.name));
    this.intervalMs = opts.intervalMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 1500;
  }

  /** Probes once (awaited, so a shard starts ready) and then on the timer. */
  async start(): Promise<void> {
    await this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The cached result of the last probes. */
  state(): ReadinessState {
    const down = this.probes.filter((p) => this.failing.has(p.name)).map((p) => p.name);
    return { ready: down.length === 0, down };
  }

  private async probeAll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(this.probes.map((p) => this.probe(p)));
    } finally {
      this.running = false;
    }
  }

  private async probe(p: Probe): Promise<void> {
    if (this.unsettled.has(p.name)) {
      this.record(p.name, false);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.timeoutMs);
    });
    let up: boolean;
    try {
      this.unsettled.add(p.name);
      const check = Promise.resolve(p.check()).finally(() => this.unsettled.delete(p.name));
      check.catch(() => undefined); // settled late, after the deadline answered
      const answer = await Promise.race([check, deadline]);
      up = answer !== false;
    } catch {
      up = false;
    } finally {
      clearTimeout(timer);
    }
    this.record(p.name, up);
  }

  private record(name: string, up: boolean): void {
    const was = !this.failing.has(name);
    if (up) this.failing.delete(name);
    else this.failing.add(name);
    this.opts.gauge?.set({ engine: name }, up ? 1 : 0);
    if (was !== up) this.opts.logger?.[up ? 'info' : 'warn'](up ? 'engine ready' : 'engine not ready', { engine: name });
  }
}

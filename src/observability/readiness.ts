/**
 * Readiness: whether the engines a shard cannot work without answer, for /readyz. Each
 * probe runs on a timer (every second, one at a time, with a deadline), never per /readyz
 * request: a load balancer polling many shards costs the store one tiny read per shard per
 * second, and a hung engine cannot pile up probes.
 */
import type { Gauge } from 'prom-client';

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
}

export class Readiness {
  /** Engines whose last probe failed; every engine starts down until its first probe passes. */
  private readonly failing: Set<string>;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
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
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.timeoutMs);
    });
    let up: boolean;
    try {
      const answer = await Promise.race([Promise.resolve(p.check()), deadline]);
      up = answer !== false;
    } catch {
      up = false;
    } finally {
      clearTimeout(timer);
    }
    if (up) this.failing.delete(p.name);
    else this.failing.add(p.name);
    this.opts.gauge?.set({ engine: p.name }, up ? 1 : 0);
  }
}

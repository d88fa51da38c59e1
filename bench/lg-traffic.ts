/**
 * One traffic phase inside a load generator: closed loop (each sender keeps `window`
 * SENDs unacknowledged) or open loop (a fixed schedule, every send stamped with the time
 * it was *scheduled*, so a stall in the server delays the stamps' deliveries instead of
 * the schedule: no coordinated omission). The stamp travels in the body, which is how a
 * receiver in another process knows when its DELIVER was meant to be sent.
 */
// The SDK's own id generator (time-ordered, as src/client sends), so the server's
// idempotency index sees what real clients make it see.
import { newSortableId } from '../src/protocol/ids';
import { nowMs, sleepUntil } from './clock';
import { Histogram } from './histogram';
import type { TrafficPlan, TrafficResult } from './ipc';
import type { Client, ClientSet, FrameSink } from './lg-clients';
import { lpCounters } from './lg-longpoll';

const bodyMarker = Buffer.from('"body":"@');
const at = '@'.charCodeAt(0);

/** The scheduled send time stamped in a DELIVER's body, or NaN if it carries none. */
function stampOf(data: Buffer): number {
  const i = data.indexOf(bodyMarker);
  if (i < 0) return NaN;
  const start = i + bodyMarker.length;
  const end = data.indexOf(at, start);
  return end < 0 ? NaN : Number(data.toString('latin1', start, end));
}

export class TrafficRun implements FrameSink {
  private readonly latency = new Histogram();
  private readonly ackLatency = new Histogram();
  private readonly r: TrafficResult;
  private stopping = false;
  private deliverSeen = 0;
  private readonly filler: string;

  constructor(
    private readonly set: ClientSet,
    private readonly plan: TrafficPlan,
  ) {
    this.r = {
      sent: 0,
      sentInWindow: 0,
      acked: 0,
      ackedInWindow: 0,
      delivered: 0,
      deliveredInWindow: 0,
      errors: {},
      latency: this.latency.toJSON(),
      ackLatency: this.ackLatency.toJSON(),
      cpuUs: 0,
    };
    // A chat-line-sized body: the stamp, then filler up to bodyChars.
    this.filler = 'x'.repeat(Math.max(0, plan.bodyChars - 20));
  }

  async run(): Promise<TrafficResult> {
    const p = this.plan;
    for (const c of this.set.clients) {
      c.pending.clear();
      c.sendConv = null;
    }
    for (const s of p.senders) this.set.clients[s.client].sendConv = s.conv;
    this.set.sink = this;
    let cpuStart = process.cpuUsage();
    let lpStart = { ...lpCounters };
    const cpuFrom = setTimeout(() => {
      cpuStart = process.cpuUsage();
      lpStart = { ...lpCounters };
    }, p.measureFrom - nowMs());
    const cpuTo = setTimeout(() => {
      const d = process.cpuUsage(cpuStart);
      this.r.cpuUs = d.user + d.system;
      // Long-poll requests issued in the window (zero over WebSocket).
      this.r.lpPolls = lpCounters.polls - lpStart.polls;
      this.r.lpSends = lpCounters.sends - lpStart.sends;
    }, p.measureTo - nowMs());
    await sleepUntil(p.startAt);
    let timer: NodeJS.Timeout | null = null;
    if (p.mode === 'closed') {
      for (const s of p.senders) for (let i = 0; i < p.window; i++) this.send(s.client, s.conv, nowMs());
    } else if (p.rate > 0 && p.senders.length > 0) {
      timer = this.openLoop();
    }
    await sleepUntil(p.stopAt);
    this.stopping = true;
    if (timer) clearInterval(timer);
    await sleepUntil(p.stopAt + p.drainMs);
    clearTimeout(cpuFrom);
    clearTimeout(cpuTo);
    this.set.sink = { deliver() {}, ack() {}, error() {}, closed() {} };
    this.r.latency = this.latency.toJSON();
    this.r.ackLatency = this.ackLatency.toJSON();
    return this.r;
  }

  /**
   * Sends on a 1 ms timer whatever the schedule says is due. Timer lateness (about a
   * millisecond, more when this process is busy) is charged to the measured latency,
   * which errs on the side of reporting the system slower than it is.
   */
  private openLoop(): NodeJS.Timeout {
    const p = this.plan;
    const period = 1000 / p.rate;
    let k = 0;
    let rr = 0;
    const tick = (): void => {
      const until = Math.min(nowMs(), p.stopAt);
      for (let due = p.startAt + k * period; due <= until; due = p.startAt + k * period) {
        k++;
        const s = p.senders[rr++ % p.senders.length];
        this.send(s.client, s.conv, due);
      }
    };
    tick();
    return setInterval(tick, 1);
  }

  private send(index: number, conv: string, stamp: number): void {
    const c = this.set.clients[index];
    if (!c.open || !c.wired) {
      this.count('not_open');
      return;
    }
    // The receiver sees the stamp as printed; classify by the same rounded value on both
    // sides, or sends at the window's edges would count as sent but never delivered.
    const text = stamp.toFixed(3);
    const printed = Number(text);
    c.pending.push(printed);
    c.send(`{"type":"SEND","client_msg_id":"${newSortableId('m')}","conv_id":"${conv}","body":"@${text}@${this.filler}"}`);
    this.r.sent++;
    if (this.inWindow(printed)) this.r.sentInWindow++;
  }

  private inWindow(t: number): boolean {
    return t >= this.plan.measureFrom && t < this.plan.measureTo;
  }

  deliver(_c: Client, data: Buffer, arrived: number): void {
    this.r.delivered++;
    if (this.plan.mode === 'open') {
      const stamp = stampOf(data);
      if (!this.inWindow(stamp)) return;
      this.r.deliveredInWindow++;
      this.latency.record((arrived - stamp) * 1000);
      return;
    }
    if (!this.inWindow(arrived)) return;
    this.r.deliveredInWindow++;
    if (++this.deliverSeen % this.plan.sampleEvery === 0) {
      const stamp = stampOf(data);
      if (!Number.isNaN(stamp)) this.latency.record((arrived - stamp) * 1000);
    }
  }

  ack(c: Client, arrived: number): void {
    const stamp = c.pending.shift();
    this.r.acked++;
    if (stamp === undefined) return;
    const counted = this.plan.mode === 'open' ? this.inWindow(stamp) : this.inWindow(arrived);
    if (counted) {
      this.r.ackedInWindow++;
      this.ackLatency.record((arrived - stamp) * 1000);
    }
    if (this.plan.mode === 'closed' && !this.stopping) this.sendNext(c);
  }

  error(c: Client, data: Buffer): void {
    let code = 'unparsable';
    try {
      code = (JSON.parse(data.toString()) as { code?: string }).code ?? 'unknown';
    } catch {
      // keep 'unparsable'
    }
    this.count(code);
    // An ERROR answers the oldest pending SEND (the only frames we send): keep the window full.
    if (c.pending.shift() !== undefined && this.plan.mode === 'closed' && !this.stopping) this.sendNext(c);
  }

  closed(_c: Client, code: number): void {
    this.count(`closed:${code}`);
  }

  private sendNext(c: Client): void {
    if (c.sendConv !== null) this.send(c.index, c.sendConv, nowMs());
  }

  private count(key: string): void {
    this.r.errors[key] = (this.r.errors[key] ?? 0) + 1;
  }
}

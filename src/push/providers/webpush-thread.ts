/**
 * WebPushThread: the WebPushProvider the server uses, its sends run by webpush-worker.ts
 * on a worker thread at low priority (why: see that file). The same PushProvider contract:
 * `send` never rejects and settles within the timeout; a worker that dies fails its sends
 * in flight as 'retry' (the push jobs try again) and a new one is started for later sends.
 */
import { Worker } from 'node:worker_threads';
import type { PushNotification, PushProvider, SendOptions, SendResult, WebPushTarget } from './types';
import type { WebPushProviderOptions } from './webpush';
import { compiledWorker } from '../../worker-script';

export type ToWorker =
  | { op: 'send'; id: number; target: WebPushTarget; notification: PushNotification; opts: SendOptions }
  | { op: 'close' };
type FromWorker = { op: 'result'; id: number; result: SendResult } | { op: 'closed' };

/** How long close() waits for the worker to end its sends before terminating it. */
const CLOSE_WAIT_MS = 2000;
/** Past the send's own timeout, how long a send waits for a silent worker before giving up on it. */
const WORKER_SLACK_MS = 2000;

export class WebPushThread implements PushProvider<WebPushTarget> {
  readonly provider = 'webpush' as const;
  private worker: Worker | null = null;
  private nextId = 1;
  private closed = false;
  private readonly pending = new Map<number, { resolve: (r: SendResult) => void; timer: NodeJS.Timeout }>();
  private readonly options: WebPushProviderOptions;

  /**
   * Throws when the compiled worker script is missing (run npm run build). `onLost` hears
   * why a worker went (for the logs); the next send starts another.
   */
  constructor(
    options: WebPushProviderOptions,
    private readonly onLost: (why: string) => void = () => undefined,
  ) {
    // A Buffer crosses to the worker as a bare Uint8Array, which TLS does not take as a CA.
    this.options = { ...options, ...(options.ca === undefined ? {} : { ca: options.ca.toString() }) };
    // Started now, not at the first push: a thread takes tens of milliseconds to boot, which
    // the first offline recipient's notification would otherwise wait for.
    this.started();
  }

  send(target: WebPushTarget, notification: PushNotification, opts: SendOptions): Promise<SendResult> {
    if (this.closed) return Promise.resolve({ status: 'retry', reason: 'closed' });
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<SendResult>((resolve) => {
      // The worker settles every send by its timeout; this only covers a worker that stopped answering.
      // A worker that stops answering is replaced, or every later send would wait this long too.
      const timer = setTimeout(() => {
        this.settle(id, { status: 'retry', reason: 'push worker did not answer' });
        if (this.worker === worker) void worker.terminate();
      }, this.options.timeoutMs + WORKER_SLACK_MS);
      this.pending.set(id, { resolve, timer });
      const msg: ToWorker = { op: 'send', id, target, notification, opts };
      worker.postMessage(msg);
    });
  }

  /** Ends sends in flight (they resolve 'retry', as WebPushProvider's close does) and the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) {
      const closed = new Promise<void>((resolve) => {
        worker.on('message', (m: FromWorker) => m.op === 'closed' && resolve());
        worker.once('exit', () => resolve());
        setTimeout(resolve, CLOSE_WAIT_MS).unref();
      });
      const msg: ToWorker = { op: 'close' };
      worker.postMessage(msg);
      await closed;
      await worker.terminate();
    }
    for (const id of [...this.pending.keys()]) this.settle(id, { status: 'retry', reason: 'closed' });
  }

  private started(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(workerScript(), { workerData: this.options });
    worker.on('message', (m: FromWorker) => {
      if (m.op === 'result') this.settle(m.id, m.result);
    });
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      if (!this.closed) this.onLost(why);
      // Sends in flight went with it; whether they reached the push service is unknown, and
      // a second notification of one batch replaces the first (same topic), so try again.
      for (const id of [...this.pending.keys()]) this.settle(id, { status: 'retry', reason: `push worker ${why}` });
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited (${code})`));
    // The thread must not keep a stopping process alive; sends in flight hold their own timers.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private settle(id: number, result: SendResult): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(result);
  }
}

/** The compiled worker: beside this file when running from dist, else dist's (tests run src through ts-jest). */
function workerScript(): string {
  const found = compiledWorker('push/providers/webpush-worker.js');
  if (found === null) throw new Error('push: compiled Web Push worker not found (run npm run build)');
  return found;
}

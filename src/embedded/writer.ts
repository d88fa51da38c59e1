/**
 * The event loop's side of the SQLite writer thread: a typed call per write, answered in
 * the order sent. Calls made before the thread is up queue in its port.
 */
import { Worker } from 'node:worker_threads';
import { ProtocolError, type ErrorCode } from '../protocol';
import type { WireError, WriteMethod, WriteMethods, WriteRequest, WriteResponse, WriterData } from './calls';

/**
 * The writer thread is gone (crashed, exited, or stopped): every write fails with this
 * until the process restarts. An outage of the embedded store, not a bug of the caller.
 */
export class WriterGoneError extends Error {
  override name = 'WriterGoneError';
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class WriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the thread is gone; every later call fails with it. */
  private dead: Error | null = null;
  private readonly started: Promise<void>;

  constructor(script: string, data: WriterData) {
    this.worker = new Worker(script, { workerData: data });
    this.started = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (msg: unknown) => {
        if (msg === 'ready') resolve();
      });
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`store writer thread exited with code ${code} before it was ready`)));
    });
    this.worker.on('message', (msg: WriteResponse | 'ready' | 'stopped') => {
      if (typeof msg === 'string') return;
      const call = this.pending.get(msg.id);
      if (call === undefined) return;
      this.pending.delete(msg.id);
      if (msg.ok) call.resolve(msg.value === undefined ? undefined : JSON.parse(msg.value));
      else call.reject(fromWire(msg.error));
    });
    this.worker.on('error', (err) => this.fail(new WriterGoneError(`store writer thread failed: ${err.message}`, { cause: err })));
    this.worker.on('exit', (code) => this.fail(new WriterGoneError(`store writer thread exited with code ${code}`)));
  }

  /** What every call fails with once the thread is gone; null while it runs. */
  get failure(): Error | null {
    return this.dead;
  }

  /** Resolves when the thread runs; rejects if it failed to open the database. */
  ready(): Promise<void> {
    return this.started;
  }

  call<M extends WriteMethod>(method: M, ...args: WriteMethods[M]['args']): Promise<WriteMethods[M]['result']> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      // JSON text, not the objects: a string crosses the thread as one copy, while
      // structured clone of a batch's event objects cost ~10% of the loop (S3 profile).
      this.worker.postMessage({ id, method, args: JSON.stringify(args) } satisfies WriteRequest);
    });
  }

  /** Waits for the calls already sent, closes the writer's connection and ends the thread. */
  async stop(): Promise<void> {
    if (this.dead) return;
    const stopped = new Promise<void>((resolve) => {
      this.worker.on('message', (msg: unknown) => {
        if (msg === 'stopped') resolve();
      });
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage('stop');
    await stopped;
    this.dead = new WriterGoneError('store writer thread stopped');
    await this.worker.terminate();
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const call of this.pending.values()) call.reject(err);
    this.pending.clear();
  }
}

function fromWire(err: WireError): Error {
  if (err.kind === 'protocol') return new ProtocolError(err.code as ErrorCode, err.message);
  // SQLite's own codes (SQLITE_BUSY, SQLITE_FULL...) stay on the error, as better-sqlite3 puts them.
  return Object.assign(new Error(err.message), err.code === null ? {} : { code: err.code });
}

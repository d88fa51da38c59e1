/**
 * A FetchLike whose answers the test gives one request at a time, for the long-poll
 * carrier's unit tests: every call is recorded and stays pending until answered. Honors
 * the request's AbortSignal like fetch (rejects with an AbortError).
 */
import type { FetchLike, ResponseLike } from '../../src/client';

export interface ScriptedRequest {
  method: string;
  url: string;
  body?: string;
  signal?: AbortSignal;
  /** True once answered, failed or aborted. */
  settled: boolean;
  aborted: boolean;
  respond(status: number, body?: unknown): void;
  /** Fails like a network error. */
  fail(message?: string): void;
}

export class ScriptedFetch {
  readonly requests: ScriptedRequest[] = [];
  private read = 0;
  private waiters: (() => void)[] = [];
  /** When false, signals are ignored (a platform fetch without abort support). */
  honorAbort = true;

  readonly fetch: FetchLike = (url, init) =>
    new Promise<ResponseLike>((resolve, reject) => {
      const req: ScriptedRequest = {
        method: init.method,
        url,
        body: init.body,
        signal: init.signal,
        settled: false,
        aborted: false,
        respond: (status, body) => {
          if (req.settled) return;
          req.settled = true;
          const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
          resolve({ status, ok: status >= 200 && status < 300, text: async () => text });
        },
        fail: (message = 'network down') => {
          if (req.settled) return;
          req.settled = true;
          reject(new TypeError(message));
        },
      };
      if (this.honorAbort && init.signal) {
        const onAbort = () => {
          if (req.settled) return;
          req.settled = true;
          req.aborted = true;
          const err = new Error('aborted');
          err.name = 'AbortError';
          reject(err);
        };
        if (init.signal.aborted) onAbort();
        else init.signal.addEventListener('abort', onAbort);
      }
      this.requests.push(req);
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });

  /** The next request the test has not taken yet (waits for it). */
  async next(timeoutMs = 2000): Promise<ScriptedRequest> {
    const deadline = Date.now() + timeoutMs;
    while (this.read >= this.requests.length) {
      if (Date.now() > deadline) throw new Error(`no request in time; had ${this.requests.map((r) => `${r.method} ${r.url}`).join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.requests[this.read++];
  }

  /** Requests made and not taken with `next`. */
  untaken(): ScriptedRequest[] {
    return this.requests.slice(this.read);
  }

  /** Requests still waiting for an answer. */
  pending(): ScriptedRequest[] {
    return this.requests.filter((r) => !r.settled);
  }
}

/** Lets queued promise callbacks (and one macrotask) run. */
export const tick = () => new Promise<void>((r) => setTimeout(r, 0));

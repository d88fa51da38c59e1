/**
 * A deadline for a WebSocket to open. An upgrade a proxy swallows leaves the socket in
 * CONNECTING for good (browsers give no timeout); this wrapper turns that into the
 * error + close every other failure before 'open' produces, so ChatClient's fallback
 * (under 'auto') or backoff (under 'websocket') applies unchanged.
 */
import type { CloseEventLike, MessageEventLike, WebSocketLike } from './socket';
import { CLOSED, OPEN } from './socket';

/** Close code reported when the deadline passes: abnormal, no close frame, as for a refused upgrade. */
const abnormal = 1006;

type Listeners = {
  open: ((event: unknown) => void)[];
  message: ((event: MessageEventLike) => void)[];
  close: ((event: CloseEventLike) => void)[];
  error: ((event: unknown) => void)[];
};

/**
 * Wraps `inner`, which must still be CONNECTING. Behaves exactly like it, except that
 * when it is not open `timeoutMs` after construction it is closed and, from then on,
 * ignored: the wrapper reports CLOSED and fires 'error' then 'close' (1006, "open
 * timeout") once, and none of the inner socket's late events. The timer ends with
 * 'open', 'close' or `close()`, whichever comes first.
 */
export class OpenTimeoutSocket implements WebSocketLike {
  private readonly listeners: Listeners = { open: [], message: [], close: [], error: [] };
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timedOut = false;

  constructor(
    /** The wrapped socket (for diagnostics and tests that must reach the real one). */
    readonly inner: WebSocketLike,
    timeoutMs: number,
  ) {
    inner.addEventListener('open', (e) => {
      this.clearTimer();
      if (!this.timedOut) for (const l of [...this.listeners.open]) l(e);
    });
    inner.addEventListener('message', (e) => {
      if (!this.timedOut) for (const l of [...this.listeners.message]) l(e);
    });
    inner.addEventListener('close', (e) => {
      this.clearTimer();
      if (!this.timedOut) for (const l of [...this.listeners.close]) l(e);
    });
    inner.addEventListener('error', (e) => {
      if (!this.timedOut) for (const l of [...this.listeners.error]) l(e);
    });
    this.timer = setTimeout(() => this.expire(), timeoutMs);
  }

  get readyState(): number {
    return this.timedOut ? CLOSED : this.inner.readyState;
  }

  send(data: string): void {
    this.inner.send(data);
  }

  close(code?: number, reason?: string): void {
    this.clearTimer();
    if (this.timedOut) return;
    this.inner.close(code, reason);
  }

  addEventListener(type: 'open', listener: (event: unknown) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (event: CloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: keyof Listeners, listener: (event: never) => void): void {
    (this.listeners[type] as ((event: never) => void)[]).push(listener);
  }

  private expire(): void {
    this.timer = undefined;
    if (this.inner.readyState === OPEN) return; // 'open' is queued; it wins the race
    this.timedOut = true;
    try {
      this.inner.close();
    } catch {
      // Some implementations throw when closing a CONNECTING socket; it is abandoned either way.
    }
    for (const l of [...this.listeners.error]) l({ type: 'error', message: 'open timeout' });
    for (const l of [...this.listeners.close]) l({ code: abnormal, reason: 'open timeout' });
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

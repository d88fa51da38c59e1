/**
 * A deadline for a WebSocket to open. An upgrade a proxy swallows leaves the socket in
 * CONNECTING for good (browsers give no timeout); this wrapper turns that into the
 * error + close every other failure before 'open' produces, so ChatClient's fallback
 * (under 'auto') or backoff (under 'websocket') applies unchanged.
 */
import type { CloseEventLike, MessageEventLike, WebSocketLike } from './socket';
import { CLOSED, OPEN, SocketListeners, type SocketEvents } from './socket';

/** Close code reported when the deadline passes: abnormal, no close frame, as for a refused upgrade. */
const abnormal = 1006;


/**
 * Wraps `inner`, which must still be CONNECTING. Behaves exactly like it, except that
 * when it is not open `timeoutMs` after construction it is closed and, from then on,
 * ignored: the wrapper reports CLOSED and fires 'error' then 'close' (1006, "open
 * timeout") once, and none of the inner socket's late events. The timer ends with
 * 'open', 'close' or `close()`, whichever comes first.
 */
export class OpenTimeoutSocket implements WebSocketLike {
  private readonly listeners = new SocketListeners();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timedOut = false;

  constructor(
    /** The wrapped socket (for diagnostics and tests that must reach the real one). */
    readonly inner: WebSocketLike,
    timeoutMs: number,
  ) {
    inner.addEventListener('open', (e) => {
      this.clearTimer();
      if (!this.timedOut) this.listeners.emit('open', e);
    });
    inner.addEventListener('message', (e) => {
      if (!this.timedOut) this.listeners.emit('message', e);
    });
    inner.addEventListener('close', (e) => {
      this.clearTimer();
      if (!this.timedOut) this.listeners.emit('close', e);
    });
    inner.addEventListener('error', (e) => {
      if (!this.timedOut) this.listeners.emit('error', e);
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
  addEventListener(type: keyof SocketEvents, listener: (event: never) => void): void {
    this.listeners.add(type, listener);
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
    this.listeners.emit('error', { type: 'error', message: 'open timeout' });
    this.listeners.emit('close', { code: abnormal, reason: 'open timeout' });
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

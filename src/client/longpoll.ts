/**
 * The long-poll carrier (spec: docs/protocol.md, "Long-poll"): the same frames as the
 * WebSocket, over `fetch`. It satisfies `WebSocketLike`, so ChatClient drives it exactly
 * like a socket; only the carrier differs. Browser-safe: fetch and AbortController only.
 */
import { globalFetch, type FetchLike } from './rest';
import type { CloseEventLike, MessageEventLike, WebSocketLike } from './socket';
import { CLOSED, CLOSING, CONNECTING, OPEN, SocketListeners, type SocketEvents } from './socket';

export interface LongPollOptions {
  /** Defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Quick re-polls (same cursor) after a poll failed on the network, before giving up with 1006. Default 2. */
  pollRetries?: number;
  /** Pause before re-poll n (1-based) is n times this. Default 250. */
  retryDelayMs?: number;
  /** A poll with no answer this long past the server's `poll_ms` counts as failed (a dead connection). Default 15000. */
  pollGraceMs?: number;
}

/** Largest send body built from queued frames (a single bigger frame still goes alone); far below the server's 16 × MAX_FRAME_BYTES. */
const maxBatchBytes = 64 * 1024;
/** `poll_ms` when the open answer names none. */
const defaultPollMs = 25_000;
/** Close code of an abnormal end (no close frame), as browsers report it. */
const abnormal = 1006;
/** The WebSocket close code for a frame over the limit; what a 413 on send amounts to. */
const tooLarge = 1009;


/** An HTTP answer, body read. */
interface Answer {
  status: number;
  text: string;
}

/** What a send or poll answer said about a session that has ended. */
interface ClosedInfo {
  code: number;
  reason: string;
}

/** The carrier gave up (network, unexpected status): becomes 'error' + 'close'. */
class CarrierError extends Error {
  constructor(
    message: string,
    readonly code: number = abnormal,
  ) {
    super(message);
  }
}

/**
 * One long-poll session: `POST /lp` opens it ('open'), one `GET poll` is outstanding at a
 * time and each frame of its answer becomes a 'message' whose `data` is the frame's JSON
 * text, `send` batches the frames written in one turn into one `POST send` (one request
 * in flight, order kept), `close()` DELETEs it.
 *
 * Failures: a poll that fails on the network, gets a 5xx or stays unanswered well past
 * `poll_ms` is retried with the same cursor (the server answers the same frames again, so
 * nothing is lost) `pollRetries` times, then the carrier closes with 1006. A send that
 * fails on the network is not retried: its request may have been processed (a second
 * CONNECT would be a protocol error), so the carrier closes with 1006 and ChatClient's
 * reconnect resends what still lacks an ACK, deduplicated by `client_msg_id`. 404 ends
 * with 1006; 410 and a poll's `closed` with the server's code; 413 with 1009. After the
 * 'close' event no request or timer of this carrier is left.
 */
export class LongPollSocket implements WebSocketLike {
  private state: number = CONNECTING;
  private readonly fetchImpl: FetchLike;
  private readonly lpUrl: string;
  private readonly pollRetries: number;
  private readonly retryDelayMs: number;
  private readonly pollGraceMs: number;
  private readonly listeners = new SocketListeners();
  private sid: string | null = null;
  private pollMs = defaultPollMs;
  private cursor = 0;
  private queue: string[] = [];
  private sending = false;
  /**
   * One controller per request in flight (all but the DELETE), aborted when the carrier
   * stops. Not one shared signal: fetch implementations add a listener to the signal per
   * request, which would pile up over a long session.
   */
  private readonly inflight = new Map<AbortController, ReturnType<typeof setTimeout> | undefined>();
  private stopped = false;
  /** The pending retry pause. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeRetry: (() => void) | null = null;

  /** `baseUrl` is the server origin (as ChatClient's `baseUrl`); the carrier uses `<baseUrl>/lp`. */
  constructor(baseUrl: string, opts: LongPollOptions = {}) {
    this.fetchImpl = opts.fetch ?? globalFetch();
    this.lpUrl = baseUrl.replace(/\/+$/, '') + '/lp';
    this.pollRetries = opts.pollRetries ?? 2;
    this.retryDelayMs = opts.retryDelayMs ?? 250;
    this.pollGraceMs = opts.pollGraceMs ?? 15_000;
    void this.run();
  }

  /** WebSocket numbers: 0 connecting, 1 open, 2 closing, 3 closed. */
  get readyState(): number {
    return this.state;
  }

  /** The server's session id, once open. */
  get sessionId(): string | null {
    return this.sid;
  }

  /** The poll cursor: every frame the server wrote up to this number has been delivered. */
  get deliveredCursor(): number {
    return this.cursor;
  }

  addEventListener(type: 'open', listener: (event: unknown) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (event: CloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: keyof SocketEvents, listener: (event: never) => void): void {
    this.listeners.add(type, listener);
  }

  /** Queues a frame; the frames sent in one turn go out in one request, in order. Throws while connecting, like a WebSocket. */
  send(data: string): void {
    if (this.state === CONNECTING) throw new Error('long-poll session is still connecting');
    if (this.state !== OPEN) return; // a closed WebSocket drops sends too
    this.queue.push(data);
    if (this.sending) return;
    this.sending = true;
    void Promise.resolve().then(() => this.flush());
  }

  /** Ends the session: DELETE (best effort), then 'close' with `code` (default 1000). */
  close(code = 1000, reason = ''): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    this.state = CLOSING;
    this.stopWork();
    const sid = this.sid;
    if (sid === null) {
      // POST /lp may still be in flight: `run` deletes the session if it answers anyway.
      queueMicrotask(() => this.finish(code, reason));
      return;
    }
    this.remove(sid).then(() => this.finish(code, reason));
  }

  // ---- the session's life ----

  /** Opens the session and polls until it ends. */
  private async run(): Promise<void> {
    let opened: { sid: string; pollMs: number };
    try {
      opened = await this.open();
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.state !== CONNECTING) {
      void this.remove(opened.sid); // closed while opening
      return;
    }
    this.sid = opened.sid;
    this.pollMs = opened.pollMs;
    this.state = OPEN;
    this.listeners.emit('open', {});
    try {
      await this.pollLoop();
    } catch (err) {
      this.fail(err);
    }
  }

  private async open(): Promise<{ sid: string; pollMs: number }> {
    const res = await this.request('POST', this.lpUrl);
    const body = parseJson(res.text);
    const sid = body?.sid;
    if (res.status !== 201 || typeof sid !== 'string') throw new CarrierError(`long-poll open answered ${res.status}`);
    const pollMs = typeof body?.poll_ms === 'number' && body.poll_ms > 0 ? body.poll_ms : defaultPollMs;
    return { sid, pollMs };
  }

  private async pollLoop(): Promise<void> {
    let failures = 0;
    while (this.state === OPEN) {
      let res: Answer;
      let body: Record<string, unknown> | null;
      try {
        // A poll unanswered well past poll_ms rides a dead connection (a half-open TCP).
        res = await this.request('GET', `${this.sessionUrl()}/poll?cursor=${this.cursor}`, undefined, {}, this.pollMs + this.pollGraceMs);
        body = parseJson(res.text);
        // A proxy's 5xx or a garbled answer is as transient as a network error.
        if (res.status >= 500) throw new Error(`poll answered ${res.status}`);
        if (res.status === 200 && (body === null || !Array.isArray(body.frames))) throw new Error('unreadable poll answer');
      } catch (err) {
        if (this.state !== OPEN) return;
        if (++failures > this.pollRetries) throw new CarrierError(`poll failed: ${messageOf(err)}`);
        await this.pause(failures * this.retryDelayMs);
        continue;
      }
      if (this.state !== OPEN) return;
      if (res.status !== 200) throw this.statusError('poll', res.status, body);
      failures = 0;
      const frames = body!.frames as unknown[];
      if (typeof body!.cursor === 'number') this.cursor = body!.cursor;
      for (const frame of frames) {
        this.listeners.emit('message', { data: JSON.stringify(frame) });
        if (this.state !== OPEN) return; // a listener closed the carrier
      }
      const closed = asClosed(body!.closed);
      if (closed) {
        this.end(closed.code, closed.reason);
        return;
      }
    }
  }

  /** Posts the queued frames, one request at a time, until the queue is empty. */
  private async flush(): Promise<void> {
    try {
      while (this.state === OPEN && this.queue.length > 0) {
        const batch = takeBatch(this.queue);
        let res: Answer;
        try {
          res = await this.request('POST', `${this.sessionUrl()}/send`, batch, { 'content-type': 'text/plain' });
        } catch (err) {
          if (this.state !== OPEN) return;
          throw new CarrierError(`send failed: ${messageOf(err)}`);
        }
        if (this.state !== OPEN) return;
        const body = parseJson(res.text);
        if (res.status === 413) throw new CarrierError('frames too large', tooLarge);
        if (res.status < 200 || res.status > 299) throw this.statusError('send', res.status, body);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.sending = false;
    }
  }

  /** 404: the session is gone (1006); 410: closed, with the code the server reported. */
  private statusError(what: string, status: number, body: Record<string, unknown> | null): CarrierError {
    const closed = status === 410 ? asClosed(body?.close) : null;
    if (closed) return new CarrierError(closed.reason, closed.code);
    return new CarrierError(status === 404 ? 'long-poll session gone' : `${what} answered ${status}`);
  }

  // ---- ending ----

  /** A failure while connecting or open: 'error', then 'close'. */
  private fail(err: unknown): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    const code = err instanceof CarrierError ? err.code : abnormal;
    // A 410 or poll `closed` is the server's orderly close, not an error.
    if (code === abnormal || code === tooLarge) this.listeners.emit('error', { error: err, message: messageOf(err) });
    this.end(code, messageOf(err));
  }

  /** The session ended without our close(): stop everything and report `code`. */
  private end(code: number, reason: string): void {
    if (this.state === CLOSING || this.state === CLOSED) return;
    this.state = CLOSING;
    this.stopWork();
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    this.listeners.emit('close', { code, reason });
  }

  /** Aborts requests in flight, clears timers, drops queued frames. */
  private stopWork(): void {
    this.queue = [];
    this.stopped = true;
    for (const [ctl, watchdog] of this.inflight) {
      clearTimeout(watchdog);
      ctl.abort();
    }
    this.inflight.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const wake = this.wakeRetry;
    this.wakeRetry = null;
    wake?.();
  }

  /** DELETE, never rejecting; not aborted by close(), bounded by the poll grace. */
  private remove(sid: string): Promise<void> {
    const ctl = newController();
    const bound = ctl ? setTimeout(() => ctl.abort(), this.pollGraceMs) : undefined;
    return this.fetchImpl(`${this.lpUrl}/${encodeURIComponent(sid)}`, withSignal({ method: 'DELETE', headers: {} }, ctl))
      .then((res) => res.text())
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => clearTimeout(bound));
  }

  // ---- helpers ----

  private sessionUrl(): string {
    return `${this.lpUrl}/${encodeURIComponent(this.sid ?? '')}`;
  }

  /** A request, body read, that stopWork() aborts; aborted after `timeoutMs` when given. */
  private async request(method: string, url: string, body?: string, headers: Record<string, string> = {}, timeoutMs?: number): Promise<Answer> {
    if (this.stopped) throw new Error('long-poll carrier stopped');
    const init: Parameters<FetchLike>[1] = { method, headers };
    if (body !== undefined) init.body = body;
    const ctl = newController();
    if (ctl) this.inflight.set(ctl, timeoutMs === undefined ? undefined : setTimeout(() => ctl.abort(), timeoutMs));
    try {
      const res = await this.fetchImpl(url, withSignal(init, ctl));
      // The body is read under the same controller, so close() also cuts a slow answer short.
      return { status: res.status, text: await res.text() };
    } finally {
      if (ctl) {
        clearTimeout(this.inflight.get(ctl));
        this.inflight.delete(ctl);
      }
    }
  }

  /** Waits `ms`, or less when the carrier stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeRetry = resolve;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.wakeRetry = null;
        resolve();
      }, ms);
    });
  }
}

/** Takes the frames of one send body off the front of `queue`: newline-separated, at most maxBatchBytes unless one frame alone is bigger. */
function takeBatch(queue: string[]): string {
  let n = 0;
  let size = 0;
  while (n < queue.length && (n === 0 || size + queue[n].length + 1 <= maxBatchBytes)) size += queue[n++].length + 1;
  return queue.splice(0, n).join('\n');
}

function newController(): AbortController | null {
  return typeof AbortController === 'function' ? new AbortController() : null;
}

function withSignal(init: Parameters<FetchLike>[1], ctl: AbortController | null): Parameters<FetchLike>[1] {
  return ctl ? { ...init, signal: ctl.signal } : init;
}

/** The body as a JSON object, or null when empty or not JSON (an error page from a proxy). */
function parseJson(text: string): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function asClosed(value: unknown): ClosedInfo | null {
  if (typeof value !== 'object' || value === null) return null;
  const { code, reason } = value as { code?: unknown; reason?: unknown };
  return typeof code === 'number' ? { code, reason: typeof reason === 'string' ? reason : '' } : null;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

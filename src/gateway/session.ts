/**
 * One client session over a carrier (a WebSocket, a long-poll queue or an MQTT connection). Kept small:
 * per-connection memory is a budget (the density target is ~10 KB per idle connection,
 * ws itself included), so a session holds plain fields, no closures and no timers of its own.
 */
import { CloseCode, blamesClient, type ClientFrame, type ErrorCode } from '../protocol';
import type { Caller } from '../intake';
import type { UserSettings } from '../store';
import type { WriteBatch } from './batch';

/**
 * What a session needs of the thing that carries its frames. ws's WebSocket implements it
 * as is (no wrapper, so the WebSocket path costs no extra object per connection); the
 * long-poll queue (pollqueue.ts) implements it over HTTP.
 */
export interface Carrier {
  /** Bytes written but not yet taken by the peer; over the limit the session closes 4003. */
  readonly bufferedAmount: number;
  /**
   * Writes one text frame (`binary: false` even when given a Buffer). `ephemeral`: a frame
   * that is stale by the time a reconnect could resend it (TYPING, PRESENCE, PONG); MQTT
   * sends those at QoS 0, the other carriers ignore it.
   */
  send(data: string | Buffer, options: FrameOptions): void;
  /** Closes with a code the peer sees; the gateway's closed() follows asynchronously. */
  close(code: number, reason: string): void;
  /** Drops the connection at once (a dead peer); closed() follows asynchronously. */
  terminate(): void;
  /** Asks the peer to prove it is alive; the proof sets the session's `alive`. */
  ping(): void;
}

export type SessionState = 'connecting' | 'syncing' | 'open' | 'closed';

/** What a carrier is told about a frame (ws reads `binary` and ignores the rest). */
export interface FrameOptions {
  readonly binary: false;
  readonly ephemeral: boolean;
}

/** One object each, shared by every write: no allocation per frame. */
const lasting: FrameOptions = Object.freeze({ binary: false, ephemeral: false });
const ephemeral: FrameOptions = Object.freeze({ binary: false, ephemeral: true });

/** Where the listeners find the session of a socket (no per-connection closures). */
export const kSession = Symbol('session');

declare module 'ws' {
  interface WebSocket {
    [kSession]?: Session;
  }
}

/** The abuse limits of docs/protocol.md ("Close codes"): refusals within one window. */
const abuseWindowMs = 10_000;
const maxBadFrames = 20;
const maxRateLimited = 50;

/** A session is its own Caller for the intake: no object is built per frame. */
export class Session implements Caller {
  state: SessionState = 'connecting';
  userId = '';
  deviceId = '';
  /** The CONNECT token's generation and device: every frame checks they still count (auth state). */
  tokenGen = 0;
  tokenDevice: string | null = null;
  /** Set by any frame or pong; cleared by each heartbeat sweep. */
  alive = true;
  /** Frames published while CONNACK is being built, written right after it. */
  private held: { frame: string | Buffer; isEphemeral: boolean }[] | null = null;
  presenceSubs: string[] = [];
  /**
   * Frames that wait, handled in order once they may be: sent after CONNECT before its
   * CONNACK, or while the user's auth state is read again (`checking`).
   */
  deferred: ClientFrame[] | null = null;
  /** The user's auth state is being read again: frames wait for the verdict. */
  checking = false;
  deferredBytes = 0;
  /** True while this turn's writes are being gathered (see WriteBatch). */
  corked = false;
  private errors = 0;
  private rateErrors = 0;
  private windowStart = 0;

  constructor(
    readonly id: string,
    readonly carrier: Carrier,
    readonly openedAt: number,
    /** Shared per-user cache entry; replaced at CONNECT. */
    public settings: UserSettings | null,
    private readonly maxBuffered: number,
    private readonly batch: WriteBatch,
  ) {}

  get sessionId(): string {
    return this.id;
  }

  /** The setting cached at CONNECT (kept fresh by settings changes on the bus). */
  sendsReadReceipts(): boolean {
    return this.settings?.send_read_receipts ?? true;
  }

  /** True once closed by either side (a method, so narrowing across awaits does not lie). */
  isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Starts holding live frames until release(); used while the CONNACK is assembled. */
  hold(): void {
    this.held = [];
  }

  /**
   * Stops holding and forgets what was held: CONNECT failed, so what follows (its ERROR)
   * must reach the client, and frames for a user it did not become must not.
   */
  dropHeld(): void {
    this.held = null;
  }

  /** Writes `first` (the CONNACK), then the held frames in the order they were published. */
  release(first: string): void {
    const held = this.held;
    this.held = null;
    this.write(first);
    if (held) for (const h of held) this.write(h.frame, h.isEphemeral);
  }

  /**
   * Stops holding and drops what was held: the session is being refused (its token no
   * longer counts), so the ERROR that says why goes out and the held frames never do.
   */
  discardHeld(): void {
    this.held = null;
  }

  /**
   * Writes one frame. Text frames are sent as text even when given as a Buffer, which
   * lets fan-out encode a frame once and hand the same bytes to every socket.
   * `isEphemeral`: TYPING, PRESENCE and PONG (see Carrier.send).
   */
  write(frame: string | Buffer, isEphemeral = false): void {
    if (this.state === 'closed') return;
    if (this.held) {
      this.held.push({ frame, isEphemeral });
      return;
    }
    if (this.carrier.bufferedAmount > this.maxBuffered) {
      this.close(CloseCode.slowConsumer, 'slow consumer');
      return;
    }
    this.batch.hold(this);
    this.carrier.send(frame, isEphemeral ? ephemeral : lasting);
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.carrier.close(code, reason);
  }

  /**
   * Counts one refused frame by the code it was answered with; returns the close code when
   * the client is abusing the connection (too many refusals in a short window), else null.
   * Refusals that are the server's fault (blamesClient) count toward nothing.
   */
  countRefusal(code: ErrorCode, now: number): number | null {
    if (now - this.windowStart > abuseWindowMs) {
      this.windowStart = now;
      this.errors = 0;
      this.rateErrors = 0;
    }
    if (code === 'rate_limited') return ++this.rateErrors > maxRateLimited ? CloseCode.rateLimited : null;
    if (!blamesClient(code)) return null;
    return ++this.errors > maxBadFrames ? CloseCode.protocolError : null;
  }
}

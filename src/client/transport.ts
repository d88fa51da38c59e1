/**
 * Which carrier a ChatClient's next connection uses (the `transport` option). Pure
 * bookkeeping: ChatClient asks `choose()` before each attempt and reports what happened.
 */
import type { ChatTransport, ChatTransportOption } from './types';

/** Under 'auto', WebSocket is tried again after this many long-poll sessions (CONNACKs) since the fallback... */
export const retryWebSocketAfterConnects = 3;
/** ...or once this long has passed since the fallback, at the next connection attempt. */
export const retryWebSocketAfterMs = 5 * 60_000;

/**
 * 'websocket', 'longpoll' and 'mqtt' always answer themselves ('auto' never picks MQTT:
 * it needs a port or path of its own, so it is opt-in). 'auto' answers WebSocket until a
 * WebSocket fails before opening and the long-poll attempt that replaces it reaches
 * CONNACK; from then on reconnects use long-poll, until `retryWebSocketAfterConnects`
 * long-poll sessions or `retryWebSocketAfterMs` have passed, when WebSocket is tried once
 * more (and falls back again at once if it still fails). When the long-poll attempt fails
 * too, the server is likely down rather than WebSocket blocked, so the next attempt starts
 * with WebSocket again.
 */
export class TransportPolicy {
  /** When 'auto' settled on long-poll; null while WebSocket is preferred. */
  private longPollSince: number | null = null;
  private longPollConnects = 0;
  /** The current attempt is a long-poll fallback for a WebSocket that failed before opening. */
  private fellBack = false;

  constructor(
    readonly mode: ChatTransportOption,
    private readonly now: () => number = Date.now,
  ) {}

  /** The carrier for a new connection attempt. */
  choose(): ChatTransport {
    this.fellBack = false;
    if (this.mode !== 'auto') return this.mode;
    const since = this.longPollSince;
    if (since !== null && (this.longPollConnects >= retryWebSocketAfterConnects || this.now() - since >= retryWebSocketAfterMs)) {
      this.longPollSince = null;
    }
    return this.longPollSince === null ? 'websocket' : 'longpoll';
  }

  /** A WebSocket failed before 'open' (or could not be built): true when this attempt should go on over long-poll at once. */
  webSocketFailed(): boolean {
    if (this.mode !== 'auto') return false;
    this.fellBack = true;
    return true;
  }

  /** A connection over `via` got its CONNACK. */
  connected(via: ChatTransport): void {
    if (this.mode !== 'auto') return;
    if (via === 'websocket') {
      this.longPollSince = null;
    } else if (this.fellBack) {
      this.longPollSince = this.now();
      this.longPollConnects = 0;
    } else if (this.longPollSince !== null) {
      this.longPollConnects++;
    }
    this.fellBack = false;
  }
}

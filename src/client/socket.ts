/**
 * The WebSocket surface the SDK needs. Browsers' `WebSocket` and the `ws` package's
 * `WebSocket` both satisfy it, so neither is imported: the app injects one.
 */

export interface MessageEventLike {
  readonly data: unknown;
}

export interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
}

/** The events of a WebSocketLike, by name. */
export interface SocketEvents {
  open: unknown;
  message: MessageEventLike;
  close: CloseEventLike;
  error: unknown;
}

/**
 * The listeners of a WebSocketLike the SDK implements itself (the long-poll carrier, the
 * open deadline's wrapper), with a WebSocket's dispatch rules.
 */
export class SocketListeners {
  private readonly byType: { [K in keyof SocketEvents]: ((event: SocketEvents[K]) => void)[] } = { open: [], message: [], close: [], error: [] };

  add(type: keyof SocketEvents, listener: (event: never) => void): void {
    (this.byType[type] as ((event: never) => void)[]).push(listener);
  }

  /** Calls every listener of `type`; as on a WebSocket, one that throws stops neither the others nor the carrier. */
  emit<K extends keyof SocketEvents>(type: K, event: SocketEvents[K]): void {
    for (const listener of [...this.byType[type]]) {
      try {
        listener(event);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }
}

/** An open or opening WebSocket. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: (event: unknown) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (event: CloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `ws`'s `WebSocket` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** WebSocket readyState numbers, the same in every implementation. */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

/** `http(s)://host/base` -> `ws(s)://host/base/ws`. */
export function wsUrlFor(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return base.replace(/^http(s?):\/\//i, (_m, s: string) => `ws${s}://`) + '/ws';
}

/** The default constructor: the global WebSocket, when the platform has one. */
export function defaultWebSocket(): WebSocketConstructor {
  const ctor = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!ctor) throw new Error('no global WebSocket: pass the `WebSocketImpl` option (e.g. the `ws` package)');
  return ctor;
}

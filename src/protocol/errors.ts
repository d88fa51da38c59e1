/**
 * The one table of protocol error codes and close codes (docs/protocol.md).
 * Every module reports failures as a ProtocolError; the gateway turns it into an ERROR
 * frame and the REST layer into an HTTP status with a JSON body.
 */

/** Error codes carried by ERROR frames and REST error bodies. */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'too_large'
  | 'rate_limited'
  | 'conflict'
  | 'unavailable'
  | 'internal';

/** WebSocket close codes the server uses; clients act on them (see docs/protocol.md). */
export const CloseCode = {
  /** Normal closure requested by either side. */
  normal: 1000,
  /** Frame larger than the configured limit. */
  tooLarge: 1009,
  /** Shard restarting or rebalancing: reconnect at once. */
  restarting: 1012,
  /**
   * The shard cannot open sessions now (its store or another engine it needs is down):
   * reconnect after the ERROR's `retry_after_ms`, with growing, jittered backoff.
   */
  tryAgainLater: 1013,
  /** Bad, expired or revoked token: do not reconnect with the same token. */
  unauthorized: 4001,
  /** First frame not CONNECT, no CONNECT in time, or repeated malformed frames. */
  protocolError: 4002,
  /** The client reads slower than the server writes; its buffer overflowed. */
  slowConsumer: 4003,
  /** Repeatedly over the rate limit. */
  rateLimited: 4008,
  /** The same device opened another MQTT connection: MQTT requires the older one to go. */
  takenOver: 4009,
} as const;

/** HTTP status for each error code, used by the REST layer. */
export const httpStatus: Readonly<Record<ErrorCode, number>> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  too_large: 413,
  rate_limited: 429,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

/**
 * Whether an error code answers something the client did wrong. Only these count toward
 * the bad-frame limit that closes a session (4002): `unavailable` and `internal` are the
 * server's failures, and counting them would turn a store outage into disconnects of every
 * client that keeps working normally. `rate_limited` has a limit of its own (4008).
 */
export function blamesClient(code: ErrorCode): boolean {
  switch (code) {
    case 'bad_request':
    case 'unauthorized':
    case 'forbidden':
    case 'not_found':
    case 'too_large':
    case 'conflict':
      return true;
    case 'rate_limited':
    case 'unavailable':
    case 'internal':
      return false;
  }
}

/** A failure with a stable code, safe to show to the client that caused it. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /**
     * For `rate_limited` and `unavailable`: when trying again may succeed (ms); REST sends
     * it as Retry-After and `retry_after_ms`, an ERROR frame as `retry_after_ms`.
     */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

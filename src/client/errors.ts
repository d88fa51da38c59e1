/** Errors the SDK surfaces. Each carries the server's stable code (docs/protocol.md). */
import { httpStatus, type ErrorCode } from '../protocol/errors';

/** A REST call failed: `status` is the HTTP status (0 when the request never got an answer). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** For `rate_limited`: how long to wait before trying again (ms), when the server said. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server answered a frame with ERROR; `ref` is the `client_msg_id` it answers, or null. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly ref: string | null,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

/** A pending operation was abandoned because `ChatClient.close()` was called. */
export class ClientClosedError extends Error {
  constructor(message = 'client closed') {
    super(message);
    this.name = 'ClientClosedError';
  }
}

const codeByStatus = new Map<number, ErrorCode>(
  (Object.entries(httpStatus) as [ErrorCode, number][]).map(([code, status]) => [status, code]),
);

/** The error code for an HTTP status when the body names none. */
export function codeForStatus(status: number): ErrorCode {
  const code = codeByStatus.get(status);
  if (code) return code;
  if (status >= 500) return 'internal';
  return 'bad_request';
}

const errorCodes: ReadonlySet<string> = new Set(Object.keys(httpStatus));

/** True when `value` is one of the protocol's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && errorCodes.has(value);
}

/** The JSON of a response body; undefined when empty or not JSON. */
export function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Maps a failed response to an ApiError, trusting the body's code only when it is a known one. */
export function toApiError(status: number, json: unknown, text: string): ApiError {
  const error = typeof json === 'object' && json !== null ? (json as { error?: unknown }).error : undefined;
  if (typeof error === 'object' && error !== null) {
    const { code, message, retry_after_ms: retry } = error as { code?: unknown; message?: unknown; retry_after_ms?: unknown };
    return new ApiError(
      status,
      isErrorCode(code) ? code : codeForStatus(status),
      typeof message === 'string' ? message : `HTTP ${status}`,
      typeof retry === 'number' && Number.isFinite(retry) && retry >= 0 ? retry : null,
    );
  }
  return new ApiError(status, codeForStatus(status), text.slice(0, 200) || `HTTP ${status}`);
}

/** Errors the SDK surfaces. Each carries the server's stable code (DESIGN.md section 4). */
import { httpStatus, type ErrorCode } from '../protocol/errors';

/** A REST call failed: `status` is the HTTP status (0 when the request never got an answer). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
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

/**
 * Shared plumbing of the REST layer: request validation with compiled schemas, the
 * bearer-token guard, and the one error handler that turns every failure into a status
 * and a JSON body `{error: {code, message}}`.
 */
import type { NextFunction, Request, Response } from 'express';
import Ajv, { type ValidateFunction } from 'ajv';
import { ProtocolError, httpStatus, illFormedField, illFormedMessage } from '../protocol';
import type { Authenticator, TokenClaims } from '../auth';
import type { EngineFailures } from '../observability';

const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });

/** Compiles a body schema once; the returned function throws bad_request naming the field. */
export function validator<T>(schema: object): (value: unknown) => T {
  const validate: ValidateFunction<T> = ajv.compile<T>(schema);
  return (value: unknown): T => {
    if (validate(value)) return value;
    const err = validate.errors?.[0];
    const field = err?.instancePath.slice(1) || (err?.params.missingProperty as string | undefined) || 'body';
    const detail = err?.keyword === 'additionalProperties' ? `unknown field "${String(err.params.additionalProperty)}"` : `${field} ${err?.message ?? 'is invalid'}`;
    throw new ProtocolError('bad_request', detail);
  };
}

/**
 * Refuses a JSON body with a lone UTF-16 surrogate in any string or key (protocol/text.ts
 * says why), for every route at once: one written later cannot forget it. Path parameters
 * and query strings need no check: percent-decoding never yields a lone surrogate.
 */
export function wellFormedBody(req: Request, _res: Response, next: NextFunction): void {
  const field = illFormedField(req.body);
  if (field !== null) throw new ProtocolError('bad_request', `${field} ${illFormedMessage}`);
  next();
}

/** Parses an optional integer query parameter within [min, max]. */
export function intParam(value: unknown, name: string, def: number, min = 0, max: number = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined || value === '') return def;
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ProtocolError('bad_request', `${name} must be an integer between ${min} and ${max}`);
  }
  return Number(value);
}

/** The authenticated user of a request (set by requireAuth). */
export function userOf(res: Response): string {
  return res.locals.userId as string;
}

/** The verified claims of the request's token (set by requireAuth). */
export function claimsOf(res: Response): TokenClaims {
  return res.locals.claims as TokenClaims;
}

/**
 * The bearer-token guard: the token is genuine and still counts (the account exists and
 * was not deleted, the token was not signed out). Answered from the shard's auth cache,
 * so a request costs no store read while its user's entry is fresh.
 */
export function requireAuth(auth: Authenticator) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/.exec(header);
    if (!match) throw new ProtocolError('unauthorized', 'missing bearer token');
    const claims = await auth.authenticate(match[1]);
    res.locals.userId = claims.user_id;
    res.locals.claims = claims;
    next();
  };
}

/**
 * Express error handler: one mapping from failures to status codes and JSON bodies. Engine
 * failures become 503 `unavailable` with Retry-After (`failures` logs and counts them, and
 * anything else that is not a ProtocolError, answered 500 `internal`).
 */
export function errorHandler(failures: EngineFailures) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    let pe: ProtocolError;
    const e = err as { type?: string; status?: number };
    if (e?.type === 'entity.parse.failed') pe = new ProtocolError('bad_request', 'body is not valid JSON');
    else if (e?.type === 'entity.too.large') pe = new ProtocolError('too_large', 'body too large');
    else if (err instanceof ProtocolError) pe = err;
    else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) pe = new ProtocolError('bad_request', 'bad request');
    else pe = failures.refusal(err, 'rest');
    if (pe.retryAfterMs !== null) {
      // The header in whole seconds (RFC 9110), rounded up so a client waiting it is never early.
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(pe.retryAfterMs / 1000))));
      res.status(httpStatus[pe.code]).json({ error: { code: pe.code, message: pe.message, retry_after_ms: pe.retryAfterMs } });
      return;
    }
    res.status(httpStatus[pe.code]).json({ error: { code: pe.code, message: pe.message } });
  };
}

/**
 * Engine failures: the one place that decides what a failure of the store, the sequencer,
 * Redis... means for the client (docs/protocol.md, "Errors"), and that logs and counts it.
 *
 * Engines are wrapped once in the composition root (`guard`): every rejection of one of
 * their methods is classified there, where it is still known which engine and which call
 * failed. An outage (the engine says it cannot answer now: no host, timeout, busy,
 * disk full, connection closed) becomes `unavailable` with a retry hint; anything else is
 * a bug and becomes `internal`. Both are counted in `chat_engine_failures_total` and logged
 * at most once per engine and call every few seconds, so a 40 s outage under load writes
 * a few dozen lines, not one per request. Whatever reaches a session or a REST answer
 * without having passed a guard goes through `refusal` at that edge.
 */
import { ProtocolError } from '../protocol';
import type winston from 'winston';
import type { Counter } from 'prom-client';

/**
 * Thrown by an engine's own code when concurrent writers kept beating it (a seq range or a
 * claim kept changing under its retries): transient, like a timeout, so an outage of
 * every engine, not a bug.
 */
export class ContentionError extends Error {
  override name = 'ContentionError';
}

/** Whether an error means the engine cannot answer now (as opposed to a bug of ours). */
export type OutageTest = (err: unknown) => boolean;

/** The retry hint of `unavailable` answers caused by an engine outage. */
export const outageRetryAfterMs = 2000;

/** Least time between two log lines of the same engine call (the ones between are counted). */
const logEveryMs = 5000;

/** Most distinct log keys remembered; more (they are bounded by the engines' methods) are not throttled apart. */
const maxLogKeys = 1024;

interface LogSlot {
  last: number;
  suppressed: number;
}

export class EngineFailures {
  private readonly slots = new Map<string, LogSlot>();

  /** `isOutage` recognises an outage of any engine this process runs (for failures met at the edges). */
  constructor(
    private readonly logger: winston.Logger,
    /** `chat_engine_failures_total{engine, op, code}`. */
    private readonly counter: Counter<'engine' | 'op' | 'code'>,
    private readonly isOutage: OutageTest,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The same engine, with every method's failure (a rejected promise or a throw) replaced
   * by the ProtocolError it means. ProtocolErrors an engine throws on purpose (conflict,
   * not_found...) pass unchanged. `isOutage` is the engine's own test.
   */
  guard<T extends object>(engine: T, name: string, isOutage: OutageTest): T {
    // Keyed by the function, not its name: an engine (or a test's wrapper) may hand out another function for the same name.
    const wrapped = new WeakMap<object, unknown>();
    const fail = (op: string, err: unknown): never => {
      throw this.classify(err, name, op, isOutage);
    };
    return new Proxy(engine, {
      get: (target, prop) => {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        const method = value as (...args: unknown[]) => unknown;
        let fn = wrapped.get(method);
        if (fn === undefined) {
          fn = (...args: unknown[]): unknown => {
            let result: unknown;
            try {
              result = method.apply(target, args);
            } catch (err) {
              return fail(prop, err);
            }
            return result instanceof Promise ? result.catch((err: unknown) => fail(prop, err)) : result;
          };
          wrapped.set(method, fn);
        }
        return fn;
      },
    });
  }

  /**
   * What a failure at an edge (a frame, CONNECT, a REST request, a peer's command) is
   * answered with: a ProtocolError as it is; an unguarded engine's outage as
   * `unavailable` (counted under engine "unknown"); anything else as `internal`, logged
   * and counted under engine "none", operation `where`.
   */
  refusal(err: unknown, where: string): ProtocolError {
    if (err instanceof ProtocolError) return err;
    if (this.isOutage(err)) return this.classify(err, 'unknown', where, this.isOutage);
    return this.classify(err, 'none', where, () => false);
  }

  /** Counts and logs one failure of `engine`'s `op` and answers the ProtocolError it means. */
  private classify(err: unknown, engine: string, op: string, isOutage: OutageTest): ProtocolError {
    if (err instanceof ProtocolError) return err;
    const outage = err instanceof ContentionError || isOutage(err);
    const code = outage ? 'unavailable' : 'internal';
    this.counter.inc({ engine, op, code });
    // Keyed by the answer too: a bug is never hidden behind the lines of an outage; and a
    // bug by where it was thrown, so a second, different bug at the same edge is logged too.
    this.log(outage ? `${engine}.${op}.${code}` : `${engine}.${op}.${code}.${bugSite(err)}`, outage, { engine, op, err });
    return outage ? new ProtocolError('unavailable', `${engine === 'unknown' ? 'a service' : `the ${engine}`} is unavailable; retry`, outageRetryAfterMs) : new ProtocolError('internal', 'internal error');
  }

  /** Logs the first failure of a key, then at most one line per `logEveryMs` with how many were not logged. */
  private log(key: string, outage: boolean, meta: Record<string, unknown>): void {
    const now = this.now();
    let slot = this.slots.get(key);
    if (slot !== undefined && now - slot.last < logEveryMs) {
      slot.suppressed++;
      return;
    }
    if (slot === undefined) {
      if (this.slots.size >= maxLogKeys) this.slots.clear();
      slot = { last: now, suppressed: 0 };
      this.slots.set(key, slot);
    }
    const suppressed = slot.suppressed;
    slot.last = now;
    slot.suppressed = 0;
    // An outage is the environment's (warn: it resolves itself); anything else is a bug.
    if (outage) this.logger.warn('engine unavailable', { ...meta, suppressed });
    else this.logger.error('engine call failed', { ...meta, suppressed });
  }
}

/** A bug's name and the first frame of its stack: what tells two bugs apart in the log throttle. */
function bugSite(err: unknown): string {
  if (!(err instanceof Error)) return typeof err;
  const frame = err.stack?.split('\n').find((line) => line.trimStart().startsWith('at ')) ?? '';
  return `${err.name}@${frame.trim()}`;
}

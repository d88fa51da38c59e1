/** Engine failures: what each engine's errors mean for the client, and how they are logged. */
import { Counter, Registry } from 'prom-client';
import { errors, types } from 'cassandra-driver';
import { ContentionError, EngineFailures, type Logger } from '../../src/observability';
import { isCassandraOutage } from '../../src/cassandra';
import { isS3Outage } from '../../src/blob';
import { isSqliteOutage } from '../../src/store/sqlite/db';
import { ProtocolError } from '../../src/protocol';

test("Cassandra: the driver's own outage errors are outages, its argument errors and our bugs are not", () => {
  // What the driver hands back for a socket closed under a write (not retried: writes are not idempotent).
  const DriverError = errors.DriverError as unknown as new (message: string) => Error;
  const closed = Object.assign(new DriverError('Socket was closed'), { isSocketError: true });
  expect(closed).toBeInstanceOf(errors.DriverError);
  expect(isCassandraOutage(closed)).toBe(true);
  expect(isCassandraOutage(new errors.NoHostAvailableError({}))).toBe(true);
  expect(isCassandraOutage(new errors.OperationTimedOutError('timed out', '127.0.0.1:9042'))).toBe(true);
  expect(isCassandraOutage(new errors.ResponseError(types.responseErrorCodes.overloaded, 'overloaded'))).toBe(true);
  expect(isCassandraOutage(new errors.ResponseError(types.responseErrorCodes.invalid, "Keyspace 'ks' does not exist"))).toBe(true);
  expect(isCassandraOutage(new errors.ResponseError(types.responseErrorCodes.syntaxError, 'line 1:0 no viable alternative'))).toBe(false);
  expect(isCassandraOutage(new errors.ArgumentError('wrong type'))).toBe(false);
  expect(isCassandraOutage(new TypeError('x is undefined'))).toBe(false);
});

test('SQLite: busy, full or I/O errors are outages; a damaged file is not (no retry mends it)', () => {
  expect(isSqliteOutage(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe(true);
  expect(isSqliteOutage(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }))).toBe(true);
  expect(isSqliteOutage(Object.assign(new Error('malformed'), { code: 'SQLITE_CORRUPT' }))).toBe(false);
  expect(isSqliteOutage(Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }))).toBe(false);
});

test('S3: slow down, unavailable and timeouts are outages; a denied or missing object is not', () => {
  expect(isS3Outage({ code: 'SlowDown' })).toBe(true);
  expect(isS3Outage({ code: 'ServiceUnavailable' })).toBe(true);
  expect(isS3Outage({ code: 'AccessDenied' })).toBe(false);
  expect(isS3Outage({ code: 'NoSuchKey' })).toBe(false);
});

function harness() {
  const lines: { level: string; msg: string; meta: Record<string, unknown> }[] = [];
  const logger = {
    warn: (msg: string, meta: Record<string, unknown>) => lines.push({ level: 'warn', msg, meta }),
    error: (msg: string, meta: Record<string, unknown>) => lines.push({ level: 'error', msg, meta }),
  } as unknown as Logger;
  const registry = new Registry();
  const counter = new Counter({ name: 'f', help: 'f', labelNames: ['engine', 'op', 'code'] as const, registers: [registry] });
  return { lines, registry, failures: new EngineFailures(logger, counter, () => false, () => 0) };
}

test('contention (a seq range kept changing under every retry) is transient for any engine: unavailable with a hint', async () => {
  const { failures, lines } = harness();
  const engine = failures.guard({ next: () => Promise.reject(new ContentionError('lost 10 races')) }, 'sequencer', () => false);
  const err = await engine.next().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProtocolError);
  expect(err).toMatchObject({ code: 'unavailable', retryAfterMs: expect.any(Number) });
  expect(lines[0]).toMatchObject({ level: 'warn', msg: 'engine unavailable' });
});

test('two different bugs at the same call are both logged, even within the throttle window; the same bug again is only counted', async () => {
  const { failures, lines, registry } = harness();
  const engine = failures.guard(
    {
      read: (n: number): Promise<number> => {
        if (n === 1) throw new TypeError('a');
        return Promise.reject(new RangeError('b'));
      },
    },
    'store',
    () => false,
  );
  // A synchronous throw stays synchronous through the guard (as the engine threw it).
  for (const n of [1, 2, 1, 2]) await Promise.resolve(n).then((m) => engine.read(m)).catch(() => undefined);
  expect(lines.map((l) => [l.level, (l.meta.err as Error).name])).toEqual([
    ['error', 'TypeError'],
    ['error', 'RangeError'],
  ]);
  expect(await registry.getSingleMetricAsString('f')).toContain('f{engine="store",op="read",code="internal"} 4');
});

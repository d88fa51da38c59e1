/**
 * The few driver calls the store uses, over one `Cassandra` connection: every statement
 * prepared, run at the connection's consistency (LWTs also at its serial consistency).
 */
import type { types } from 'cassandra-driver';
import type { Cassandra } from '../../cassandra';

/** A bound value: undefined is sent as "unset" (the column is not written, no tombstone). */
export type Param = string | number | boolean | null | undefined | readonly (string | number)[] | Record<string, string>;

export type Row = types.Row;

export interface Statement {
  query: string;
  params: readonly Param[];
}

/** Longest run of statements sent as one unlogged batch (they share one partition). */
const maxBatch = 64;

export class Cql {
  private readonly options: { prepare: true; consistency: number; serialConsistency: number };

  constructor(private readonly cassandra: Cassandra) {
    this.options = { prepare: true, consistency: cassandra.consistency, serialConsistency: cassandra.serialConsistency };
  }

  /** Every row of a query, following the driver's pages. */
  async rows(query: string, params: readonly Param[]): Promise<Row[]> {
    const out: Row[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.cassandra.client.execute(query, params as unknown[], { ...this.options, isIdempotent: true, pageState });
      out.push(...rs.rows);
      pageState = rs.pageState ?? undefined;
    } while (pageState !== undefined);
    return out;
  }

  /** Every row of a query a page at a time, each page handled before the next is fetched (a scan that must not hold the whole table). */
  async eachPage(query: string, params: readonly Param[], handle: (rows: Row[]) => Promise<void>): Promise<void> {
    let pageState: string | undefined;
    do {
      const rs = await this.cassandra.client.execute(query, params as unknown[], { ...this.options, isIdempotent: true, pageState });
      await handle(rs.rows);
      pageState = rs.pageState ?? undefined;
    } while (pageState !== undefined);
  }

  async first(query: string, params: readonly Param[]): Promise<Row | null> {
    const rs = await this.cassandra.client.execute(query, params as unknown[], { ...this.options, isIdempotent: true });
    return rs.first() ?? null;
  }

  /** A plain write. Every write the store issues sets absolute values, so retrying it is safe. */
  async run(query: string, params: readonly Param[]): Promise<void> {
    await this.cassandra.client.execute(query, params as unknown[], { ...this.options, isIdempotent: true });
  }

  /**
   * A lightweight transaction (`IF NOT EXISTS`, `IF EXISTS`, `IF col = ?`): whether it
   * applied and, when it did not, the row that stopped it.
   */
  async lwt(query: string, params: readonly Param[]): Promise<{ applied: boolean; row: Row }> {
    const rs = await this.cassandra.client.execute(query, params as unknown[], this.options);
    const row = rs.first();
    return { applied: row.get('[applied]') === true, row };
  }

  /** Statements of one partition as unlogged batches (no batchlog: one partition is atomic). */
  async batch(statements: readonly Statement[]): Promise<void> {
    const runs: Promise<unknown>[] = [];
    for (let i = 0; i < statements.length; i += maxBatch) {
      const chunk = statements.slice(i, i + maxBatch);
      runs.push(
        chunk.length === 1
          ? this.run(chunk[0].query, chunk[0].params)
          : this.cassandra.client.batch(
              chunk.map((s) => ({ query: s.query, params: s.params as unknown[] })),
              { ...this.options, logged: false, isIdempotent: true },
            ),
      );
    }
    await Promise.all(runs);
  }

  /** A logged batch: all statements apply eventually or none do (several partitions). */
  async atomic(statements: readonly Statement[]): Promise<void> {
    if (statements.length === 0) return;
    await this.cassandra.client.batch(
      statements.map((s) => ({ query: s.query, params: s.params as unknown[] })),
      { ...this.options, logged: true, isIdempotent: true },
    );
  }
}

// Column readers: the driver types row values as any; these pin them down.

/** A bigint/int/counter column as a number (the driver returns bigint as Long); null stays null. */
export function num(row: Row, column: string): number | null {
  const v: unknown = row.get(column);
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && 'toNumber' in v && typeof (v as { toNumber: unknown }).toNumber === 'function') {
    return (v as { toNumber(): number }).toNumber();
  }
  return Number(v);
}

export function str(row: Row, column: string): string | null {
  const v: unknown = row.get(column);
  return typeof v === 'string' ? v : null;
}

export function bool(row: Row, column: string): boolean {
  return row.get(column) === true;
}

/** A list or set column; Cassandra returns an empty collection as null. */
export function list(row: Row, column: string): string[] {
  const v: unknown = row.get(column);
  return Array.isArray(v) ? v.map(String) : [];
}

export function numList(row: Row, column: string): number[] {
  const v: unknown = row.get(column);
  return Array.isArray(v) ? v.map((x: unknown) => (typeof x === 'number' ? x : Number(String(x)))) : [];
}

export function textMap(row: Row, column: string): Record<string, string> {
  const v: unknown = row.get(column);
  if (v === null || typeof v !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (typeof val === 'string') out[k] = val;
  return out;
}

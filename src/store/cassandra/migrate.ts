/**
 * Columns added after a table first shipped. schema.cql's CREATE TABLE IF NOT EXISTS
 * leaves an existing keyspace's tables as they were, so each is added here when missing
 * (read from system_schema, which Cassandra and ScyllaDB both have; `ADD IF NOT EXISTS`
 * is Cassandra 5 only). Runs after schema.cql on every open.
 */
import type { Cassandra } from '../../cassandra';

const addedColumns: Record<string, [name: string, type: string][]> = {
  events: [
    ['attachment', 'text'],
    ['ready_attachments', 'map<text, text>'],
  ],
  blobs: [['claimed_at', 'bigint']],
  users: [
    ['deleted_at', 'bigint'],
    ['username_reserved_until', 'bigint'],
    ['token_gen', 'bigint'],
    ['valid_from_gen', 'bigint'],
    ['revoked_devices', 'map<text, bigint>'],
  ],
  push_registrations: [
    ['platform', 'text'],
    ['app_id', 'text'],
  ],
};

export async function addMissingColumns(cassandra: Cassandra): Promise<void> {
  const keyspace = cassandra.client.keyspace;
  if (keyspace === undefined) throw new Error('store: the Cassandra connection has no keyspace');
  for (const [table, wanted] of Object.entries(addedColumns)) {
    const rs = await cassandra.client.execute(
      'SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
      [keyspace, table],
      { prepare: true },
    );
    const present = new Set(rs.rows.map((r) => String(r.get('column_name'))));
    for (const [name, type] of wanted) {
      if (present.has(name)) continue;
      try {
        await cassandra.client.execute(`ALTER TABLE ${table} ADD ${name} ${type}`);
      } catch (err) {
        // Another shard opening at the same time added it first.
        if (!/conflicts with an existing column|already exists/i.test(String((err as Error).message))) throw err;
      }
    }
  }
}

/** Whether the keyspace has `table` yet (read before schema.cql creates what is missing). */
export async function hasTable(cassandra: Cassandra, table: string): Promise<boolean> {
  const keyspace = cassandra.client.keyspace;
  if (keyspace === undefined) throw new Error('store: the Cassandra connection has no keyspace');
  const rs = await cassandra.client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ? AND table_name = ?', [keyspace, table], {
    prepare: true,
  });
  return rs.rows.length > 0;
}

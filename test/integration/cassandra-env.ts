/**
 * Where the integration tests find Cassandra: CASSANDRA_CONTACT_POINTS (comma-separated
 * host:port, default 127.0.0.1:9042) and CASSANDRA_LOCAL_DC (or CASSANDRA_DC; default
 * datacenter1). Each test file uses a keyspace of its own and drops it when done.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'cassandra-driver';
import type { CassandraConfig } from '../../src/cassandra';

const contactPoints = (process.env.CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042').split(',').map((s) => s.trim()).filter((s) => s !== '');
const localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? process.env.CASSANDRA_DC ?? 'datacenter1';

/** A fresh keyspace name such as `it_store_3f9a1c2e`. */
export function randomKeyspace(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Test configuration for `keyspace`: RF 1, LOCAL_QUORUM reads and writes, LOCAL_SERIAL LWTs. */
export function cassandraConfig(keyspace: string): CassandraConfig {
  return { contactPoints, localDataCenter, keyspace, replicationFactor: 1, consistency: 'LOCAL_QUORUM', serialConsistency: 'LOCAL_SERIAL' };
}

/** Drops `keyspace` if it exists, on a connection of its own. */
export async function dropKeyspace(keyspace: string): Promise<void> {
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) throw new Error(`invalid keyspace name "${keyspace}"`);
  const client = new Client({ contactPoints, localDataCenter });
  try {
    await client.connect();
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  } finally {
    await client.shutdown();
  }
}

/**
 * Cassandra (or ScyllaDB) connection shared by the engines that live on it: the store and
 * the sequencer. One driver Client per process, keyspace created when missing, schema
 * applied from `.cql` files (every statement `IF NOT EXISTS`, so applying is idempotent).
 */
import fs from 'node:fs';
import { Client, types } from 'cassandra-driver';

export type ConsistencyName = 'ONE' | 'LOCAL_ONE' | 'QUORUM' | 'LOCAL_QUORUM' | 'ALL' | 'EACH_QUORUM';
export type SerialConsistencyName = 'SERIAL' | 'LOCAL_SERIAL';

export interface CassandraConfig {
  /** host:port of one or more nodes. */
  contactPoints: string[];
  /** Datacenter whose nodes serve this process (the driver's local DC). */
  localDataCenter: string;
  keyspace: string;
  /** Replication of a keyspace this process creates (an existing keyspace is left as is). */
  replicationFactor: number;
  /** Reads and writes; LOCAL_QUORUM with RF 3 survives one node down with read-your-writes. */
  consistency: ConsistencyName;
  /** Lightweight transactions (the sequencer). */
  serialConsistency: SerialConsistencyName;
}

/** The connected client and the consistency codes statements pass as query options. */
export interface Cassandra {
  client: Client;
  consistency: number;
  serialConsistency: number;
  close(): Promise<void>;
}

const consistencyCodes: Record<ConsistencyName | SerialConsistencyName, number> = {
  ONE: types.consistencies.one,
  LOCAL_ONE: types.consistencies.localOne,
  QUORUM: types.consistencies.quorum,
  LOCAL_QUORUM: types.consistencies.localQuorum,
  ALL: types.consistencies.all,
  EACH_QUORUM: types.consistencies.eachQuorum,
  SERIAL: types.consistencies.serial,
  LOCAL_SERIAL: types.consistencies.localSerial,
};

/** Connects, creates the keyspace when missing, and switches to it. */
export async function connectCassandra(cfg: CassandraConfig): Promise<Cassandra> {
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(cfg.keyspace)) throw new Error(`cassandra: invalid keyspace name "${cfg.keyspace}"`);
  const boot = new Client({ contactPoints: cfg.contactPoints, localDataCenter: cfg.localDataCenter });
  try {
    await boot.connect();
    await boot.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${cfg.keyspace}
       WITH replication = {'class': 'SimpleStrategy', 'replication_factor': ${Math.max(1, Math.floor(cfg.replicationFactor))}}`,
    );
  } finally {
    await boot.shutdown();
  }
  const client = new Client({
    contactPoints: cfg.contactPoints,
    localDataCenter: cfg.localDataCenter,
    keyspace: cfg.keyspace,
    queryOptions: {
      consistency: consistencyCodes[cfg.consistency],
      serialConsistency: consistencyCodes[cfg.serialConsistency],
      prepare: true,
    },
  });
  await client.connect();
  return {
    client,
    consistency: consistencyCodes[cfg.consistency],
    serialConsistency: consistencyCodes[cfg.serialConsistency],
    close: () => client.shutdown(),
  };
}

/**
 * Runs the statements of a `.cql` file in order (split on `;` at line ends; `--` comments
 * dropped). Schema changes wait for agreement between nodes before the next one.
 */
export async function applyCqlFile(client: Client, file: string): Promise<void> {
  const text = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n');
  for (const statement of text.split(/;\s*$/m).map((s) => s.trim()).filter((s) => s !== '')) {
    await client.execute(statement);
  }
}

/**
 * A `.cql` file of the calling module's folder, found next to the compiled JS or, when the
 * build did not copy it, in the source tree (dist/x -> src/x).
 */
export function cqlFile(dirname: string, name: string): string {
  const candidates = [`${dirname}/${name}`, dirname.replace(/([\\/])dist([\\/])/, '$1src$2') + `/${name}`];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`cassandra: ${name} not found (looked in ${candidates.join(', ')})`);
  return found;
}

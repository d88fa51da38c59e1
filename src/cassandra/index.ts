/**
 * Cassandra (or ScyllaDB) connection shared by the engines that live on it: the store and
 * the sequencer. One driver Client per process, keyspace created when missing, schema
 * applied from `.cql` files (every statement `IF NOT EXISTS`, so applying is idempotent).
 */
import fs from 'node:fs';
import { Client, errors, policies, types } from 'cassandra-driver';

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

/**
 * How quickly a shard notices Cassandra is back, and how quickly it notices a dead
 * connection. The driver's defaults (reconnection delays from 1 s doubling to 10 min, a
 * heartbeat every 30 s) kept shards failing for 25-30 s after a 40 s outage ended: the
 * next attempt was that far away. A node down for good then costs one connection attempt
 * every 2 s per shard, which is nothing; the jitter keeps shards from reconnecting in step.
 */
const recovery = {
  reconnectBaseMs: 100,
  reconnectMaxMs: 2000,
  /** An idle connection is checked this often: a silently dead one is found within it. */
  heartbeatMs: 5000,
  /** A node that does not accept a connection within this is tried again later. */
  connectTimeoutMs: 2000,
} as const;

function driverOptions(cfg: CassandraConfig) {
  return {
    contactPoints: cfg.contactPoints,
    localDataCenter: cfg.localDataCenter,
    policies: { reconnection: new policies.reconnection.ExponentialReconnectionPolicy(recovery.reconnectBaseMs, recovery.reconnectMaxMs, true) },
    pooling: { heartBeatInterval: recovery.heartbeatMs },
    socketOptions: { connectTimeout: recovery.connectTimeoutMs },
  };
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
  const boot = new Client(driverOptions(cfg));
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
    ...driverOptions(cfg),
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
 * Whether a driver error means Cassandra cannot answer now (an outage: retry later) rather
 * than a mistake of ours: no node reachable, a timeout, a node overloaded, bootstrapping or
 * short of replicas, a connection closed under a request, or the keyspace or a table
 * missing (dropped, or not yet created by an operator). Bad statements and arguments are bugs.
 */
export function isCassandraOutage(err: unknown): boolean {
  // First, whatever its class: a socket closing under a write comes back as a plain
  // DriverError('Socket was closed') marked isSocketError (writes are not retried by the
  // driver, as they are not idempotent by default).
  if ((err as { isSocketError?: unknown } | null)?.isSocketError === true) return true;
  if (!(err instanceof errors.DriverError)) return false;
  if (err instanceof errors.NoHostAvailableError || err instanceof errors.OperationTimedOutError || err instanceof errors.BusyConnectionError) return true;
  if (err instanceof errors.ResponseError) return outageResponses.has(err.code) || (err.code === types.responseErrorCodes.invalid && missingSchema.test(err.message));
  return false;
}

const outageResponses = new Set<number>([
  types.responseErrorCodes.serverError,
  types.responseErrorCodes.unavailableException,
  types.responseErrorCodes.overloaded,
  types.responseErrorCodes.isBootstrapping,
  types.responseErrorCodes.truncateError,
  types.responseErrorCodes.writeTimeout,
  types.responseErrorCodes.readTimeout,
  types.responseErrorCodes.readFailure,
  types.responseErrorCodes.writeFailure,
  types.responseErrorCodes.unprepared,
  types.responseErrorCodes.clientWriteFailure,
]);

/** Cassandra's words for a keyspace or table that is not there (code `invalid`, like a bad statement). */
const missingSchema = /keyspace .*does not exist|unconfigured table|table .*does not exist/i;

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

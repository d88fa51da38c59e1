/** The Cassandra store engine's door. */
export { CassandraStore, type CassandraStoreOptions } from './store';
export { bucketSize, bucketOf } from './rows';

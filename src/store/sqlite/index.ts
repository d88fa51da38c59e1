/** The SQLite store engine's door: the store (on this thread or with a writer thread) and the function that opens its database. */
export { SqliteStore } from './store';
export { ThreadedSqliteStore, type StoreWriter, type StoreWrites } from './threaded';
export { isSqliteOutage, openSqliteDatabase, type SqliteOpenOptions } from './db';
export { leaveCheckpointsToWorker, startCheckpointer, type Checkpointer } from './checkpoint';

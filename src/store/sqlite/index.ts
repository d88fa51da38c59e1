/** The SQLite store engine's door: the store and the function that opens its database. */
export { SqliteStore } from './store';
export { openSqliteDatabase, type SqliteOpenOptions } from './db';
export { leaveCheckpointsToWorker, startCheckpointer, type Checkpointer } from './checkpoint';

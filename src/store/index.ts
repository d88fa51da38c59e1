/**
 * Store module: durable state (users, conversations, members, the event log, read
 * markers, the inbox). Engines side by side: `sqlite/` (embedded default) and, later,
 * `cassandra/`. Both pass the same contract suite (test/store/contract.ts).
 *
 * Contract every engine keeps:
 * - appendEvents is the group commit: all items of one call become durable together or
 *   the call rejects; when it resolves, every `ok` item is readable by readEvents.
 * - (conv_id, sender_id, client_msg_id) is unique across the log: a second item with the
 *   same key is not written and answers `duplicate` with the original's seq, ts and kind
 *   (whatever the kind of the item that repeated the key).
 * - Read markers only move forward: saveMarkers never lowers a stored value.
 * - The store knows no other module; it never publishes or calls back.
 */
export * from './types';
export { checkSearchQuery, minSearchChars } from './search';
export {
  SqliteStore,
  ThreadedSqliteStore,
  isSqliteOutage,
  leaveCheckpointsToWorker,
  openSqliteDatabase,
  startCheckpointer,
  type Checkpointer,
  type StoreWriter,
  type StoreWrites,
} from './sqlite';
export { CassandraStore, type CassandraStoreOptions } from './cassandra';

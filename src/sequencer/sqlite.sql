-- The SQLite sequencer's one table. Runs on every construction, so it must be idempotent.
-- `next` is the first seq not yet handed out; it only changes by a conditional update
-- (UPDATE ... WHERE next = ?), the same fence Cassandra's LWT gives.
CREATE TABLE IF NOT EXISTS conv_seq (
  conv_id TEXT PRIMARY KEY,
  next    INTEGER NOT NULL
) WITHOUT ROWID;

-- Embedded store schema (docs/architecture.md, "Data model"). Runs on every open, so every statement
-- must be idempotent. Loaded by name from db.ts; the sequencer owns conv_seq in
-- src/sequencer/sqlite.sql.

CREATE TABLE IF NOT EXISTS users (
  user_id       TEXT PRIMARY KEY,
  -- Stored lowercased: the UNIQUE constraint is what makes usernames case-insensitive.
  username      TEXT NOT NULL UNIQUE,
  display_name  TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  -- JSON UserSettings; read back merged over the defaults so new keys need no migration.
  settings      TEXT NOT NULL,
  -- Account deletion: the row stays as a tombstone (the sender of kept messages); its
  -- username stays taken until username_reserved_until, then becomes '#' || user_id.
  deleted_at    INTEGER,
  username_reserved_until INTEGER,
  -- Token generations (AuthState): tokens carry token_gen; below valid_from_gen they are
  -- refused (signed out everywhere). revoked_devices: JSON {device_id: [gen, kept_until]}.
  token_gen       INTEGER NOT NULL DEFAULT 0,
  valid_from_gen  INTEGER NOT NULL DEFAULT 0,
  revoked_devices TEXT
) WITHOUT ROWID;

-- Finding people by name (src/store/search.ts): a live user's lowercased username, display
-- name and its words. A hint, checked against the users row on every read.
CREATE TABLE IF NOT EXISTS user_search (
  term    TEXT NOT NULL,
  user_id TEXT NOT NULL,
  PRIMARY KEY (term, user_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS conversations (
  conv_id      TEXT PRIMARY KEY,
  type         TEXT NOT NULL,
  title        TEXT,
  created_at   INTEGER NOT NULL,
  last_seq     INTEGER NOT NULL DEFAULT 0,
  member_count INTEGER NOT NULL DEFAULT 0,
  updated_at   INTEGER NOT NULL,
  preview      TEXT,
  -- The message the preview was taken from, so an edit or delete of it can refresh it.
  preview_seq  INTEGER,
  -- "a|b" with a < b for direct conversations: one direct conversation per pair.
  direct_key   TEXT UNIQUE
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS conv_members (
  conv_id            TEXT NOT NULL,
  user_id            TEXT NOT NULL,
  role               TEXT NOT NULL,
  joined_at          INTEGER NOT NULL,
  last_read_seq      INTEGER NOT NULL DEFAULT 0,
  last_delivered_seq INTEGER NOT NULL DEFAULT 0,
  -- ms since epoch; -1: until unmuted; NULL: not muted.
  muted_until        INTEGER,
  -- MARK_UNREAD sets it; the next READ (or a message the member sends) clears it.
  marked_unread      INTEGER NOT NULL DEFAULT 0,
  -- Last change of this member's view (join, read marker): drives inboxChangedSince.
  updated_at         INTEGER NOT NULL,
  PRIMARY KEY (conv_id, user_id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS conv_members_by_user ON conv_members (user_id);

-- The log. Message rows also carry their folded state (reactions, edited_at, deleted)
-- so history reads need no second pass over reactions and edits.
-- Clustered on (conv_id, seq) (WITHOUT ROWID): a replay or an unread count reads a few
-- neighbouring leaves instead of one table page per event. As a rowid table it appended
-- ~25% faster (bench S6, 29-33k vs 23-24k events/s), but writes run on the writer thread
-- and reads on the event loop, and the reconnect storm (S5) got ~25% cheaper per client.
CREATE TABLE IF NOT EXISTS events (
  conv_id       TEXT NOT NULL,
  seq           INTEGER NOT NULL,
  kind          TEXT NOT NULL,
  sender_id     TEXT NOT NULL,
  body          TEXT,
  reply_to      INTEGER,
  target_seq    INTEGER,
  emoji         TEXT,
  client_msg_id TEXT,
  attachments   TEXT,    -- JSON array; NULL means []
  mentions      TEXT,    -- JSON array; NULL means []
  user_ids      TEXT,    -- JSON array; NULL means []
  title         TEXT,
  created_at    INTEGER NOT NULL,
  reactions     TEXT,    -- JSON {user_id: emoji}; NULL means {}
  edited_at     INTEGER,
  deleted       INTEGER NOT NULL DEFAULT 0,
  -- Replies: the first message of the thread. On that first message, reply_count counts
  -- its live replies (kept by the appends, so history needs no count per row).
  thread_root   INTEGER,
  reply_count   INTEGER NOT NULL DEFAULT 0,
  -- JSON {url, title, description, image_url, site_name}: on a message row the preview
  -- folded in, on a link_preview event row that event's payload.
  link_preview  TEXT,
  -- JSON Attachment: on an attachment_ready event row its payload (NULL once its message
  -- is deleted). On a message row, ready_attachments holds those events' attachments by
  -- id (JSON {id: Attachment}), which history folds over `attachments`.
  attachment        TEXT,
  ready_attachments TEXT,
  PRIMARY KEY (conv_id, seq)
) WITHOUT ROWID;

-- The idempotency key of SEND/REACT/EDIT/DELETE.
CREATE UNIQUE INDEX IF NOT EXISTS events_dedup
  ON events (conv_id, sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;

-- A thread's replies in order; partial so messages that are not replies don't pay.
CREATE INDEX IF NOT EXISTS events_by_thread
  ON events (conv_id, thread_root, seq) WHERE thread_root IS NOT NULL;

-- Finds the edits (previews, reactions, attachment_ready events) of a message when it is deleted; partial so plain messages don't pay.
CREATE INDEX IF NOT EXISTS events_by_target
  ON events (conv_id, target_seq) WHERE target_seq IS NOT NULL;

-- Upload slots and attachments (AttachmentRecord). conv_id and seq are set by the group
-- commit that appends the message carrying the attachment, in the same transaction.
CREATE TABLE IF NOT EXISTS attachments (
  attachment_id   TEXT PRIMARY KEY,
  owner_id        TEXT NOT NULL,
  name            TEXT NOT NULL,
  declared_type   TEXT NOT NULL,
  declared_size   INTEGER NOT NULL,
  declared_sha256 TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  state           TEXT NOT NULL,   -- 'pending' | 'ready'
  sha256          TEXT,            -- ready: names the blob
  meta            TEXT,            -- ready: JSON Attachment
  conv_id         TEXT,            -- posted: the message carrying it
  seq             INTEGER
) WITHOUT ROWID;

-- The collector's question (never posted, oldest first); posted rows leave the index.
CREATE INDEX IF NOT EXISTS attachments_unposted ON attachments (created_at) WHERE conv_id IS NULL;

-- A message's attachments, removed with it when it is deleted.
CREATE INDEX IF NOT EXISTS attachments_by_message ON attachments (conv_id, seq) WHERE conv_id IS NOT NULL;

-- Stored blobs (content-addressed: one per sha256) and how many attachments use each.
-- unreferenced_since is when refs last reached 0 (kept, not cleared, while referenced, so
-- the next time it reaches 0 it can be made to differ: see BlobTable.unref).
CREATE TABLE IF NOT EXISTS blobs (
  sha256             TEXT PRIMARY KEY,
  refs               INTEGER NOT NULL,
  unreferenced_since INTEGER,
  -- 1 once a collector claimed it for deletion: refBlob waits until dropBlob removes the row.
  claimed            INTEGER NOT NULL DEFAULT 0,
  -- When it was claimed (ms): a claim older than the collector's lease is taken over by the
  -- next collector (its predecessor died before dropBlob). 0 for a claim taken before this
  -- column existed (added by db.ts), which is stale at once.
  claimed_at         INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The collector's question: at zero references, oldest first. Claimed rows stay in it (few,
-- and gone within a pass) so a stale claim is found again. It replaces blobs_unreferenced,
-- which left claimed rows out.
DROP INDEX IF EXISTS blobs_unreferenced;
CREATE INDEX IF NOT EXISTS blobs_at_zero ON blobs (unreferenced_since) WHERE refs = 0;

-- Push registrations (PushRegistration): one per device. target is the JSON of
-- pushTargetText (../common.ts), one string per target, so a conditional delete compares it.
CREATE TABLE IF NOT EXISTS push_registrations (
  user_id    TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  platform   TEXT NOT NULL DEFAULT 'web',
  app_id     TEXT NOT NULL DEFAULT '',
  target     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

-- Pushes that failed for good (PushDeadLetter), per user in time order; each add trims
-- the user's rows to the newest `keep`.
CREATE TABLE IF NOT EXISTS push_dead_letters (
  user_id   TEXT NOT NULL,
  failed_at INTEGER NOT NULL,
  letter_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  provider  TEXT NOT NULL,
  reason    TEXT NOT NULL,
  attempts  INTEGER NOT NULL,
  payload   TEXT NOT NULL,
  PRIMARY KEY (user_id, failed_at, letter_id)
) WITHOUT ROWID;

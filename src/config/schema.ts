/**
 * The configuration schema: every key, its type, its default and its meaning. The README's
 * configuration table is written from this file; keep the two in step.
 */

/** Configuration keys as they appear in the environment or the config file. */
export interface RawConfig {
  PORT: number;
  HOST: string;
  MQTT_PORT?: string;
  MQTT_MAX_KEEPALIVE_S: number;
  DATA_DIR: string;
  STORE: 'sqlite' | 'cassandra';
  BUS: 'memory' | 'redis';
  CASSANDRA_CONTACT_POINTS: string;
  CASSANDRA_LOCAL_DC: string;
  CASSANDRA_KEYSPACE: string;
  CASSANDRA_REPLICATION_FACTOR: number;
  CASSANDRA_CONSISTENCY: 'ONE' | 'LOCAL_ONE' | 'QUORUM' | 'LOCAL_QUORUM' | 'ALL' | 'EACH_QUORUM';
  CASSANDRA_SERIAL_CONSISTENCY: 'SERIAL' | 'LOCAL_SERIAL';
  REDIS_URL: string;
  REDIS_PREFIX: string;
  CLUSTER_ADVERTISE_URL?: string;
  CLUSTER_HEARTBEAT_MS: number;
  CLUSTER_SHARD_TTL_MS: number;
  CLUSTER_RETRY_MS: number;
  CLUSTER_TRANSPORT: 'links' | 'redis';
  JOBS_STALLED_MS: number;
  SHARD_ID?: string;
  JWT_SECRET?: string;
  TOKEN_TTL_SECONDS: number;
  AUTH_CACHE_TTL_MS: number;
  AUTH_RECHECK_MS: number;
  DELETED_USERNAME_RESERVE_DAYS: number;
  LOGIN_BACKOFF_FREE_ATTEMPTS: number;
  LOGIN_BACKOFF_MAX_SECONDS: number;
  LOG_LEVEL: 'error' | 'warn' | 'info' | 'debug';
  METRICS_TOKEN?: string;
  SQLITE_SYNC: 'full' | 'normal';
  SQLITE_WRITER: 'thread' | 'loop';
  HEARTBEAT_MS: number;
  CONNECT_TIMEOUT_MS: number;
  RATE_LIMIT_PER_SECOND: number;
  RATE_LIMIT_BURST: number;
  SESSION_OPEN_PER_SECOND: number;
  REGISTER_PER_SECOND: number;
  REGISTER_BURST: number;
  LOGIN_PER_SECOND: number;
  LOGIN_BURST: number;
  USER_SEARCH_PER_SECOND: number;
  USER_SEARCH_BURST: number;
  SESSION_OPEN_BURST: number;
  MAX_PENDING_SESSIONS: number;
  MAX_PENDING_PER_ADDRESS: number;
  TRUST_PROXY: string;
  MAX_SOCKET_BUFFER_BYTES: number;
  MARKER_FLUSH_MS: number;
  ACTOR_IDLE_MS: number;
  REPLAY_LIMIT: number;
  MAX_FRAME_BYTES: number;
  MAX_BODY_CHARS: number;
  MAX_ID_CHARS: number;
  MAX_GROUP_MEMBERS: number;
  MAX_PRESENCE_SUB: number;
  MAX_ATTACHMENTS: number;
  MAX_MENTIONS: number;
  MAX_EMOJI_CHARS: number;
  EDIT_WINDOW_MS: number;
  LINK_PREVIEWS: 'on' | 'off';
  LINK_PREVIEW_ALLOW: string;
  LINK_PREVIEW_TIMEOUT_MS: number;
  LINK_PREVIEW_MAX_BYTES: number;
  LINK_PREVIEW_MAX_REDIRECTS: number;
  BLOB: 'local' | 's3';
  PUBLIC_URL?: string;
  S3_ENDPOINT: string;
  S3_REGION: string;
  S3_BUCKET: string;
  S3_ACCESS_KEY?: string;
  S3_SECRET_KEY?: string;
  S3_PATH_STYLE: 'on' | 'off';
  ATTACH_TYPES: string;
  ATTACH_MAX_IMAGE_BYTES: number;
  ATTACH_MAX_FILE_BYTES: number;
  ATTACH_MAX_PIXELS: number;
  ATTACH_UPLOAD_TTL_SECONDS: number;
  ATTACH_URL_TTL_SECONDS: number;
  ATTACH_UNSENT_TTL_MS: number;
  ATTACH_GC_INTERVAL_MS: number;
  MEDIA_WORKERS: number;
  PUSH_VAPID_PUBLIC_KEY?: string;
  PUSH_VAPID_PRIVATE_KEY?: string;
  PUSH_VAPID_SUBJECT?: string;
  PUSH_FCM_SERVICE_ACCOUNT?: string;
  PUSH_ALLOW: string;
  PUSH_TIMEOUT_MS: number;
  PUSH_CA_FILE?: string;
}

/** What a messenger's users send: photos, video, voice notes, documents, archives. */
const defaultAttachTypes = [
  'image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/heic', 'image/heif', 'image/avif',
  'video/mp4', 'video/quicktime', 'video/webm',
  'audio/mpeg', 'audio/mp4', 'audio/ogg', 'audio/wav', 'audio/webm',
  'application/pdf', 'application/zip', 'text/plain', 'text/csv',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text', 'application/vnd.oasis.opendocument.spreadsheet',
].join(',');

const int = (def: number, minimum: number, maximum: number, description: string) =>
  ({ type: 'integer', default: def, minimum, maximum, description }) as const;

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    PORT: int(8080, 0, 65535, 'TCP port for HTTP, /ws and long-poll'),
    HOST: { type: 'string', default: '0.0.0.0', minLength: 1, description: 'address to listen on' },
    MQTT_PORT: {
      type: 'string',
      pattern: '^(off|[0-9]{1,5})$',
      description: 'TCP port for MQTT 3.1.1 and 5 (default 1883; 0 takes any free port and is the default when PORT is 0; off turns it off; MQTT over WebSocket at /mqtt on PORT follows it)',
    },
    MQTT_MAX_KEEPALIVE_S: int(300, 10, 65535, 'longest MQTT keep-alive honoured, in seconds: a client asking for none or more gets this, and is dropped after 1.5 times it of silence'),
    DATA_DIR: { type: 'string', default: './data', minLength: 1, description: 'embedded database, blobs, generated secrets' },
    STORE: { type: 'string', enum: ['sqlite', 'cassandra'], default: 'sqlite', description: 'durable store and sequencer engine' },
    BUS: { type: 'string', enum: ['memory', 'redis'], default: 'memory', description: 'ephemeral bus, presence and socket map engine' },
    CASSANDRA_CONTACT_POINTS: {
      type: 'string',
      default: '127.0.0.1:9042',
      minLength: 1,
      description: 'comma-separated host:port of Cassandra or ScyllaDB nodes (STORE=cassandra)',
    },
    CASSANDRA_LOCAL_DC: { type: 'string', default: 'datacenter1', minLength: 1, description: "the driver's local datacenter" },
    CASSANDRA_KEYSPACE: { type: 'string', default: 'relay', pattern: '^[a-z][a-z0-9_]{0,47}$', description: 'keyspace, created when missing' },
    CASSANDRA_REPLICATION_FACTOR: int(1, 1, 9, 'replication factor of a keyspace this server creates (3 in production)'),
    CASSANDRA_CONSISTENCY: {
      type: 'string',
      enum: ['ONE', 'LOCAL_ONE', 'QUORUM', 'LOCAL_QUORUM', 'ALL', 'EACH_QUORUM'],
      default: 'LOCAL_QUORUM',
      description: 'consistency of reads and writes',
    },
    CASSANDRA_SERIAL_CONSISTENCY: {
      type: 'string',
      enum: ['SERIAL', 'LOCAL_SERIAL'],
      default: 'LOCAL_SERIAL',
      description: 'consistency of lightweight transactions (seq reservations, dedup claims)',
    },
    REDIS_URL: { type: 'string', default: 'redis://127.0.0.1:6379', minLength: 1, description: 'Redis for BUS=redis' },
    REDIS_PREFIX: { type: 'string', default: 'relay:', maxLength: 64, description: 'prefix of every Redis key and channel' },
    CLUSTER_ADVERTISE_URL: {
      type: 'string',
      pattern: '^https?://',
      description: 'base URL other shards reach this one at for shard links (default http://127.0.0.1:PORT)',
    },
    CLUSTER_HEARTBEAT_MS: int(1000, 100, 60_000, 'how often a shard renews its membership and reads the ring'),
    CLUSTER_SHARD_TTL_MS: int(3000, 300, 600_000, 'a shard silent this long leaves the ring'),
    CLUSTER_RETRY_MS: int(10_000, 100, 120_000, 'how long a command is retried while its owner changes'),
    CLUSTER_TRANSPORT: {
      type: 'string',
      enum: ['links', 'redis'],
      default: 'links',
      description: 'how commands reach their owner shard: direct WebSocket links, or request/reply over Redis pub/sub',
    },
    JOBS_STALLED_MS: int(
      5000,
      500,
      600_000,
      'BUS=redis: a running job holds a lock this long (renewed every half); a job whose process died runs again elsewhere within about 1.5x this',
    ),
    SHARD_ID: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', description: "this shard's name on the ring (generated when unset)" },
    JWT_SECRET: { type: 'string', minLength: 32, description: 'token signing key (generated and kept in DATA_DIR when unset)' },
    TOKEN_TTL_SECONDS: int(30 * 24 * 3600, 60, 365 * 24 * 3600, 'lifetime of issued tokens'),
    AUTH_CACHE_TTL_MS: int(
      5000,
      0,
      300_000,
      "how long a shard trusts its copy of a user's sign-outs and deletion without reading the store again: for REST, CONNECT and frames the longest a revoked token keeps working when the bus lost the announcement (idle sessions: AUTH_RECHECK_MS)",
    ),
    // 5 min: the re-check only bounds an announcement the bus lost without the shard
    // noticing (an outage it notices clears the cache and closes every session), so idle
    // sessions may wait minutes, not seconds, for it; frames and REST keep the TTL. At every
    // 25 s heartbeat it was one store read per connected user per sweep (8 M reads/s at
    // docs/capacity.md's fleet; 0.67 M at 5 min).
    AUTH_RECHECK_MS: int(
      300_000,
      0,
      3_600_000,
      "how often the heartbeat reads a connected user's auth state again for sessions that send nothing (once per this, at a time fixed per user): a session whose sign-out or deletion announcement the bus lost ends within HEARTBEAT_MS + this (0, or up to HEARTBEAT_MS: every heartbeat reads every connected user)",
    ),
    DELETED_USERNAME_RESERVE_DAYS: int(
      30,
      0,
      3650,
      "how long a deleted account's username stays taken before anyone may register it (0: free at once); keeps others from impersonating the deleted user",
    ),
    LOGIN_BACKOFF_FREE_ATTEMPTS: int(5, 1, 100, 'password attempts for one account allowed back to back, from any address, before each further one waits 1 s, doubling'),
    LOGIN_BACKOFF_MAX_SECONDS: int(30, 1, 3600, "the longest wait between an account's password attempts (how long an attacker can keep its owner out at most)"),
    LOG_LEVEL: { type: 'string', enum: ['error', 'warn', 'info', 'debug'], default: 'info', description: 'winston log level' },
    METRICS_TOKEN: { type: 'string', minLength: 16, description: '/metrics answers only requests with Authorization: Bearer <this> (unset: /metrics is public)' },
    SQLITE_SYNC: { type: 'string', enum: ['full', 'normal'], default: 'full', description: 'SQLite synchronous mode: full survives power loss, normal only process crashes' },
    SQLITE_WRITER: {
      type: 'string',
      enum: ['thread', 'loop'],
      default: 'loop',
      description: 'where SQLite writes run: on the event loop (less CPU per message) or a writer thread (shorter latency tail)',
    },
    HEARTBEAT_MS: int(25_000, 1000, 600_000, 'server ping interval; a socket silent for two intervals is dropped'),
    CONNECT_TIMEOUT_MS: int(10_000, 100, 120_000, 'time allowed between opening a socket and CONNECT'),
    RATE_LIMIT_PER_SECOND: int(20, 1, 1_000_000, 'sustained writes (SEND, REACT, EDIT, DELETE, MUTE, MARK_UNREAD) per second per user'),
    RATE_LIMIT_BURST: int(60, 1, 1_000_000, 'sends allowed in a burst above the sustained rate'),
    REGISTER_PER_SECOND: int(5, 1, 1_000_000, 'registrations one client address may make per second, sustained'),
    REGISTER_BURST: int(20, 1, 1_000_000, 'registrations one client address may make at once'),
    LOGIN_PER_SECOND: int(5, 1, 1_000_000, 'logins (right or wrong) one client address may make per second, sustained; the per-account backoff applies too'),
    LOGIN_BURST: int(20, 1, 1_000_000, 'logins one client address may make at once'),
    USER_SEARCH_PER_SECOND: int(5, 1, 1_000_000, 'people searches (GET /users/search) one user may make per second, sustained'),
    USER_SEARCH_BURST: int(20, 1, 1_000_000, 'people searches one user may make at once (search as you type)'),
    SESSION_OPEN_PER_SECOND: int(20, 1, 1_000_000, 'sessions (WebSocket or long-poll) one client address may open per second, sustained'),
    SESSION_OPEN_BURST: int(100, 1, 1_000_000, 'sessions one client address may open at once'),
    MAX_PENDING_SESSIONS: int(10_000, 1, 1_000_000, 'sessions opened but without CONNECT yet, in all; more are refused with 429'),
    MAX_PENDING_PER_ADDRESS: int(100, 1, 1_000_000, 'sessions opened from one client address but without CONNECT yet'),
    TRUST_PROXY: {
      type: 'string',
      default: '',
      description: 'comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client (per-address limits); empty: the peer is the client',
    },
    MAX_SOCKET_BUFFER_BYTES: int(8 * 1024 * 1024, 65536, 1 << 30, 'bytes queued on one socket before it is closed with 4003'),
    MARKER_FLUSH_MS: int(500, 10, 60_000, 'read/delivered markers are coalesced and written this often'),
    ACTOR_IDLE_MS: int(5 * 60_000, 1000, 24 * 3600_000, 'a conversation actor idle this long is evicted'),
    REPLAY_LIMIT: int(200, 1, 100_000, 'events per conversation replayed in CONNACK before "more" is set'),
    MAX_FRAME_BYTES: int(64 * 1024, 1024, 16 * 1024 * 1024, 'largest accepted WebSocket frame'),
    MAX_BODY_CHARS: int(10_000, 1, 1_000_000, 'longest message body in characters'),
    MAX_ID_CHARS: int(64, 8, 256, 'longest client_msg_id, device_id and other ids'),
    MAX_GROUP_MEMBERS: int(250, 2, 10_000, 'most members in a group'),
    MAX_PRESENCE_SUB: int(256, 1, 10_000, 'most users in one PRESENCE_SUB'),
    MAX_ATTACHMENTS: int(10, 0, 100, 'most attachments in one message'),
    MAX_MENTIONS: int(50, 0, 1000, 'most mentions in one message'),
    MAX_EMOJI_CHARS: int(32, 1, 256, 'longest reaction emoji in UTF-16 units (always one grapheme cluster)'),
    EDIT_WINDOW_MS: int(15 * 60_000, 0, 365 * 24 * 3600_000, 'how long after sending its author may edit a message'),
    LINK_PREVIEWS: { type: 'string', enum: ['on', 'off'], default: 'on', description: 'fetch link previews for URLs in messages' },
    LINK_PREVIEW_ALLOW: {
      type: 'string',
      default: '',
      description: 'comma-separated CIDRs link previews may fetch from although private, loopback or link-local',
    },
    LINK_PREVIEW_TIMEOUT_MS: int(5000, 100, 60_000, 'time allowed for one link preview fetch, redirects included'),
    LINK_PREVIEW_MAX_BYTES: int(512 * 1024, 1024, 16 * 1024 * 1024, 'bytes of a page read for its preview'),
    LINK_PREVIEW_MAX_REDIRECTS: int(3, 0, 10, 'redirects followed for a link preview'),
    BLOB: {
      type: 'string',
      enum: ['local', 's3'],
      default: 'local',
      description: 'where attachment bytes live: files under DATA_DIR/blobs served by the shard, or an S3-compatible service',
    },
    PUBLIC_URL: {
      type: 'string',
      pattern: '^https?://[^/?#]+$',
      description: 'how clients reach this server (scheme and host, no path), for the URLs of BLOB=local (default http://HOST:PORT)',
    },
    S3_ENDPOINT: { type: 'string', default: 'http://127.0.0.1:9000', pattern: '^https?://', description: 'S3 endpoint for BLOB=s3 (scheme, host, port; no path)' },
    S3_REGION: { type: 'string', default: 'us-east-1', minLength: 1, description: 'S3 region' },
    S3_BUCKET: { type: 'string', default: 'relay-attachments', minLength: 3, maxLength: 63, description: 'S3 bucket (created when missing)' },
    S3_ACCESS_KEY: { type: 'string', minLength: 1, description: 'S3 access key (required with BLOB=s3)' },
    S3_SECRET_KEY: { type: 'string', minLength: 1, description: 'S3 secret key (required with BLOB=s3)' },
    S3_PATH_STYLE: { type: 'string', enum: ['on', 'off'], default: 'on', description: 'path-style S3 URLs (endpoint/bucket/key), as most self-hosted services need' },
    ATTACH_TYPES: {
      type: 'string',
      default: defaultAttachTypes,
      description: 'comma-separated content types attachments may have (checked against the sniffed bytes)',
    },
    ATTACH_MAX_IMAGE_BYTES: int(25 * 1024 * 1024, 1024, 1 << 30, 'largest image upload'),
    ATTACH_MAX_FILE_BYTES: int(50 * 1024 * 1024, 1024, 1 << 30, 'largest upload of any other kind (video, audio, file)'),
    ATTACH_MAX_PIXELS: int(40_000_000, 10_000, 1_000_000_000, 'images with more pixels are refused (decompression bombs)'),
    ATTACH_UPLOAD_TTL_SECONDS: int(300, 1, 24 * 3600, 'lifetime of an upload URL'),
    ATTACH_URL_TTL_SECONDS: int(3600, 10, 7 * 24 * 3600, 'lifetime of a download URL'),
    ATTACH_UNSENT_TTL_MS: int(24 * 3600_000, 1000, 30 * 24 * 3600_000, 'uploads never sent in a message are collected after this long'),
    ATTACH_GC_INTERVAL_MS: int(10 * 60_000, 100, 24 * 3600_000, 'how often unsent uploads and unreferenced blobs are collected'),
    MEDIA_WORKERS: int(0, 0, 64, 'image worker threads (0: one per core)'),
    PUSH_VAPID_PUBLIC_KEY: {
      type: 'string',
      pattern: '^[A-Za-z0-9_-]+={0,2}$',
      description: 'Web Push VAPID public key, base64url of the 65-byte P-256 point (with PUSH_VAPID_PRIVATE_KEY; generated and kept in DATA_DIR/vapid.json when both are unset; required with BUS=redis)',
    },
    PUSH_VAPID_PRIVATE_KEY: {
      type: 'string',
      pattern: '^[A-Za-z0-9_-]+={0,2}$',
      description: 'Web Push VAPID private key, base64url of the 32-byte P-256 scalar (with PUSH_VAPID_PUBLIC_KEY)',
    },
    PUSH_VAPID_SUBJECT: {
      type: 'string',
      pattern: '^(mailto:.+|https://.+)$',
      description: 'contact the push services see in VAPID tokens, mailto: or https: (default PUBLIC_URL when https, else mailto:push@localhost)',
    },
    PUSH_FCM_SERVICE_ACCOUNT: { type: 'string', minLength: 1, description: 'path of a Firebase service account JSON key file; FCM is off when unset' },
    PUSH_ALLOW: {
      type: 'string',
      default: '',
      description: 'comma-separated CIDRs push endpoints may resolve to although private, loopback or link-local',
    },
    PUSH_TIMEOUT_MS: int(10_000, 100, 120_000, 'time allowed for one push request (DNS, connect, answer); longer counts as a failure to retry'),
    PUSH_CA_FILE: { type: 'string', minLength: 1, description: 'PEM file of extra CA certificates push services may present (a self-hosted push service with a private CA)' },
  },
} as const;

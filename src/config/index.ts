/**
 * Configuration: read once at the edge (environment, optionally a JSON file named by
 * CONFIG_FILE), validated against one schema with defaults. Nothing else in the codebase
 * reads process.env; the composition root passes the resulting Config down.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import Ajv from 'ajv';
import type { Limits } from '../protocol';
import type { CassandraConfig } from '../cassandra';
import { schema, type RawConfig } from './schema';

/** Validated, typed configuration. */
export interface Config {
  port: number;
  host: string;
  /** The MQTT transport: its TCP port (0: any free port) and longest keep-alive; null when off. */
  mqtt: { port: number; maxKeepAliveS: number } | null;
  dataDir: string;
  store: 'sqlite' | 'cassandra';
  bus: 'memory' | 'redis';
  cassandra: CassandraConfig;
  redis: { url: string; prefix: string };
  /** Shard ring (BUS=redis): membership heartbeats, shard links, retries while the ring changes. */
  cluster: { advertiseUrl: string | null; heartbeatMs: number; shardTtlMs: number; retryMs: number };
  /** How commands reach their owner shard (BUS=redis): direct WebSocket links, or Redis request/reply. */
  clusterTransport: 'links' | 'redis';
  /** Background jobs; the engine follows `bus` (memory or Redis). */
  jobs: { stalledMs: number };
  shardId: string | null;
  /** null: generate one and keep it in dataDir. */
  jwtSecret: string | null;
  tokenTtlSeconds: number;
  /** A user's cached auth state is read again from the store once this old (REST, CONNECT, frames). */
  authCacheTtlMs: number;
  /** The heartbeat reads a connected user's auth state again once per this interval (sessions that send nothing). */
  authRecheckMs: number;
  /** How long a deleted account's username stays reserved. */
  usernameReserveMs: number;
  /** Per-account login backoff (src/ratelimit/login.ts). */
  loginBackoff: { freeAttempts: number; maxMs: number };
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Bearer token /metrics asks for; null: /metrics is public. */
  metricsToken: string | null;
  /** SQLite `synchronous`: "full" survives power loss, "normal" survives process crashes. */
  sqliteSync: 'full' | 'normal';
  /** Writes on the event loop (default) or on a writer thread; see README, Performance. */
  sqliteWriter: 'thread' | 'loop';
  heartbeatMs: number;
  connectTimeoutMs: number;
  /** Sustained sends per second per user, and the burst above it. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** Opening sessions (both transports): per client address, and those still without CONNECT. */
  admission: { openPerSecond: number; openBurst: number; maxPending: number; maxPendingPerAddress: number };
  /** Per client address: registrations, and logins (both token buckets). */
  addressLimits: { register: { perSecond: number; burst: number }; login: { perSecond: number; burst: number } };
  /** Per user: people searches (a token bucket). */
  searchLimit: { perSecond: number; burst: number };
  /** CIDRs of reverse proxies whose X-Forwarded-For is believed; empty: the peer is the client. */
  trustProxy: string[];
  /** Bytes queued on one socket before it is closed as a slow consumer. */
  maxSocketBufferBytes: number;
  markerFlushMs: number;
  actorIdleMs: number;
  /** Events returned per conversation in CONNACK before `more` is set. */
  replayLimit: number;
  limits: Limits;
  /** How long after sending its author may edit a message. */
  editWindowMs: number;
  linkPreviews: {
    enabled: boolean;
    /** CIDRs fetched from although private (tests, intranets). */
    allow: string[];
    timeoutMs: number;
    maxBytes: number;
    maxRedirects: number;
  };
  /** BLOB=local: a null publicUrl is the address the server listens on. */
  blob: { engine: 'local'; publicUrl: string | null } | { engine: 's3'; endpoint: string; region: string; bucket: string; accessKey: string; secretKey: string; pathStyle: boolean };
  attachments: {
    types: string[];
    maxImageBytes: number;
    maxFileBytes: number;
    maxPixels: number;
    uploadTtlSeconds: number;
    urlTtlSeconds: number;
    unsentTtlMs: number;
    gcIntervalMs: number;
  };
  /** Image worker threads; 0 means one per core. */
  mediaWorkers: number;
  /** Push providers (src/push/providers). */
  push: {
    /** CIDRs push endpoints may resolve to although private (tests, self-hosted push services). */
    allow: string[];
    /** Budget of one push request, DNS to answer. */
    timeoutMs: number;
    /** null: generate a pair on first start and keep it in dataDir (vapid.json). */
    vapidKeys: { publicKey: string; privateKey: string } | null;
    /** mailto: or https: contact put in VAPID tokens. */
    vapidSubject: string;
    /** Path of the FCM service account key file; null: FCM off. */
    fcmServiceAccount: string | null;
    /** PEM file of extra CAs to trust for push services; null: the system's only. */
    caFile: string | null;
  };
}

/** Thrown for an unknown or invalid key; the message names the key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Builds the Config from environment variables (strings) and an optional JSON file.
 * Environment wins over the file. Unknown keys in the file are errors; unknown
 * environment variables are ignored because the environment holds much else.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const raw: Record<string, unknown> = {};
  const file = env.CONFIG_FILE;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`CONFIG_FILE: cannot read ${file}: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError('CONFIG_FILE: must hold a JSON object');
    }
    for (const [key, value] of Object.entries(parsed)) {
      if (!(key in schema.properties)) throw new ConfigError(`${key}: unknown configuration key (in ${file})`);
      raw[key] = value;
    }
  }
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  return fromRaw(raw);
}

const ajv = new Ajv({ coerceTypes: true, useDefaults: true, allErrors: false, strict: true });
const validate = ajv.compile<RawConfig>(schema);

function fromRaw(raw: Record<string, unknown>): Config {
  if (!validate(raw)) {
    const err = validate.errors?.[0];
    const key = err?.instancePath.slice(1) || String(err?.params.additionalProperty ?? 'config');
    throw new ConfigError(`${key}: ${err?.message ?? 'invalid'} (got ${JSON.stringify(raw[key])})`);
  }
  const r = raw as RawConfig;
  // Shards of a cluster must accept each other's tokens and links: a secret generated per
  // data dir would differ on every shard.
  if (r.BUS === 'redis' && r.JWT_SECRET === undefined) {
    throw new ConfigError('JWT_SECRET: required with BUS=redis (every shard of a cluster must share it)');
  }
  // Browsers subscribe with the public key of the shard they asked, and the push is sent by
  // whichever shard owns the conversation: a pair generated per data dir would differ on
  // every shard, and push services refuse a push signed with another key than the
  // subscription's (the registration is then dropped as dead).
  if (r.BUS === 'redis' && r.PUSH_VAPID_PUBLIC_KEY === undefined && r.PUSH_VAPID_PRIVATE_KEY === undefined) {
    throw new ConfigError('PUSH_VAPID_PUBLIC_KEY: required with BUS=redis, with PUSH_VAPID_PRIVATE_KEY (every shard must sign Web Push with the same pair; `npx web-push generate-vapid-keys` makes one)');
  }
  if (r.BUS === 'redis' && r.CLUSTER_SHARD_TTL_MS <= r.CLUSTER_HEARTBEAT_MS) {
    throw new ConfigError('CLUSTER_SHARD_TTL_MS: must be longer than CLUSTER_HEARTBEAT_MS');
  }
  const vapidKeys = parseVapidKeys(r.PUSH_VAPID_PUBLIC_KEY, r.PUSH_VAPID_PRIVATE_KEY);
  if (r.BLOB === 's3' && (r.S3_ACCESS_KEY === undefined || r.S3_SECRET_KEY === undefined)) {
    throw new ConfigError('S3_ACCESS_KEY: S3_ACCESS_KEY and S3_SECRET_KEY are required with BLOB=s3');
  }
  return {
    port: r.PORT,
    host: r.HOST,
    mqtt: mqttConfig(r),
    dataDir: r.DATA_DIR,
    store: r.STORE,
    bus: r.BUS,
    cassandra: {
      contactPoints: r.CASSANDRA_CONTACT_POINTS.split(',').map((p) => p.trim()).filter((p) => p !== ''),
      localDataCenter: r.CASSANDRA_LOCAL_DC,
      keyspace: r.CASSANDRA_KEYSPACE,
      replicationFactor: r.CASSANDRA_REPLICATION_FACTOR,
      consistency: r.CASSANDRA_CONSISTENCY,
      serialConsistency: r.CASSANDRA_SERIAL_CONSISTENCY,
    },
    redis: { url: r.REDIS_URL, prefix: r.REDIS_PREFIX },
    cluster: {
      advertiseUrl: r.CLUSTER_ADVERTISE_URL ?? null,
      heartbeatMs: r.CLUSTER_HEARTBEAT_MS,
      shardTtlMs: r.CLUSTER_SHARD_TTL_MS,
      retryMs: r.CLUSTER_RETRY_MS,
    },
    clusterTransport: r.CLUSTER_TRANSPORT,
    jobs: { stalledMs: r.JOBS_STALLED_MS },
    shardId: r.SHARD_ID ?? null,
    jwtSecret: r.JWT_SECRET ?? null,
    tokenTtlSeconds: r.TOKEN_TTL_SECONDS,
    authCacheTtlMs: r.AUTH_CACHE_TTL_MS,
    authRecheckMs: r.AUTH_RECHECK_MS,
    usernameReserveMs: r.DELETED_USERNAME_RESERVE_DAYS * 24 * 3600_000,
    loginBackoff: { freeAttempts: r.LOGIN_BACKOFF_FREE_ATTEMPTS, maxMs: r.LOGIN_BACKOFF_MAX_SECONDS * 1000 },
    logLevel: r.LOG_LEVEL,
    metricsToken: r.METRICS_TOKEN ?? null,
    sqliteSync: r.SQLITE_SYNC,
    sqliteWriter: r.SQLITE_WRITER,
    heartbeatMs: r.HEARTBEAT_MS,
    connectTimeoutMs: r.CONNECT_TIMEOUT_MS,
    rateLimitPerSecond: r.RATE_LIMIT_PER_SECOND,
    rateLimitBurst: r.RATE_LIMIT_BURST,
    addressLimits: {
      register: { perSecond: r.REGISTER_PER_SECOND, burst: r.REGISTER_BURST },
      login: { perSecond: r.LOGIN_PER_SECOND, burst: r.LOGIN_BURST },
    },
    searchLimit: { perSecond: r.USER_SEARCH_PER_SECOND, burst: r.USER_SEARCH_BURST },
    admission: {
      openPerSecond: r.SESSION_OPEN_PER_SECOND,
      openBurst: r.SESSION_OPEN_BURST,
      maxPending: r.MAX_PENDING_SESSIONS,
      maxPendingPerAddress: r.MAX_PENDING_PER_ADDRESS,
    },
    trustProxy: parseCidrs('TRUST_PROXY', r.TRUST_PROXY),
    maxSocketBufferBytes: r.MAX_SOCKET_BUFFER_BYTES,
    markerFlushMs: r.MARKER_FLUSH_MS,
    actorIdleMs: r.ACTOR_IDLE_MS,
    replayLimit: r.REPLAY_LIMIT,
    limits: {
      maxFrameBytes: r.MAX_FRAME_BYTES,
      maxBodyChars: r.MAX_BODY_CHARS,
      maxIdChars: r.MAX_ID_CHARS,
      maxGroupMembers: r.MAX_GROUP_MEMBERS,
      maxPresenceSub: r.MAX_PRESENCE_SUB,
      maxAttachments: r.MAX_ATTACHMENTS,
      maxMentions: r.MAX_MENTIONS,
      maxEmojiChars: r.MAX_EMOJI_CHARS,
    },
    editWindowMs: r.EDIT_WINDOW_MS,
    linkPreviews: {
      enabled: r.LINK_PREVIEWS === 'on',
      allow: parseCidrs('LINK_PREVIEW_ALLOW', r.LINK_PREVIEW_ALLOW),
      timeoutMs: r.LINK_PREVIEW_TIMEOUT_MS,
      maxBytes: r.LINK_PREVIEW_MAX_BYTES,
      maxRedirects: r.LINK_PREVIEW_MAX_REDIRECTS,
    },
    blob:
      r.BLOB === 's3'
        ? {
            engine: 's3',
            endpoint: r.S3_ENDPOINT,
            region: r.S3_REGION,
            bucket: r.S3_BUCKET,
            accessKey: r.S3_ACCESS_KEY as string,
            secretKey: r.S3_SECRET_KEY as string,
            pathStyle: r.S3_PATH_STYLE === 'on',
          }
        : { engine: 'local', publicUrl: r.PUBLIC_URL ?? null },
    attachments: {
      types: r.ATTACH_TYPES.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== ''),
      maxImageBytes: r.ATTACH_MAX_IMAGE_BYTES,
      maxFileBytes: r.ATTACH_MAX_FILE_BYTES,
      maxPixels: r.ATTACH_MAX_PIXELS,
      uploadTtlSeconds: r.ATTACH_UPLOAD_TTL_SECONDS,
      urlTtlSeconds: r.ATTACH_URL_TTL_SECONDS,
      unsentTtlMs: r.ATTACH_UNSENT_TTL_MS,
      gcIntervalMs: r.ATTACH_GC_INTERVAL_MS,
    },
    mediaWorkers: r.MEDIA_WORKERS,
    push: {
      allow: parseCidrs('PUSH_ALLOW', r.PUSH_ALLOW),
      timeoutMs: r.PUSH_TIMEOUT_MS,
      vapidKeys,
      // Push services want a way to reach the sender; the public https address is one.
      vapidSubject: r.PUSH_VAPID_SUBJECT ?? (r.PUBLIC_URL?.startsWith('https://') ? r.PUBLIC_URL : 'mailto:push@localhost'),
      fcmServiceAccount: r.PUSH_FCM_SERVICE_ACCOUNT ?? null,
      caFile: r.PUSH_CA_FILE ?? null,
    },
  };
}

/** Both VAPID keys or neither; each the right length once base64url-decoded (P-256: 65-byte point, 32-byte scalar). */
function parseVapidKeys(publicKey: string | undefined, privateKey: string | undefined): Config['push']['vapidKeys'] {
  if (publicKey === undefined && privateKey === undefined) return null;
  if (publicKey === undefined) throw new ConfigError('PUSH_VAPID_PUBLIC_KEY: required with PUSH_VAPID_PRIVATE_KEY');
  if (privateKey === undefined) throw new ConfigError('PUSH_VAPID_PRIVATE_KEY: required with PUSH_VAPID_PUBLIC_KEY');
  const point = Buffer.from(publicKey, 'base64url');
  if (point.length !== 65 || point[0] !== 0x04) throw new ConfigError('PUSH_VAPID_PUBLIC_KEY: not the base64url of an uncompressed P-256 point (65 bytes)');
  if (Buffer.from(privateKey, 'base64url').length !== 32) throw new ConfigError('PUSH_VAPID_PRIVATE_KEY: not the base64url of a 32-byte P-256 private key');
  return { publicKey, privateKey };
}


/** "10.0.0.0/8, ::1/128" -> the CIDRs; an address without a prefix length is the one address. */
function parseCidrs(key: string, list: string): string[] {
  const out: string[] = [];
  for (const part of list.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const [address, bits, extra] = item.split('/');
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
      throw new ConfigError(`${key}: "${item}" is not an IP address or CIDR`);
    }
    out.push(`${address}/${prefix}`);
  }
  return out;
}

/** MQTT_PORT: a port (0 any), `off`, or by default 1883, or any free port when PORT is 0 (tests, several servers on one machine). */
function mqttConfig(r: RawConfig): Config['mqtt'] {
  const raw = r.MQTT_PORT ?? (r.PORT === 0 ? '0' : '1883');
  if (raw === 'off') return null;
  const port = Number(raw);
  if (port > 65535) throw new ConfigError('MQTT_PORT: a port from 0 to 65535, or off');
  if (port !== 0 && port === r.PORT) {
    throw new ConfigError(`MQTT_PORT: ${port} is PORT too${r.MQTT_PORT === undefined ? ' (1883 is MQTT_PORT\'s default)' : ''}: set MQTT_PORT to another port, or off (MQTT over WebSocket is served on PORT at /mqtt)`);
  }
  return { port, maxKeepAliveS: r.MQTT_MAX_KEEPALIVE_S };
}

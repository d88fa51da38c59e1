/**
 * The Redis driver (ioredis), behind the few functions that open and close connections.
 * The only file that imports ioredis: each module declares, beside its code, an interface
 * listing the Redis calls it makes (as bullmq's IRedisClient lists "only the Redis commands
 * that BullMQ actually uses") and asks for a connection of that type here. Changing driver
 * means changing this file, and the compiler then names every call the new one lacks.
 */
import { Redis } from 'ioredis';

/** What closing a connection needs; every connection a module opens here has it. */
export interface RedisConnection {
  /** 'ready' while commands can be sent. */
  readonly status: string;
  /** Drops the socket at once; pending commands fail. */
  disconnect(): void;
  /** QUIT: replies still pending arrive first. */
  quit(): Promise<unknown>;
}

/**
 * Checks that ioredis's client has every call of C with compatible types. Empty when it
 * has; otherwise an argument no caller can give, so asking for a C does not compile (tsc:
 * "Arguments for the rest parameter 'driverLacksACallOfTheInterface' were not provided").
 * To see which call does not fit, assign a `Redis` to a variable of type C.
 */
type DriverFits<C> = [Redis] extends [C] ? [] : [never];

/** A publishing and a subscribed connection, each typed as the caller's interface. */
export interface PubSubPair<Pub, Sub> {
  pub: Pub;
  sub: Sub;
}

/**
 * Opens a pub/sub pair named `<name>:pub` and `<name>:sub` in CLIENT LIST; resolves once
 * both are ready, and closes both if either fails. The publisher fails commands while
 * disconnected (no offline queue, at most one retry), for callers that retry themselves or
 * have no use for a late message. The subscriber keeps its commands and retries without limit, resubscribing every channel
 * after a reconnect, so a SUBSCRIBE made during an outage completes when Redis is back.
 */
export async function openPubSub<Pub extends RedisConnection = never, Sub extends RedisConnection = never>(
  url: string,
  name: string,
  ...driverLacksACallOfTheInterface: [...DriverFits<Pub>, ...DriverFits<Sub>]
): Promise<PubSubPair<Pub, Sub>> {
  const pub = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: `${name}:pub` });
  const sub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: null, autoResubscribe: true, connectionName: `${name}:sub` });
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (err) {
    pub.disconnect();
    sub.disconnect();
    throw err;
  }
  // Sound because DriverFits<Pub> and DriverFits<Sub> compiled.
  return { pub: pub as unknown as Pub, sub: sub as unknown as Sub };
}

/**
 * Opens a command connection named `name` in CLIENT LIST, with ioredis's defaults (commands
 * queue while disconnected and are retried); resolves once it is ready.
 */
export async function openRedis<C extends RedisConnection = never>(url: string, name: string, ...driverLacksACallOfTheInterface: DriverFits<C>): Promise<C> {
  const redis = new Redis(url, { connectionName: name, lazyConnect: true });
  await redis.connect();
  // Sound because DriverFits<C> compiled.
  return redis as unknown as C;
}

/** QUIT when connected (pending replies arrive first), otherwise just drop the socket. */
export async function quitRedis(conn: RedisConnection): Promise<void> {
  if (conn.status !== 'ready') {
    conn.disconnect();
    return;
  }
  try {
    await conn.quit();
  } catch {
    conn.disconnect();
  }
}

/**
 * Whether an ioredis error means Redis cannot answer now: the connection closed or not
 * writable (ioredis reports these as plain Errors with fixed messages), retries given up
 * (MaxRetriesPerRequestError, an AbortError), a network error, or a reply saying the
 * server cannot serve yet (LOADING, BUSY, MASTERDOWN, READONLY replica, OOM, TRYAGAIN,
 * CLUSTERDOWN). Other replies (WRONGTYPE, NOSCRIPT, ERR ...) are bugs of ours.
 */
export function isRedisOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'AbortError') return true;
  if (err.name === 'ReplyError') return /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|TRYAGAIN|CLUSTERDOWN)\b/.test(err.message);
  if (closedMessages.has(err.message)) return true;
  return isNetworkError(err);
}

/** The plain Errors ioredis rejects commands with when it has no usable connection. */
const closedMessages = new Set(['Connection is closed.', "Stream isn't writeable and enableOfflineQueue options is false", 'Connection timeout']);

/** A socket error of Node's (the peer refused, reset or cannot be reached): an outage of whatever was called. */
export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && networkCodes.has(code);
}

const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * CONNECT: authenticates the session, registers it (socket map, presence), and answers
 * with CONNACK carrying what the device missed and the inbox rows changed since its
 * cursor. Live frames published meanwhile are held and written right after the CONNACK.
 */
import { CloseCode, ProtocolError, encodeFrame, type ConnectFrame } from '../protocol';
import type { Store } from '../store';
import type { ConversationReads } from '../conversations';
import { tokenCounts, refusal, type AuthCache, type TokenClaims, type TokenService } from '../auth';
import type { Logger } from '../observability';
import type { Session } from './session';
import type { PresenceWatch } from './presence-watch';

/** Most inbox rows sent in a CONNACK; the rest are paged over REST. */
const connackInboxLimit = 500;

/** What frame handling needs of the gateway that holds the sessions. */
export interface SessionHost {
  /** The session sent CONNECT: the connect timeout no longer applies to it. */
  connecting(session: Session): void;
  /** The session is authenticated: frames for its user reach it from now on. */
  register(session: Session): void;
  /**
   * Answers with ERROR and, when the client is to blame, counts it toward the abuse limits
   * that close the session; a refused first frame closes it at once (4002). `err` is
   * anything thrown: the host maps it to the ERROR (engine failures to `unavailable`).
   */
  refuse(session: Session, err: unknown, ref: string | null): void;
  /** Answers with ERROR without counting it; returns the ProtocolError `err` was answered as. */
  sendError(session: Session, err: unknown, ref: string | null): ProtocolError;
  /** True once the shard stopped taking frames (shutdown). */
  isDraining(): boolean;
  /**
   * Whether the session's token still counts for its user's auth state: true, or false
   * once the session has been answered ERROR unauthorized and closed with 4001. A promise
   * when the cached state is older than the TTL (or gone): it is being read again, and the
   * promise resolves once the verdict was applied (the session closed if refused).
   */
  authorized(session: Session): boolean | Promise<void>;
}

export interface ConnectorOptions {
  tokens: TokenService;
  /** Users' auth state: the token must still count (account not deleted, not signed out). */
  authCache: AuthCache;
  store: Store;
  reads: ConversationReads;
  watch: PresenceWatch;
  replayLimit: number;
  heartbeatMs: number;
  logger: Logger;
}

/** Runs CONNECT for a session: one per gateway, stateless between sessions. */
export class Connector {
  constructor(
    private readonly host: SessionHost,
    private readonly opts: ConnectorOptions,
  ) {}

  async connect(session: Session, frame: ConnectFrame): Promise<void> {
    const { tokens, authCache, store, reads, watch, replayLimit, heartbeatMs, logger } = this.opts;
    this.host.connecting(session);
    let claims: TokenClaims;
    try {
      claims = tokens.verify(frame.token);
    } catch (err) {
      this.fail(session, err, CloseCode.unauthorized, 'unauthorized');
      return;
    }
    const userId = claims.user_id;
    session.state = 'syncing';
    session.hold();
    try {
      const [state, user] = await Promise.all([authCache.get(userId), store.getUser(userId)]);
      if (!user || user.deleted_at !== null || !tokenCounts(state, claims.gen, claims.device_id, frame.device_id)) {
        // A valid token for a user deleted or signed out since it was issued: as unauthorized as a bad token.
        this.fail(session, new ProtocolError('unauthorized', refusal(user === null ? null : state)), CloseCode.unauthorized, 'unauthorized');
        return;
      }
      if (session.isClosed()) return;
      session.userId = userId;
      session.deviceId = frame.device_id;
      session.tokenGen = claims.gen;
      session.tokenDevice = claims.device_id;
      session.settings = user.settings;
      // Register before reading the replay: anything committed from here on is either in
      // the replay or held and written after the CONNACK (the client drops duplicates).
      this.host.register(session);
      // A revocation announced while the state was read found this session unregistered;
      // the cache has it by now (the bus handler applies it before closing sessions).
      if (this.host.authorized(session) === false) return;
      await watch.sessionStarted(session);
      const [replay, inbox] = await Promise.all([
        reads.replay(userId, frame.sync?.convs ?? {}, replayLimit),
        reads.inboxSince(userId, frame.sync?.inbox_cursor, connackInboxLimit),
      ]);
      if (session.isClosed()) return;
      session.state = 'open';
      const connack = encodeFrame({
        type: 'CONNACK',
        session_id: session.id,
        user_id: userId,
        device_id: frame.device_id,
        server_ts: Date.now(),
        heartbeat_ms: heartbeatMs,
        missed: replay.events,
        more: replay.more,
        inbox: inbox.rows,
        inbox_cursor: inbox.cursor,
      });
      session.release(connack.text);
      // Checked first: winston drops a disabled level only after building and piping the
      // entry (~80 µs), which was 3% of a reconnect storm.
      if (logger.isDebugEnabled()) {
        logger.debug('session connected', { user_id: userId, device_id: frame.device_id, session_id: session.id });
      }
    } catch (err) {
      // The server's failure (an engine down, or a bug): logged and counted where it is
      // mapped. 1013, not 1012: reconnecting at once would only hammer the shards while
      // the store is down; the ERROR before the close says how long to wait.
      this.fail(session, err, CloseCode.tryAgainLater, 'try again later');
    }
  }

  /**
   * Every way CONNECT fails: the ERROR, then the close. Frames held for the CONNACK are
   * dropped first, or the ERROR would be held behind them and never written.
   */
  private fail(session: Session, err: unknown, code: number, reason: string): void {
    session.dropHeld();
    this.host.sendError(session, err, null);
    session.close(code, reason);
  }
}

/**
 * What the gateway does with each decoded client frame. Conversation commands go to the
 * router (which finds the owning actor); session-level frames are answered here.
 */
import {
  CloseCode,
  ProtocolError,
  toProtocolError,
  type ClientFrame,
  type ConnectFrame,
  type PresenceSubFrame,
  type SendFrame,
} from '../protocol';
import { presenceTopic } from '../bus';
import { visiblePresence, type VisiblePresence } from '../presence';
import type { UserSettings } from '../store';
import type { AckResult, DeleteCommand, EditCommand, ReactCommand, SendCommand } from '../conversations';
import type { Gateway } from './gateway';
import type { Session } from './session';

/** Most inbox rows sent in a CONNACK; the rest are paged over REST. */
const connackInboxLimit = 500;

export class FrameHandlers {
  constructor(private readonly gw: Gateway) {}

  handle(session: Session, frame: ClientFrame): void {
    if (session.state === 'connecting') {
      if (frame.type !== 'CONNECT') {
        session.close(CloseCode.protocolError, 'first frame must be CONNECT');
        return;
      }
      void this.connect(session, frame);
      return;
    }
    if (session.state !== 'open' && session.state !== 'syncing') return;
    const { router } = this.gw.opts;
    switch (frame.type) {
      case 'CONNECT':
        this.gw.refuse(session, new ProtocolError('bad_request', 'already connected'), null);
        return;
      case 'SEND':
        this.send(session, frame);
        return;
      case 'REACT':
        this.acked(session, frame.client_msg_id, frame.conv_id, {
          op: 'react',
          conv_id: frame.conv_id,
          user_id: session.userId,
          session_id: session.id,
          client_msg_id: frame.client_msg_id,
          target_seq: frame.target_seq,
          emoji: frame.emoji,
        });
        return;
      case 'EDIT':
        this.acked(session, frame.client_msg_id, frame.conv_id, {
          op: 'edit',
          conv_id: frame.conv_id,
          user_id: session.userId,
          session_id: session.id,
          client_msg_id: frame.client_msg_id,
          target_seq: frame.target_seq,
          body: frame.body,
        });
        return;
      case 'DELETE':
        this.acked(session, frame.client_msg_id, frame.conv_id, {
          op: 'delete',
          conv_id: frame.conv_id,
          user_id: session.userId,
          session_id: session.id,
          client_msg_id: frame.client_msg_id,
          target_seq: frame.target_seq,
        });
        return;
      case 'MUTE':
        // A store write per frame, so it spends from the same bucket as sends.
        if (!this.gw.opts.limiter.take(session.userId)) {
          this.gw.refuse(session, new ProtocolError('rate_limited', 'too many changes'), null);
          return;
        }
        // Answered by MUTE_SYNC to every session of the user, this one included.
        this.command(session, router.dispatch({ op: 'mute', conv_id: frame.conv_id, user_id: session.userId, until: frame.until }));
        return;
      case 'MARK_UNREAD':
        // Answered by READ_SYNC to every session of the user, this one included.
        this.command(session, router.dispatch({ op: 'mark_unread', conv_id: frame.conv_id, user_id: session.userId }));
        return;
      case 'DELIVERED':
        this.command(session, router.dispatch({ op: 'delivered', conv_id: frame.conv_id, user_id: session.userId, seq: frame.seq }));
        return;
      case 'READ':
        this.command(
          session,
          router.dispatch({
            op: 'read',
            conv_id: frame.conv_id,
            user_id: session.userId,
            seq: frame.seq,
            receipts: session.settings?.send_read_receipts ?? true,
          }),
        );
        return;
      case 'TYPING':
        this.command(session, router.dispatch({ op: 'typing', conv_id: frame.conv_id, user_id: session.userId, state: frame.state }));
        return;
      case 'PRESENCE_SUB':
        void this.presenceSub(session, frame);
        return;
      case 'PING':
        session.write(`{"type":"PONG","ts":${Date.now()}}`);
        return;
    }
  }

  private async connect(session: Session, frame: ConnectFrame): Promise<void> {
    const { tokens, store, presence, reads, gatewayId, replayLimit, heartbeatMs, obs } = this.gw.opts;
    this.gw.pending.delete(session);
    let userId: string;
    try {
      userId = tokens.verify(frame.token).user_id;
    } catch (err) {
      this.gw.sendError(session, toProtocolError(err), null);
      session.close(CloseCode.unauthorized, 'unauthorized');
      return;
    }
    session.state = 'syncing';
    session.hold();
    try {
      const user = await store.getUser(userId);
      if (!user) {
        this.gw.sendError(session, new ProtocolError('unauthorized', 'unknown user'), null);
        session.close(CloseCode.unauthorized, 'unauthorized');
        return;
      }
      if (session.isClosed()) return;
      session.userId = userId;
      session.deviceId = frame.device_id;
      session.settings = user.settings;
      // Register before reading the replay: anything committed from here on is either in
      // the replay or held and written after the CONNACK (the client drops duplicates).
      this.gw.register(session);
      const { becameOnline } = await presence.addSession(userId, gatewayId, session.id);
      if (becameOnline) this.announcePresence(userId, user.settings, 'online', Date.now());
      const [replay, inbox] = await Promise.all([
        reads.replay(userId, frame.sync?.convs ?? {}, replayLimit),
        reads.inboxSince(userId, frame.sync?.inbox_cursor, connackInboxLimit),
      ]);
      if (session.isClosed()) return;
      session.state = 'open';
      const connack = {
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
      };
      session.release(JSON.stringify(connack));
      // Checked first: winston drops a disabled level only after building and piping the
      // entry (~80 µs), which was 3% of a reconnect storm.
      if (obs.logger.isDebugEnabled()) {
        obs.logger.debug('session connected', { user_id: userId, device_id: frame.device_id, session_id: session.id });
      }
    } catch (err) {
      obs.logger.error('connect failed', { err });
      this.gw.sendError(session, toProtocolError(err), null);
      session.close(CloseCode.restarting, 'connect failed');
    }
  }

  private send(session: Session, frame: SendFrame): void {
    this.acked(session, frame.client_msg_id, frame.conv_id, {
      op: 'send',
      conv_id: frame.conv_id,
      user_id: session.userId,
      session_id: session.id,
      client_msg_id: frame.client_msg_id,
      body: frame.body,
      reply_to: frame.reply_to,
      attachments: frame.attachments,
      mentions: frame.mentions,
    });
  }

  /** SEND, REACT, EDIT, DELETE: rate-limited, answered by ACK once durable or by ERROR. */
  private acked(session: Session, clientMsgId: string, convId: string, cmd: SendCommand | ReactCommand | EditCommand | DeleteCommand): void {
    const { limiter, router, obs } = this.gw.opts;
    if (!limiter.take(session.userId)) {
      this.gw.refuse(session, new ProtocolError('rate_limited', 'sending too fast'), clientMsgId);
      return;
    }
    const started = process.hrtime.bigint();
    const result: Promise<AckResult> = router.dispatch(cmd);
    result.then(
      (ack) => {
        session.write(
          ack.duplicate
            ? JSON.stringify({ type: 'ACK', client_msg_id: clientMsgId, conv_id: convId, seq: ack.seq, ts: ack.ts, duplicate: true })
            : JSON.stringify({ type: 'ACK', client_msg_id: clientMsgId, conv_id: convId, seq: ack.seq, ts: ack.ts }),
        );
        obs.metrics.ackLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      },
      (err: unknown) => this.gw.refuse(session, toProtocolError(err), clientMsgId),
    );
  }

  /** Frames with no answer: only failures are reported. */
  private command(session: Session, result: Promise<unknown>): void {
    result.catch((err: unknown) => this.gw.refuse(session, toProtocolError(err), null));
  }

  private async presenceSub(session: Session, frame: PresenceSubFrame): Promise<void> {
    const { presence, store } = this.gw.opts;
    this.unsubscribePresence(session);
    const ids = [...new Set(frame.user_ids)];
    session.presenceSubs = ids;
    for (const id of ids) {
      let set = this.gw.presenceSubs.get(id);
      if (!set) this.gw.presenceSubs.set(id, (set = new Set()));
      set.add(session);
    }
    try {
      const [infos, users] = await Promise.all([presence.get(ids), store.getUsers(ids)]);
      const settings = new Map(users.map((u) => [u.user_id, u.settings]));
      const now = Date.now();
      for (const info of infos) {
        const s = settings.get(info.user_id);
        if (!s) continue; // unknown users get no PRESENCE
        session.write(presenceFrame(visiblePresence(info.user_id, info.online, info.last_seen, s, now)));
      }
    } catch (err) {
      this.gw.refuse(session, toProtocolError(err), null);
    }
  }

  unsubscribePresence(session: Session): void {
    for (const id of session.presenceSubs) {
      const set = this.gw.presenceSubs.get(id);
      if (!set) continue;
      set.delete(session);
      if (set.size === 0) this.gw.presenceSubs.delete(id);
    }
    session.presenceSubs = [];
  }

  /** A registered session closed: update presence and tell subscribers if the user went offline. */
  async sessionEnded(session: Session): Promise<void> {
    const { presence, gatewayId, obs } = this.gw.opts;
    try {
      const now = Date.now();
      const { becameOffline } = await presence.removeSession(session.userId, gatewayId, session.id, now);
      if (becameOffline && session.settings) this.announcePresence(session.userId, session.settings, 'offline', now);
    } catch (err) {
      obs.logger.error('presence update failed', { err });
    }
  }

  /** Publishes a user's presence change to every gateway's subscribers (also used by the heartbeat). */
  announcePresence(userId: string, settings: UserSettings, state: 'online' | 'offline', at: number): void {
    // A user who hides presence always appears offline: announce nothing.
    if (!settings.show_presence) return;
    const frame = presenceFrame(visiblePresence(userId, state === 'online', at, settings, at));
    this.gw.opts.bus.publish(presenceTopic, { t: 'presence', user_id: userId, state, frame });
  }
}

function presenceFrame(p: VisiblePresence): string {
  return JSON.stringify({ type: 'PRESENCE', ...p });
}

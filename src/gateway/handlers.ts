/**
 * What the gateway does with each decoded client frame. CONNECT authenticates and syncs
 * (connect.ts); conversation commands go through the intake, the same path REST takes;
 * PING and PRESENCE_SUB are answered here. Handlers see the gateway only through the
 * narrow SessionHost.
 */
import { ProtocolError, encodeFrame, type ClientFrame } from '../protocol';
import { isAckedFrame, isCommandFrame, type CommandFrame, type Intake } from '../intake';
import type { RateLimiter } from '../ratelimit';
import type { Session } from './session';
import type { PresenceWatch } from './presence-watch';
import { Connector, type SessionHost } from './connect';

/**
 * Budgets of the frames answered to the sending session alone, keyed by session id
 * (docs/protocol.md, "Budgets"); commands spend the per-user budgets in the intake.
 */
export interface SessionBudgets {
  ping: RateLimiter;
  /** Spent by the number of users named (at least 1). */
  presenceSub: RateLimiter;
}

/** Dispatches each decoded frame of a session by type; one per gateway. */
export class FrameHandlers {
  constructor(
    private readonly host: SessionHost,
    private readonly intake: Intake,
    private readonly watch: PresenceWatch,
    private readonly connector: Connector,
    private readonly budgets: SessionBudgets,
  ) {}

  /**
   * `size` is the frame's length in bytes (it bounds what may wait for a CONNACK).
   * `checked`: the frame waited for a verdict on the session's token that let it through
   * (asking again could wait again, forever with AUTH_CACHE_TTL_MS=0).
   */
  handle(session: Session, frame: ClientFrame, size = 0, checked = false): void {
    if (session.state === 'connecting') {
      if (frame.type !== 'CONNECT') {
        this.host.refuse(session, new ProtocolError('bad_request', 'first frame must be CONNECT'), refOf(frame));
        return;
      }
      void this.connector.connect(session, frame).then(() => this.handleDeferred(session));
      return;
    }
    if (session.state === 'syncing') {
      // Pipelined behind CONNECT (a client resending its outbox at once): the user is not
      // known yet, so the frame waits for the CONNACK and is handled right after it, in order.
      this.defer(session, frame, size, 'too many frames before CONNACK; wait for it');
      return;
    }
    if (session.state !== 'open') return;
    if (session.checking) {
      this.defer(session, frame, size, 'too many frames while the session is checked; wait');
      return;
    }
    // The token was checked at CONNECT; a sign-out or deletion since ends the session here
    // at the latest, whichever shard it was made on.
    const verdict = checked || this.host.authorized(session);
    if (verdict === false) return;
    if (verdict !== true) {
      // The user's state is read again (older than the TTL): this frame and the ones after
      // it wait for the verdict, in order, rather than pass on a state that may be stale.
      session.checking = true;
      this.defer(session, frame, size, 'too many frames while the session is checked; wait');
      void verdict.then(() => {
        session.checking = false;
        this.handleDeferred(session, true);
      });
      return;
    }
    if (isCommandFrame(frame)) {
      this.command(session, frame);
      return;
    }
    switch (frame.type) {
      case 'CONNECT':
        this.host.refuse(session, new ProtocolError('bad_request', 'already connected'), null);
        return;
      case 'PRESENCE_SUB':
        if (!this.budgets.presenceSub.take(session.id, Date.now(), Math.max(1, frame.user_ids.length))) {
          this.host.refuse(session, new ProtocolError('rate_limited', 'presence subscriptions too often; wait'), null);
          return;
        }
        this.watch.subscribe(session, frame.user_ids).catch((err: unknown) => this.host.refuse(session, err, null));
        return;
      case 'PING':
        if (!this.budgets.ping.take(session.id)) {
          this.host.refuse(session, new ProtocolError('rate_limited', 'pinging too often; wait'), null);
          return;
        }
        session.write(encodeFrame({ type: 'PONG', ts: Date.now() }).text, true);
        return;
    }
  }

  /** Keeps a frame for handleDeferred; beyond the bound it is refused (a client that does not wait). */
  private defer(session: Session, frame: ClientFrame, size: number, refusal: string): void {
    const deferred = (session.deferred ??= []);
    session.deferredBytes += size;
    if (deferred.length < maxDeferred && session.deferredBytes <= maxDeferredBytes) deferred.push(frame);
    else this.host.refuse(session, new ProtocolError('rate_limited', refusal), refOf(frame));
  }

  /** After CONNACK or a verdict, the frames that waited for it (no frame of this session was read in between). */
  private handleDeferred(session: Session, checked = false): void {
    const frames = session.deferred;
    session.deferred = null;
    session.deferredBytes = 0;
    if (frames === null || session.state !== 'open') return;
    for (const frame of frames) {
      // Stopping meanwhile: refused as frames arriving now are, so the client retries elsewhere.
      if (this.host.isDraining()) this.host.sendError(session, new ProtocolError('unavailable', 'shard restarting'), refOf(frame));
      else this.handle(session, frame, 0, checked);
    }
  }

  /**
   * SEND, REACT, EDIT and DELETE are answered by an ACK; MUTE and MARK_UNREAD by a sync
   * frame to every session of the user (this one included); the rest by nothing. Failures
   * are answered by ERROR, with the client_msg_id as ref when the frame has one; a refusal
   * before routing (rate limit) is answered at once, before the next frame is read.
   */
  private command(session: Session, frame: CommandFrame): void {
    const refuse = (err: unknown) => this.host.refuse(session, err, refOf(frame));
    try {
      if (isAckedFrame(frame)) this.intake.run(session, frame).then((ack) => session.write(encodeFrame(ack).text), refuse);
      else this.intake.run(session, frame).catch(refuse);
    } catch (err) {
      refuse(err);
    }
  }
}

/**
 * Frames (and bytes) a client may send before CONNACK arrives; more is not a client waiting
 * for it. The bytes bound what a slow sync holds per connection.
 */
const maxDeferred = 256;
const maxDeferredBytes = 256 * 1024;

function refOf(frame: ClientFrame): string | null {
  return 'client_msg_id' in frame ? frame.client_msg_id : null;
}

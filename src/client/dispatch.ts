/**
 * A ChatClient's incoming frames: each is parsed once and handed to the sync tracker, the
 * outbox, the typing expiry, the pinger or the app (as an event). CONNACK resumes the
 * session: it resends what must survive a reconnect and, when the server capped it
 * (`more`), catches up over REST. No state of its own beyond its dependencies.
 */
import type { ClientFrame, ConnackFrame, ServerFrame, SyncState } from '../protocol/frames';
import { CloseCode } from '../protocol/errors';
import { catchUp } from './catchup';
import type { Emit } from './emitter';
import { ApiError, ChatError } from './errors';
import type { PendingMarkers } from './markers';
import type { Outbox } from './outbox';
import type { Pinger } from './pinger';
import type { RestClient } from './rest';
import type { SyncTracker } from './sync';
import type { TypingExpiry } from './typing';
import type { ChatClientOptions, ChatEvents } from './types';

/** What frame handling needs of the connection a frame arrived on (Connection, in connection.ts). */
export interface Link {
  readonly generation: number;
  readonly pinger: Pinger;
  write(frame: ClientFrame): boolean;
  /** CONNACK arrived: the session is up. */
  established(userId: string): void;
  /** Drops the live connection and reconnects. */
  drop(reason: string): void;
  /** Closes with `code`/`reason` and handles it as closed with `reported`. */
  end(code: number, reason: string, reported: string): void;
  /** The server asked for at least `ms` before the next attempt (an ERROR's `retry_after_ms` before a 1013). */
  retryAfter(ms: number): void;
}

export interface DispatchDeps {
  /** Read at each use (`pingIntervalMs`, `syncPageLimit`), as the client always did. */
  opts: ChatClientOptions;
  rest: RestClient;
  sync: SyncTracker;
  outbox: Outbox;
  typingExpiry: TypingExpiry;
  markers: PendingMarkers;
  emit: Emit<ChatEvents>;
}

export class FrameDispatcher {
  constructor(private readonly deps: DispatchDeps) {}

  /** One text frame from `link`, whose generation is `gen` and whose CONNECT carried `sent`. */
  frame(text: string, link: Link, gen: number, sent: SyncState): void {
    const { sync, emit } = this.deps;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null) {
      emit('error', new ChatError('bad_request', 'server sent a frame that is not a JSON object', null));
      return;
    }
    // The server is trusted to send well-formed frames; only the shape above is checked.
    const frame = parsed as ServerFrame;
    switch (frame.type) {
      case 'CONNACK':
        this.connack(frame, link, gen, sent);
        break;
      case 'ACK':
        this.deps.outbox.ack(frame);
        break;
      case 'ERROR':
        // A session-level refusal's hint applies to the reconnect that follows its close.
        if (frame.ref == null && typeof frame.retry_after_ms === 'number') link.retryAfter(frame.retry_after_ms);
        this.error(new ChatError(frame.code, frame.message, frame.ref ?? null));
        break;
      case 'DELIVER': {
        const { type: _type, ...event } = frame;
        sync.offer(event);
        break;
      }
      case 'READ_SYNC': {
        const { conv_id, last_read_seq, unread, unread_mentions, marked_unread } = frame;
        sync.applyReadSync(conv_id, last_read_seq, unread);
        this.deps.markers.readSynced(conv_id, last_read_seq);
        emit('readSync', { conv_id, last_read_seq, unread, unread_mentions, marked_unread });
        break;
      }
      case 'MUTE_SYNC':
        emit('muteSync', { conv_id: frame.conv_id, muted_until: frame.muted_until });
        break;
      case 'RECEIPT':
        emit('receipt', { conv_id: frame.conv_id, user_id: frame.user_id, seq: frame.seq, kind: frame.kind });
        break;
      case 'TYPING':
        this.deps.typingExpiry.seen(frame.conv_id, frame.user_id, frame.state);
        emit('typing', { conv_id: frame.conv_id, user_id: frame.user_id, state: frame.state });
        break;
      case 'PRESENCE':
        emit('presence', { user_id: frame.user_id, state: frame.state, last_seen: frame.last_seen });
        break;
      case 'PONG':
        link.pinger.pong(frame.ts);
        break;
      default:
        // Frame types newer than this SDK are ignored, so servers can add them.
        break;
    }
  }

  private error(err: ChatError): void {
    if (err.ref !== null && this.deps.outbox.fail(err.ref, err)) return;
    this.deps.emit('error', err);
  }

  private connack(f: ConnackFrame, link: Link, gen: number, sent: SyncState): void {
    const { sync, emit } = this.deps;
    link.established(f.user_id);
    sync.userId = f.user_id;
    emit('connected', {
      session_id: f.session_id,
      user_id: f.user_id,
      device_id: f.device_id,
      server_ts: f.server_ts,
      heartbeat_ms: f.heartbeat_ms,
      more: f.more,
    });
    if (gen !== link.generation) return; // a listener closed or reconnected
    // Rows first: they set unread counts that already include the missed events.
    for (const row of f.inbox) {
      sync.applyInboxRow(row);
      emit('inbox', row);
    }
    for (const ev of f.missed) sync.apply(ev);
    sync.setInboxCursor(f.inbox_cursor);
    if (gen !== link.generation) return;
    // Resend what must survive a reconnect: unacked outbox frames, then the markers.
    for (const frame of this.deps.outbox.frames()) link.write(frame);
    this.deps.markers.flush(link);
    link.pinger.start(this.deps.opts.pingIntervalMs ?? 0);
    if (f.more) void this.catchUp(link, gen, Object.keys(sent.convs ?? {}));
    else emit('synced');
  }

  /** Pages the conversations CONNACK left out; `synced` once done, unless the connection died meanwhile. */
  private async catchUp(link: Link, gen: number, convIds: string[]): Promise<void> {
    const { rest, sync, opts, emit } = this.deps;
    try {
      await catchUp({ rest, sync, pageLimit: opts.syncPageLimit ?? 100 }, convIds, () => gen === link.generation);
    } catch (err) {
      if (gen !== link.generation) return;
      const error = err instanceof Error ? err : new Error(String(err));
      if (error instanceof ApiError && error.status === 401) {
        link.end(CloseCode.unauthorized, 'unauthorized', error.message);
        return;
      }
      // Nothing applied is lost; the next CONNECT resumes from the high-water seqs.
      emit('error', error);
      link.drop('catch-up failed');
      return;
    }
    if (gen === link.generation) emit('synced');
  }
}

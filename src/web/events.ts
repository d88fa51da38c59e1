/**
 * The ChatClient's events, wired to the store's parts: connection state for the status
 * line, conversation events and rows, read/mute sync, receipts, typing, presence, and the
 * outcome of frames restored from the last run. Listeners live as long as the client.
 */
import type { ChatClient, ChatStatus, ChatTransport, OutboxFrame } from '../client';
import type { Actions } from './actions';
import type { Applier } from './apply';
import type { Inbox } from './inbox';
import type { Loader } from './loading';
import type { Notify } from './notify';
import type { PresenceWatch } from './presence';
import type { ReadMarker } from './reading';
import type { Receipts } from './receipts';
import type { Typing } from './typing';
import type { UserDirectory } from './users';

/** The connection as the status line shows it. */
export interface ConnectionState {
  status: ChatStatus;
  transport: ChatTransport | null;
  /** A short message for the status line (e.g. a refused action). */
  notice: string | null;
}

export interface EventDeps {
  meId: string;
  conn: ConnectionState;
  inbox: Inbox;
  receipts: Receipts;
  typing: Typing;
  users: UserDirectory;
  presence: PresenceWatch;
  reads: ReadMarker;
  loader: Loader;
  apply: Applier;
  actions: Actions;
  notify: Notify;
  /** The SDK's unsent frames changed: they must be saved at once, not on the save timer. */
  outboxChanged: (frames: OutboxFrame[]) => void;
  /** The server refused the token. */
  signedOut: (reason: string) => void;
}

export function wireEvents(c: ChatClient, d: EventDeps): void {
  const { conn, notify } = d;
  c.on('connected', () => {
    conn.status = c.status;
    conn.transport = c.transport;
    conn.notice = null;
    notify.changed(false);
  });
  c.on('synced', () => {
    const open = d.reads.openConvId;
    if (open) {
      d.reads.markReadIfVisible(open);
      // RECEIPTs are live only: after a disconnect, the details' markers catch the open chat up.
      void d.loader.loadMembers(open);
    }
    notify.changed();
  });
  c.on('disconnected', () => {
    conn.status = c.status;
    d.typing.clear();
    notify.changed(false);
  });
  c.on('reconnecting', () => {
    conn.status = c.status;
    notify.changed(false);
  });
  c.on('unauthorized', (reason) => d.signedOut(signedOutMessage(reason)));
  // The unsent frames are written at once, not on the save timer: a reload right after a send keeps it.
  c.on('outbox', (frames) => d.outboxChanged(frames));
  c.on('restoredAck', (ack, frame) => d.actions.restoredAck(ack, frame));
  c.on('restoredError', (err, frame) => d.actions.restoredError(err, frame));
  c.on('inbox', (row) => d.apply.mergeRows([row]));
  c.on('event', (ev) => {
    if (!d.inbox.has(ev.conv_id)) d.loader.scheduleListRefresh();
    d.apply.fold(ev);
    notify.changed();
  });
  c.on('unread', (convId, count) => {
    const row = d.inbox.get(convId);
    if (row && row.unread !== count) {
      row.unread = count;
      notify.changed();
    }
  });
  c.on('readSync', (s) => d.apply.applyRead(s.conv_id, s));
  c.on('muteSync', (m) => d.apply.applyMute(m.conv_id, m.muted_until));
  c.on('receipt', (r) => {
    if (r.user_id === d.meId) return;
    d.receipts.applyReceipt(r);
    notify.changed();
  });
  c.on('typing', (t) => {
    if (t.user_id === d.meId) return;
    d.typing.seen(t.conv_id, t.user_id, t.state);
    d.users.request([t.user_id]);
    notify.changed(false);
  });
  c.on('presence', (p) => {
    d.presence.seen(p.user_id, p.state, p.last_seen);
    notify.changed(false);
  });
  c.on('error', (err) => {
    // Background failures (catch-up, a refused frame) are retried by the SDK; say so discreetly.
    conn.notice = err.message;
    notify.changed(false);
  });
}

/** What the sign-in screen says when the server ended the session: the server's words are for developers ("unauthorized"). */
export function signedOutMessage(reason: string): string {
  if (/deleted/i.test(reason)) return 'This account was deleted.';
  if (/signed out|revoked/i.test(reason)) return 'You were signed out of this device. Sign in again.';
  return 'Your session ended. Sign in again.';
}

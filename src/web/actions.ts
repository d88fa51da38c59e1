/**
 * What the user does to messages and conversations: send (a local echo at once, confirmed
 * by its ACK or marked failed), react, edit, unsend (folded in on their ACK), mark unread
 * and mute (over the socket, REST as the fallback). Also settles the frames a previous run
 * left unsent, exactly as if they were sent now.
 */
import { ChatError, MUTED_FOREVER, type Attachment, type ChatClient, type ConvEvent, type OutboxFrame, type RestClient, type SendResult } from '../client';
import { newSortableId } from '../protocol/ids';
import type { Applier } from './apply';
import type { Inbox } from './inbox';
import { localEcho, type MessageStore, type Msg } from './messages';
import type { Notify } from './notify';
import { messagePreview } from './preview';
import type { ReadMarker } from './reading';
import type { Typing } from './typing';

export interface ActionDeps {
  meId: string;
  client: Pick<ChatClient, 'send' | 'react' | 'edit' | 'deleteMessage' | 'markUnread' | 'mute'>;
  rest: Pick<RestClient, 'markUnread' | 'mute'>;
  inbox: Inbox;
  msgs: MessageStore;
  typing: Typing;
  reads: ReadMarker;
  apply: Applier;
  notify: Notify;
}

export class Actions {
  constructor(private readonly d: ActionDeps) {}

  /** Sends text and completed uploads (`attachments`, shown in the echo at once); the text may then be empty. */
  send(convId: string, body: string, replyTo: number | null, attachments: Attachment[] = []): void {
    const { d } = this;
    const text = body.trim();
    if (!text && !attachments.length) return;
    d.typing.stop(convId);
    const c = d.msgs.conv(convId);
    // Our own id, so the echo, its ACK and any DELIVER of it (other devices) share one key.
    const localId = newSortableId('m');
    const promise = d.client.send(convId, text, {
      client_msg_id: localId,
      ...(replyTo !== null ? { reply_to: replyTo } : {}),
      ...(attachments.length ? { attachments: attachments.map((a) => a.id) } : {}),
    });
    const echo = localEcho(localId, d.meId, text, replyTo, attachments);
    c.pending.set(localId, echo);
    d.inbox.touch(convId, { preview: messagePreview(text, attachments), sender_id: d.meId, msg_ts: echo.ts, updated_at: echo.ts });
    d.notify.changed();
    promise.then(
      (ack) => this.echoAcked(convId, echo, ack),
      (err: unknown) => this.echoFailed(echo, err),
    );
  }

  /** Drops a failed local echo. */
  discard(convId: string, m: Msg): void {
    if (m.client_msg_id) this.d.msgs.conv(convId).pending.delete(m.client_msg_id);
    this.d.notify.changed();
  }

  react(convId: string, seq: number, emoji: string): void {
    const { d } = this;
    const m = d.msgs.get(convId, seq);
    if (!m) return;
    const mine = m.reactions[d.meId];
    const next = mine === emoji ? null : emoji;
    // This session gets the ACK, not a DELIVER of its own event: fold it in on the ACK.
    d.client.react(convId, seq, next).then(
      (ack) => this.foldOwn({ conv_id: convId, seq: ack.seq, ts: ack.ts, sender_id: d.meId, kind: 'reaction', target_seq: seq, emoji: next }),
      (err) => d.notify.fail(err),
    );
  }

  edit(convId: string, seq: number, body: string): void {
    const { d } = this;
    const text = body.trim();
    if (!text) return;
    d.typing.stop(convId);
    d.client.edit(convId, seq, text).then(
      (ack) => this.foldOwn({ conv_id: convId, seq: ack.seq, ts: ack.ts, sender_id: d.meId, kind: 'edit', target_seq: seq, body: text }),
      (err) => d.notify.fail(err),
    );
  }

  unsend(convId: string, seq: number): void {
    const { d } = this;
    d.client.deleteMessage(convId, seq).then(
      (ack) => this.foldOwn({ conv_id: convId, seq: ack.seq, ts: ack.ts, sender_id: d.meId, kind: 'delete', target_seq: seq }),
      (err) => d.notify.fail(err),
    );
  }

  async markUnread(convId: string): Promise<void> {
    const { d } = this;
    d.reads.forget(convId);
    // The chat is left at once, not on the hashchange that follows: an event landing before
    // it would read the open chat and clear the mark just set.
    if (d.reads.openConvId === convId) d.reads.setOpen(null);
    try {
      await d.client.markUnread(convId);
    } catch {
      await d.rest.markUnread(convId).then((r) => d.apply.applyRead(convId, { marked_unread: r.marked_unread }), (err) => d.notify.fail(err));
    }
  }

  async setMuted(convId: string, muted: boolean): Promise<void> {
    const { d } = this;
    const until = muted ? MUTED_FOREVER : null;
    try {
      await d.client.mute(convId, until);
    } catch {
      await d.rest.mute(convId, until).then((m) => d.apply.applyMute(convId, m.muted_until), (err) => d.notify.fail(err));
    }
  }

  /**
   * The outcome of a frame the last run left unsent (restored from the saved outbox): a
   * SEND confirms or fails its restored echo exactly like a send of this run; a REACT,
   * EDIT or DELETE is folded in on its ACK, as when sent now.
   */
  restoredAck(ack: SendResult, frame: OutboxFrame): void {
    const { d } = this;
    const base = { conv_id: frame.conv_id, seq: ack.seq, ts: ack.ts, sender_id: d.meId };
    switch (frame.type) {
      case 'SEND': {
        // The echo may be gone already: its DELIVER (catch-up) or a history page replaced it.
        const echo = d.msgs.conv(frame.conv_id).pending.get(frame.client_msg_id) ?? localEcho(frame.client_msg_id, d.meId, frame.body, frame.reply_to ?? null);
        this.echoAcked(frame.conv_id, echo, ack);
        return;
      }
      case 'REACT':
        return this.foldOwn({ ...base, kind: 'reaction', target_seq: frame.target_seq, emoji: frame.emoji });
      case 'EDIT':
        return this.foldOwn({ ...base, kind: 'edit', target_seq: frame.target_seq, body: frame.body });
      case 'DELETE':
        return this.foldOwn({ ...base, kind: 'delete', target_seq: frame.target_seq });
    }
  }

  restoredError(err: ChatError, frame: OutboxFrame): void {
    const echo = frame.type === 'SEND' ? this.d.msgs.peek(frame.conv_id)?.pending.get(frame.client_msg_id) : undefined;
    if (echo) this.echoFailed(echo, err);
    else this.d.notify.fail(err);
  }

  /** A local echo's ACK: it becomes the confirmed message (unless its DELIVER came first). */
  private echoAcked(convId: string, echo: Msg, ack: SendResult): void {
    const { d } = this;
    d.msgs.confirm(convId, echo, ack.seq, ack.ts);
    // The echo's text is the preview again unless a newer message's came meanwhile.
    d.inbox.touch(convId, {
      preview: messagePreview(echo.body, echo.attachments),
      sender_id: d.meId,
      msg_ts: ack.ts,
      msg_seq: ack.seq,
      last_seq: ack.seq,
      updated_at: ack.ts,
    });
    // Sending is reading: nothing up to one's own message is unread.
    d.inbox.applyRead(convId, { last_read_seq: ack.seq });
    d.notify.changed();
  }

  private echoFailed(echo: Msg, err: unknown): void {
    echo.failed = err instanceof ChatError ? err.code : 'not sent';
    this.d.notify.changed();
  }

  /**
   * Applies this session's own acknowledged reaction, edit or delete to the model (the
   * SDK's sync state is not touched: the event may come back later, and folding is
   * idempotent).
   */
  private foldOwn(ev: ConvEvent): void {
    this.d.apply.fold(ev);
    this.d.notify.changed();
  }
}

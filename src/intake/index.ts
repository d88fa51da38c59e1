/**
 * Intake: the one place where a client's request about a conversation becomes a command.
 * A WebSocket or long-poll frame (through the gateway) and a REST body (through the API)
 * take the same path: validated by the frame's one schema (protocol/codec.ts), turned
 * into a conversation command, rate-limited, routed to the conversation's owner, and
 * answered with the same result shape. A new command is added here and in the schema.
 */
import {
  FrameDecoder,
  ProtocolError,
  type AckFrame,
  type ClientFrame,
  type DecodeResult,
  type DeleteFrame,
  type DeliveredFrame,
  type EditFrame,
  type Limits,
  type MarkUnreadFrame,
  type MuteFrame,
  type ReactFrame,
  type ReadFrame,
  type SendFrame,
  type TypingFrame,
} from '../protocol';
import type { AckResult, DeleteCommand, EditCommand, MuteResult, ReactCommand, SendCommand } from '../conversations';
import type { Router } from '../cluster';
import type { CommandBudgets, RateLimiter } from '../ratelimit';
import type { Metrics } from '../observability';

/** Client frames that act on a conversation (the rest are session frames: CONNECT, PING, PRESENCE_SUB). */
export type CommandFrame = SendFrame | ReactFrame | EditFrame | DeleteFrame | MuteFrame | MarkUnreadFrame | DeliveredFrame | ReadFrame | TypingFrame;

/** What each command frame is answered with (the REST body, or the frame a session gets). */
export interface IntakeResults {
  SEND: AckFrame;
  REACT: AckFrame;
  EDIT: AckFrame;
  DELETE: AckFrame;
  MUTE: MuteResult;
  MARK_UNREAD: { marked_unread: boolean };
  READ: { last_read_seq: number };
  DELIVERED: void;
  TYPING: void;
}

/** Who sends a command, as the transport knows them (a gateway session implements it). */
export interface Caller {
  readonly userId: string;
  /** The session the frame came on, left out of its own DELIVER; null for REST. */
  readonly sessionId: string | null;
  /** Whether this user's READs send read receipts (their setting, cached or looked up). */
  sendsReadReceipts(): boolean | Promise<boolean>;
}

/** The frames answered by an ACK. */
export type AckedFrame = SendFrame | ReactFrame | EditFrame | DeleteFrame;

export interface IntakeOptions {
  router: Router;
  /** Per-user budgets of every command (docs/protocol.md, "Budgets"), shared by every transport. */
  budgets: CommandBudgets;
  limits: Limits;
  /** Time from an ACKed command's arrival to its ACK. */
  ackLatency: Metrics['ackLatency'];
}

const commandTypes: ReadonlySet<string> = new Set<CommandFrame['type']>(['SEND', 'REACT', 'EDIT', 'DELETE', 'MUTE', 'MARK_UNREAD', 'DELIVERED', 'READ', 'TYPING']);

/** Whether the frame acts on a conversation (and so goes through Intake.run). */
export function isCommandFrame(frame: ClientFrame): frame is CommandFrame {
  return commandTypes.has(frame.type);
}

/** Whether the frame is answered by an ACK. */
export function isAckedFrame(frame: ClientFrame): frame is AckedFrame {
  return frame.type === 'SEND' || frame.type === 'REACT' || frame.type === 'EDIT' || frame.type === 'DELETE';
}

/** Validates client input and runs it as conversation commands; one per shard, shared by the transports. */
export class Intake {
  private readonly decoder: FrameDecoder;

  constructor(private readonly opts: IntakeOptions) {
    this.decoder = new FrameDecoder(opts.limits);
  }

  /** Parses and validates a text frame (WebSocket, long-poll). Never throws. */
  decode(text: string): DecodeResult {
    return this.decoder.decode(text);
  }

  /**
   * A REST request as the frame it stands for: the JSON body plus the fields the path
   * carries (conv_id, target_seq), validated by that frame's schema. The body may not set
   * the path's fields itself.
   */
  fromRest<T extends CommandFrame['type']>(type: T, path: Partial<Record<'conv_id' | 'target_seq', string | number>>, body: unknown): Extract<CommandFrame, { type: T }> {
    const fields = body ?? {};
    if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new ProtocolError('bad_request', 'body must be a JSON object');
    for (const key of ['type', ...Object.keys(path)]) {
      if (Object.hasOwn(fields, key)) throw new ProtocolError('bad_request', `unknown field "${key}"`);
    }
    const decoded = this.decoder.check({ ...fields, type, ...path });
    if (!decoded.ok) throw decoded.error;
    return decoded.frame as Extract<CommandFrame, { type: T }>;
  }

  /**
   * Runs one command frame for `caller`: the returned promise settles with its answer, or
   * rejects with a ProtocolError to answer with. A refusal decided before routing (the rate
   * limit) is thrown at once, so a transport can answer it before reading on. The command
   * reaches the router before this returns, so commands of one session reach their actor
   * in the order the session sent them.
   */
  run<F extends CommandFrame>(caller: Caller, frame: F): Promise<IntakeResults[F['type']]>;
  run(caller: Caller, frame: CommandFrame): Promise<IntakeResults[CommandFrame['type']]> {
    const { router } = this.opts;
    const user_id = caller.userId;
    const session_id = caller.sessionId;
    switch (frame.type) {
      case 'SEND':
        return this.acked(frame, {
          op: 'send',
          conv_id: frame.conv_id,
          user_id,
          session_id,
          client_msg_id: frame.client_msg_id,
          body: frame.body,
          reply_to: frame.reply_to,
          attachments: frame.attachments,
          mentions: frame.mentions,
        });
      case 'REACT':
        return this.acked(frame, { op: 'react', conv_id: frame.conv_id, user_id, session_id, client_msg_id: frame.client_msg_id, target_seq: frame.target_seq, emoji: frame.emoji });
      case 'EDIT':
        return this.acked(frame, { op: 'edit', conv_id: frame.conv_id, user_id, session_id, client_msg_id: frame.client_msg_id, target_seq: frame.target_seq, body: frame.body });
      case 'DELETE':
        return this.acked(frame, { op: 'delete', conv_id: frame.conv_id, user_id, session_id, client_msg_id: frame.client_msg_id, target_seq: frame.target_seq });
      case 'MUTE':
        // A store write per command, so it spends from the same bucket as sends.
        this.take(this.opts.budgets.writes, user_id);
        return router.dispatch({ op: 'mute', conv_id: frame.conv_id, user_id, until: frame.until });
      case 'MARK_UNREAD':
        // A marker write, an unread count from the store and a READ_SYNC to every device of
        // the user each time (the flag may already be set): priced like a send.
        this.take(this.opts.budgets.writes, user_id);
        return router.dispatch({ op: 'mark_unread', conv_id: frame.conv_id, user_id });
      case 'READ':
        this.take(this.opts.budgets.markers, user_id);
        return this.read(caller, frame);
      case 'DELIVERED':
        this.take(this.opts.budgets.markers, user_id);
        return router.dispatch({ op: 'delivered', conv_id: frame.conv_id, user_id, seq: frame.seq });
      case 'TYPING':
        return this.typing(user_id, frame);
    }
  }

  /**
   * TYPING spends a frame token, and is refused while the user owes for the members their
   * earlier relays reached: the owner knows the conversation's size, so the relay is paid
   * for once it is known (a 250-member group costs 249, a direct chat 1; a relay the owner
   * coalesced away costs nothing).
   */
  private typing(userId: string, frame: TypingFrame): Promise<void> {
    const { typing, typingRelays } = this.opts.budgets;
    if (!typingRelays.available(userId)) throw new ProtocolError('rate_limited', 'typing relayed to too many members; wait');
    this.take(typing, userId);
    return this.opts.router.dispatch({ op: 'typing', conv_id: frame.conv_id, user_id: userId, state: frame.state }).then((r) => {
      if (r.relayed > 0) typingRelays.charge(userId, r.relayed);
    });
  }

  private read(caller: Caller, frame: ReadFrame): Promise<{ last_read_seq: number }> {
    const dispatch = (receipts: boolean) => this.opts.router.dispatch({ op: 'read', conv_id: frame.conv_id, user_id: caller.userId, seq: frame.seq, receipts });
    // A session knows the setting: dispatched at once, in order with the session's other frames.
    const receipts = caller.sendsReadReceipts();
    return typeof receipts === 'boolean' ? dispatch(receipts) : receipts.then(dispatch);
  }

  /** SEND, REACT, EDIT, DELETE: rate-limited, answered by an ACK once durable. */
  private acked(frame: AckedFrame, cmd: SendCommand | ReactCommand | EditCommand | DeleteCommand): Promise<AckFrame> {
    this.take(this.opts.budgets.writes, cmd.user_id);
    const started = process.hrtime.bigint();
    return this.opts.router.dispatch(cmd).then((ack: AckResult) => {
      this.opts.ackLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      const out: AckFrame = { type: 'ACK', client_msg_id: frame.client_msg_id, conv_id: frame.conv_id, seq: ack.seq, ts: ack.ts };
      if (ack.duplicate) out.duplicate = true;
      return out;
    });
  }

  /** Throws rate_limited (synchronously: see run) when the user is over this budget. */
  private take(budget: RateLimiter, userId: string): void {
    if (!budget.take(userId)) throw new ProtocolError('rate_limited', 'sending too fast');
  }
}

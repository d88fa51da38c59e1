/**
 * What the connections of one MQTT listener share: parsers between packets, the timer of
 * delayed PUBACKs, and the count of refused connections waiting to hear why. One set per
 * listener (no module state): two servers in one process share nothing.
 */
import type { Parser } from 'mqtt-packet';

/** What of mqtt-packet's Parser (parser.js) the pool relies on: its buffer, state and settings. */
export interface ParserState {
  _list: { length: number };
  _stateCounter: number;
  packet: { length: number };
  settings: { protocolVersion: number };
}

export const parseV4 = { protocolVersion: 4 };
export const parseV5 = { protocolVersion: 5 };

/**
 * Parsers shared by a listener's connections. mqtt-packet's parser is ~1.6 KB of heap (an
 * emitter, a buffer list, its state), more than the rest of an idle connection: a
 * connection borrows one for each chunk it reads and keeps it only while a packet is cut
 * across chunks. Between packets (nothing buffered, state back at the header) a parser
 * holds nothing of anyone.
 */
export class Parsers {
  private spare: Parser | null = null;

  constructor(private readonly create: () => Parser) {}

  take(): Parser {
    const parser = this.spare ?? this.create();
    this.spare = null;
    return parser;
  }

  /** True when the parser holds part of a packet (its connection keeps it). */
  static busy(parser: Parser): boolean {
    const state = parser as unknown as ParserState;
    return state._list.length > 0 || state._stateCounter !== 0;
  }

  /** Takes back a parser that holds nothing. */
  give(parser: Parser): void {
    // A parsed CONNECT replaces the settings with itself (its password included): drop it.
    (parser as unknown as ParserState).settings = parseV4;
    this.spare ??= parser;
  }
}

/** Something with PUBACKs queued. */
export interface AckHolder {
  flushAcks(): void;
}

/**
 * Connections with PUBACKs queued, flushed together by one timer after `delayMs` (no timer
 * per connection).
 */
export class DueAcks extends Set<AckHolder> {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly delayMs: number) {
    super();
  }

  schedule(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(this.flush, this.delayMs);
    this.timer.unref();
  }

  private readonly flush = (): void => {
    this.timer = null;
    for (const holder of [...this]) holder.flushAcks();
  };
}

/** Connections refused by the opening limits that wait for their CONNECT to hear why. */
export class RefusedWaiting {
  count = 0;

  constructor(readonly max: number) {}
}

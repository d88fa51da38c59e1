/**
 * The load generator's long-poll carrier (docs/protocol.md, "Long-poll"): one session per
 * simulated device over node:http, with its own keep-alive Agent of at most 2 sockets
 * (one for the poll, one for sends). Real long-poll semantics: exactly one poll
 * outstanding (GET /lp/:sid/poll?cursor=N&wait_ms=25000), the cursor advanced from each
 * answer and the next poll issued at once; the frames written in one event-loop turn go
 * out in one POST /lp/:sid/send ("\n"-separated), one send in flight, order kept.
 *
 * A poll answer is not JSON.parse'd: a small scanner splits `{"frames":[f1,f2,...]` into
 * the frames' bytes (string-aware brace matching) and reads the cursor and `closed` from
 * the trailer, and each frame then goes through the same one-byte dispatch as a
 * WebSocket message (lg-clients.ts). Only frames before CONNACK are parsed.
 */
import http from 'node:http';
import type net from 'node:net';
import { nowMs } from './clock';

/** What the carrier tells its owner (ClientSet). */
export interface LongPollEvents {
  /** One frame of a poll answer, as the server wrote it; `at` is when the answer ended. */
  frame(data: Buffer, at: number): void;
  /** The server closed the session (a poll's `closed`), or the carrier failed (1006). */
  closed(code: number, reason: string): void;
}

/** Requests made by every carrier of this process (read by traffic phases at the window's edges). */
export const lpCounters = { polls: 0, sends: 0 };

/** Longest wait the server allows (its poll_ms); a quiet session re-polls this often. */
const defaultWaitMs = 25_000;

export interface LongPollOptions {
  /** The poll's wait_ms (default 25,000). */
  waitMs?: number;
  /** Every socket the carrier's requests use is added here (S12 reads their byte counts). */
  sockets?: Set<net.Socket>;
}

/** Retries of a poll that failed on the network (the same cursor: nothing is lost). */
const pollRetries = 3;

const framesOpen = Buffer.from('{"frames":[');
const cursorKey = Buffer.from('],"cursor":');
const closedKey = Buffer.from(',"closed":');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

export interface PollAnswer {
  frames: Buffer[];
  cursor: number;
  /** The `closed` object's JSON text, or null. */
  closed: string | null;
}

/**
 * Splits a poll answer without parsing the frames. Frames are JSON objects: a frame ends
 * where the nesting depth (outside strings) comes back to zero. Returns null when the
 * body does not have the answer's shape.
 */
export function splitAnswer(body: Buffer): PollAnswer | null {
  if (body.compare(framesOpen, 0, framesOpen.length, 0, framesOpen.length) !== 0) return null;
  // The trailer: `"cursor"` cannot occur unescaped inside a frame's strings, and the
  // answer ends with it, so the last occurrence is the answer's own.
  const c = body.lastIndexOf(cursorKey);
  if (c < 0) return null;
  const k = body.indexOf(closedKey, c);
  if (k < 0) return null;
  const cursor = Number(body.toString('latin1', c + cursorKey.length, k));
  const closedText = body.toString('utf8', k + closedKey.length, body.length - 1);
  const frames: Buffer[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = framesOpen.length; i < c; i++) {
    const b = body[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === LBRACE || b === LBRACKET) {
      if (depth++ === 0) start = i;
    } else if (b === RBRACE || b === RBRACKET) {
      if (--depth === 0) frames.push(body.subarray(start, i + 1));
    }
  }
  if (depth !== 0 || Number.isNaN(cursor)) return null;
  return { frames, cursor, closed: closedText === 'null' ? null : closedText };
}

interface Reply {
  status: number;
  body: Buffer;
  at: number;
}

export class LongPollWire {
  private readonly agent: http.Agent;
  private sid: string | null = null;
  private cursor = 0;
  private outbox: string[] = [];
  private sending = false;
  private flushScheduled = false;
  private stopped = false;
  private pollReq: http.ClientRequest | null = null;
  private readonly waitMs: number;
  private readonly sockets: Set<net.Socket> | null;

  constructor(
    private readonly base: URL,
    private readonly localAddress: string,
    private readonly events: LongPollEvents,
    opts: LongPollOptions = {},
  ) {
    this.waitMs = opts.waitMs ?? defaultWaitMs;
    this.sockets = opts.sockets ?? null;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 2, maxFreeSockets: 2 });
  }

  /** POST /lp, then the first poll; rejects when the session could not be opened. */
  async open(): Promise<void> {
    const r = await this.request('POST', '/lp', null, 60_000);
    if (r.status !== 201) throw new Error(`POST /lp answered ${r.status}`);
    this.sid = (JSON.parse(r.body.toString()) as { sid: string }).sid;
    this.poll(0);
  }

  /** Queues a frame; the frames of one turn leave in one POST. */
  send(text: string): void {
    if (this.stopped) return;
    this.outbox.push(text);
    if (!this.sending && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(flush, this);
    }
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.stopped || this.sending || this.outbox.length === 0) return;
    const body = this.outbox.join('\n');
    this.outbox = [];
    this.sending = true;
    lpCounters.sends++;
    this.request('POST', `/lp/${this.sid}/send`, body, 60_000).then(
      (r) => {
        this.sending = false;
        if (this.stopped) return;
        if (r.status !== 204) return this.fail(r.status === 410 ? 4000 : 1006, `send answered ${r.status}`);
        if (this.outbox.length > 0) this.flush();
      },
      (err: Error & { code?: string }) => {
        this.sending = false;
        this.fail(1006, `send failed: ${err.code ?? err.message}`);
      },
    );
  }

  /** One poll outstanding: the next one is issued as soon as an answer arrives. */
  private poll(cursor: number, retries = 0): void {
    if (this.stopped) return;
    lpCounters.polls++;
    this.request('GET', `/lp/${this.sid}/poll?cursor=${cursor}&wait_ms=${this.waitMs}`, null, this.waitMs + 15_000, true).then(
      (r) => {
        if (this.stopped) return;
        if (r.status !== 200) return this.fail(1006, `poll answered ${r.status}`);
        const answer = splitAnswer(r.body);
        if (!answer) return this.fail(1006, 'unreadable poll answer');
        this.cursor = answer.cursor;
        if (answer.closed === null) this.poll(this.cursor);
        for (const f of answer.frames) this.events.frame(f, r.at);
        if (answer.closed !== null) {
          let code = 1006;
          let reason = '';
          try {
            ({ code, reason } = JSON.parse(answer.closed) as { code: number; reason: string });
          } catch {
            // keep 1006
          }
          this.stop();
          this.events.closed(code, reason);
        }
      },
      (err: Error & { code?: string }) => {
        if (this.stopped) return;
        if (retries < pollRetries) this.poll(cursor, retries + 1);
        else this.fail(1006, `poll failed: ${err.code ?? err.message}`);
      },
    );
  }

  /** DELETE /lp/:sid (the client closing its socket), then drops the sockets. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sid !== null) await this.request('DELETE', `/lp/${this.sid}`, null, 10_000).catch(() => undefined);
    this.stop();
  }

  /** Abandons the session without telling the server (as `ws.terminate()`). */
  stop(): void {
    this.stopped = true;
    this.pollReq?.destroy();
    this.pollReq = null;
    this.agent.destroy();
  }

  private fail(code: number, reason: string): void {
    if (this.stopped) return;
    this.stop();
    this.events.closed(code, reason);
  }

  private request(method: string, path: string, body: string | null, timeoutMs: number, isPoll = false): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          localAddress: this.localAddress,
          headers: body === null ? {} : { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), at: nowMs() }));
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      if (this.sockets) req.once('socket', (s) => this.sockets?.add(s));
      if (isPoll) this.pollReq = req;
      req.end(body ?? undefined);
    });
  }
}

function flush(wire: LongPollWire): void {
  wire.flush();
}

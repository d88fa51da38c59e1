/**
 * The long-poll transport's HTTP side (docs/protocol.md, "Long-poll"): POST /lp opens a
 * session, POST /lp/:sid/send hands frames to the gateway's frame() exactly like WebSocket
 * text frames, GET /lp/:sid/poll answers with the frames the session's PollQueue holds,
 * DELETE /lp/:sid closes. Plain node handlers in front of express: the poll answer is
 * built by concatenation and must not go through a JSON body parser or serializer.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gauge } from 'prom-client';
import { CloseCode } from '../protocol';
import type { Carrier, Session } from './session';
import { CursorError, PollQueue, type Respond } from './pollqueue';
import type { Admitted } from './admission';

/** What long-poll needs of the gateway (narrow, so this file does not import gateway.ts). */
export interface LongPollHost {
  /** Whether this request may open a session: its client's address, or the HTTP refusal. */
  admit(req: IncomingMessage): Admitted;
  /** Starts a session on a carrier for an admitted address; it must CONNECT within the connect timeout. */
  accept(carrier: Carrier, address: string): Session;
  /** The entry point of every client frame, whatever carried it. */
  frame(session: Session, data: Buffer, isBinary: boolean): void;
  /** Called once when a session's carrier has closed. */
  closed(session: Session): void;
}

export interface LongPollOptions {
  /** Largest send body: the WebSocket hard cap (16 × MAX_FRAME_BYTES). */
  maxBodyBytes: number;
  /** Open long-poll sessions (a gauge of the metrics registry). */
  sessions: Gauge;
}

/** Longest a poll waits for a frame (and the default): below common proxy idle timeouts. */
export const pollMs = 25_000;
/** How long a closed session's record stays so that a poll can learn the close code. */
const keepClosedMs = 30_000;
const sidBytes = 16;

export class LongPoll {
  /** sid -> queue, open or closed less than keepClosedMs ago. */
  private readonly queues = new Map<string, PollQueue>();

  constructor(
    private readonly host: LongPollHost,
    private readonly opts: LongPollOptions,
  ) {}

  /** Serves the request when its path is /lp or under /lp/; returns false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== '/lp' && !path.startsWith('/lp/')) return false;
    const parts = path.split('/'); // ['', 'lp', sid?, action?]
    const method = req.method ?? 'GET';
    if (parts.length === 2 && method === 'POST') this.open(req, res);
    else if (parts.length === 4 && parts[3] === 'send' && method === 'POST') this.send(parts[2], req, res);
    else if (parts.length === 4 && parts[3] === 'poll' && method === 'GET') this.poll(parts[2], new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), req, res);
    else if (parts.length === 3 && method === 'DELETE') this.remove(parts[2], res);
    else sendError(res, 404, 'not_found', 'no such endpoint');
    return true;
  }

  /** Sessions the server closed whose close no poll has carried yet (see PollQueue.closeUnreported). */
  unreportedCloses(): number {
    let n = 0;
    for (const queue of this.queues.values()) if (queue.closeUnreported) n++;
    return n;
  }

  /** Forgets the records of sessions closed long enough ago (from the gateway's tick). */
  sweep(now: number): void {
    for (const [sid, queue] of this.queues) {
      if (queue.expired(now, keepClosedMs)) this.queues.delete(sid);
    }
  }

  private open(req: IncomingMessage, res: ServerResponse): void {
    req.resume(); // no body is expected; whatever came is not read
    const admitted = this.host.admit(req);
    if (!admitted.ok) {
      const { status, code, message, retryAfterS } = admitted.refusal;
      sendJson(res, status, JSON.stringify({ error: { code, message } }), { 'retry-after': String(retryAfterS) });
      return;
    }
    const sid = randomBytes(sidBytes).toString('base64url');
    const queue = new PollQueue(sid, this.onQueueClosed);
    queue.session = this.host.accept(queue, admitted.address);
    this.queues.set(sid, queue);
    this.opts.sessions.inc();
    sendJson(res, 201, JSON.stringify({ sid, poll_ms: pollMs }));
  }

  private readonly onQueueClosed = (queue: PollQueue): void => {
    this.opts.sessions.dec();
    if (queue.session) this.host.closed(queue.session);
  };

  /** The queue of `sid`, or null (answered 404) when unknown or expired. */
  private find(sid: string, res: ServerResponse): PollQueue | null {
    const queue = this.queues.get(sid);
    if (queue && !queue.expired(Date.now(), keepClosedMs)) return queue;
    if (queue) this.queues.delete(sid);
    sendError(res, 404, 'not_found', 'unknown or expired session');
    return null;
  }

  private send(sid: string, req: IncomingMessage, res: ServerResponse): void {
    const queue = this.find(sid, res);
    if (!queue) {
      req.resume();
      return;
    }
    const { maxBodyBytes } = this.opts;
    const chunks: Buffer[] = [];
    let size = 0;
    // Read to the end even when over the cap, so the client gets the 413 rather than a reset.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > maxBodyBytes) {
        sendError(res, 413, 'too_large', `body exceeds ${maxBodyBytes} bytes`);
        return;
      }
      if (queue.closedWith || !queue.session) {
        sendClosed(res, queue);
        return;
      }
      this.frames(queue.session, Buffer.concat(chunks, size));
      res.writeHead(204, { 'cache-control': 'no-store' });
      res.end();
    });
    req.on('error', () => res.destroy());
  }

  /** Hands each "\n"-separated frame of a send body to the gateway, in order. */
  private frames(session: Session, body: Buffer): void {
    session.alive = true;
    let start = 0;
    while (start <= body.length && !session.isClosed()) {
      let end = body.indexOf(0x0a, start);
      if (end < 0) end = body.length;
      let stop = end;
      if (stop > start && body[stop - 1] === 0x0d) stop--; // tolerate CRLF
      if (stop > start) this.host.frame(session, body.subarray(start, stop), false);
      start = end + 1;
    }
  }

  private poll(sid: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const queue = this.find(sid, res);
    if (!queue) return;
    const cursor = nonNegativeInt(query.get('cursor'));
    const wait = query.has('wait_ms') ? nonNegativeInt(query.get('wait_ms')) : pollMs;
    if (cursor === null || wait === null) {
      sendError(res, 400, 'bad_request', 'cursor (and wait_ms when given) must be non-negative integers');
      return;
    }
    if (queue.session) queue.session.alive = true;
    const respond: Respond = (body) => {
      if (!res.destroyed) sendJson(res, 200, body);
    };
    // A client that gave up on its poll: forget it (re-polling the same cursor loses nothing).
    res.once('close', () => queue.cancel(respond));
    try {
      queue.poll(cursor, Math.min(wait, pollMs), respond);
    } catch (err) {
      if (!(err instanceof CursorError)) throw err;
      sendError(res, 400, 'bad_request', err.message);
    }
  }

  private remove(sid: string, res: ServerResponse): void {
    const queue = this.find(sid, res);
    if (!queue) return;
    // The client closing its socket: 1000, and the gateway's usual cleanup follows.
    queue.close(CloseCode.normal, 'closed by client');
    queue.closeUnreported = false; // the client closed it: nothing to tell
    this.queues.delete(sid);
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
  }
}

function nonNegativeInt(value: string | null): number | null {
  if (value === null || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

function sendJson(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** Errors have the REST API's shape: {"error":{"code","message"}}. */
function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, JSON.stringify({ error: { code, message } }));
}

function sendClosed(res: ServerResponse, queue: PollQueue): void {
  sendJson(res, 410, JSON.stringify({ error: { code: 'conflict', message: 'session closed' }, close: queue.closedWith }));
}

/**
 * The carriers of the e2e harness's raw protocol client (TestSocket in harness.ts): ws's
 * WebSocket, and the long-poll HTTP contract (docs/protocol.md, "Long-poll") spoken with
 * Node's fetch, written here apart from the SDK so that each checks the other.
 */
import WebSocket from 'ws';

/** Which carrier TestSocket uses: E2E_TRANSPORT=longpoll (jest project e2e-longpoll), else WebSocket. */
export type Transport = 'websocket' | 'longpoll';
export const transport: Transport = process.env.E2E_TRANSPORT === 'longpoll' ? 'longpoll' : 'websocket';

/** What TestSocket needs of a carrier: frames out as text, frames and the close in. */
export interface ClientCarrier {
  /** Set by TestSocket before the carrier starts delivering. */
  onFrame: (text: string) => void;
  onClose: (code: number, reason: string) => void;
  send(text: string): void;
  close(): void;
  /** Drops the connection without a goodbye (the server finds out by itself). */
  terminate(): void;
  /** Stops taking frames from the server (a client that stopped reading), until resume(). */
  pause(): void;
  resume(): void;
}

/** The ws WebSocket as a carrier. */
export class WsCarrier implements ClientCarrier {
  onFrame: (text: string) => void = () => undefined;
  onClose: (code: number, reason: string) => void = () => undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.onFrame(data.toString()));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', () => undefined);
  }

  send(text: string): void {
    this.ws.send(text);
  }
  close(): void {
    this.ws.close();
  }
  terminate(): void {
    this.ws.terminate();
  }
  pause(): void {
    this.tcp().pause();
  }
  resume(): void {
    this.tcp().resume();
  }
  private tcp(): { pause(): void; resume(): void } {
    return (this.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  }
}

/** Largest send body the harness builds from queued frames (a single bigger frame goes alone). */
const lpBatchBytes = 32 * 1024;

/**
 * The long-poll contract (docs/protocol.md, "Long-poll") spoken with fetch, independent of
 * the SDK: frames queued in one turn go in one POST /send (newline-separated, in order,
 * one request at a time); one GET /poll is always outstanding, acknowledging by cursor.
 */
export class LongPollCarrier implements ClientCarrier {
  onFrame: (text: string) => void = () => undefined;
  onClose: (code: number, reason: string) => void = () => undefined;
  cursor = 0;
  private outbox: string[] = [];
  private sending = false;
  private paused = false;
  private polling = false;
  private ended = false;
  private closing = false;
  /** Aborts every request when the client ends. */
  private readonly abort = new AbortController();
  /** Aborts the outstanding poll (pause). */
  private pollAbort: AbortController | null = null;

  private constructor(
    readonly base: string,
    readonly sid: string,
  ) {}

  /** POST /lp; throws unless 201. */
  static async open(base: string): Promise<LongPollCarrier> {
    const res = await fetch(`${base}/lp`, { method: 'POST' });
    const body = (await res.json()) as { sid?: string };
    if (res.status !== 201 || typeof body.sid !== 'string') throw new Error(`long-poll open failed: ${res.status} ${JSON.stringify(body)}`);
    return new LongPollCarrier(base, body.sid);
  }

  /** Starts the poll loop (once TestSocket has set the handlers). */
  start(): void {
    void this.pollLoop();
  }

  send(text: string): void {
    if (this.ended) return;
    this.outbox.push(text);
    if (!this.sending) {
      this.sending = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    while (this.outbox.length > 0 && !this.ended) {
      let n = 0;
      let bytes = 0;
      while (n < this.outbox.length && (n === 0 || bytes + this.outbox[n].length < lpBatchBytes)) bytes += this.outbox[n++].length + 1;
      const body = this.outbox.splice(0, n).join('\n');
      try {
        const res = await fetch(`${this.base}/lp/${this.sid}/send`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body, signal: this.abort.signal });
        await res.arrayBuffer();
        // 410/404: the poll reports (or has reported) the close; 413 is asserted in longpoll.test.ts.
        if (res.status !== 204 && res.status !== 410 && res.status !== 404) throw new Error(`long-poll send: ${res.status}`);
      } catch (err) {
        if (!this.ended) this.end(1006, `send failed: ${(err as Error).message}`);
      }
    }
    this.sending = false;
  }

  private async pollLoop(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    while (!this.ended && !this.paused) {
      const ctl = new AbortController();
      this.pollAbort = ctl;
      let body: { frames: unknown[]; cursor: number; closed: { code: number; reason: string } | null };
      try {
        const res = await fetch(`${this.base}/lp/${this.sid}/poll?cursor=${this.cursor}`, { signal: AbortSignal.any([this.abort.signal, ctl.signal]) });
        if (res.status === 404) {
          await res.arrayBuffer();
          this.end(this.closing ? 1000 : 1006, 'session gone');
          break;
        }
        body = (await res.json()) as typeof body;
        if (res.status !== 200) throw new Error(`long-poll poll: ${res.status} ${JSON.stringify(body)}`);
      } catch (err) {
        if (this.ended) break;
        if (ctl.signal.aborted) continue; // paused: the same cursor is polled again on resume
        this.end(1006, `poll failed: ${(err as Error).message}`);
        break;
      }
      // A paused client does not read: the frames stay on the server until it polls again.
      if (this.ended || ctl.signal.aborted) continue;
      this.cursor = body.cursor;
      for (const f of body.frames) this.onFrame(JSON.stringify(f));
      if (body.closed) this.end(body.closed.code, body.closed.reason);
    }
    this.polling = false;
  }

  close(): void {
    if (this.ended || this.closing) return;
    this.closing = true;
    // The waiting poll answers with closed 1000 (or 404 if the DELETE wins): either ends it.
    void fetch(`${this.base}/lp/${this.sid}`, { method: 'DELETE' }).then((r) => r.arrayBuffer(), () => undefined);
  }

  terminate(): void {
    this.end(1006, 'terminated');
  }

  pause(): void {
    this.paused = true;
    this.pollAbort?.abort();
  }

  resume(): void {
    this.paused = false;
    void this.pollLoop();
  }

  private end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.abort.abort();
    this.onClose(code, reason);
  }
}

/** The http base URL of a server's /ws URL (TestSocket takes wsUrl whatever the transport). */
export function baseOf(url: string): string {
  return url.replace(/^ws/, 'http').replace(/\/ws$/, '');
}


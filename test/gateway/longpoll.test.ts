/** The long-poll HTTP layer against a stub gateway: routing, refusal while draining, frame splitting. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { LongPoll, type LongPollHost } from '../../src/gateway/longpoll';
import { Session, type Carrier } from '../../src/gateway/session';
import { WriteBatch } from '../../src/gateway/batch';
import type { Admitted } from '../../src/gateway/admission';

class StubHost implements LongPollHost {
  draining = false;
  sessions: Session[] = [];
  frames: string[] = [];
  closedSessions: Session[] = [];
  /** Set to refuse the next opens with this answer. */
  refusal: Extract<Admitted, { ok: false }>['refusal'] | null = null;
  admit(): Admitted {
    if (this.draining) return { ok: false, refusal: { status: 503, code: 'unavailable', message: 'shard restarting', retryAfterS: 1 } };
    return this.refusal ? { ok: false, refusal: this.refusal } : { ok: true, address: '127.0.0.1' };
  }
  accept(carrier: Carrier): Session {
    const s = new Session(`s${this.sessions.length}`, carrier, Date.now(), null, 1 << 20, new WriteBatch());
    this.sessions.push(s);
    return s;
  }
  frame(session: Session, data: Buffer): void {
    this.frames.push(data.toString());
    if (data.toString() === 'ECHO') session.write('{"type":"PONG","ts":1}');
  }
  closed(session: Session): void {
    this.closedSessions.push(session);
  }
}

let host: StubHost;
let http: Server;
let base: string;
const gauge = new Gauge({ name: 'lp_test_sessions', help: 'test', registers: [new Registry()] });

beforeEach(async () => {
  host = new StubHost();
  const lp = new LongPoll(host, { maxBodyBytes: 1000, sessions: gauge });
  http = createServer((req, res) => {
    if (!lp.handle(req, res)) {
      res.writeHead(299);
      res.end('not long-poll');
    }
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterEach(async () => {
  http.closeAllConnections();
  await new Promise((r) => http.close(r));
});

test('only /lp and paths under /lp/ are taken; everything else goes on to the API', async () => {
  for (const path of ['/lpx', '/api/v1/lp', '/', '/lp2/x']) {
    expect((await fetch(base + path, { method: 'POST' })).status).toBe(299);
  }
  expect((await fetch(base + '/lp/x/y')).status).toBe(404);
});

test('open is refused with 503 while the gateway drains', async () => {
  host.draining = true;
  const res = await fetch(base + '/lp', { method: 'POST' });
  expect(res.status).toBe(503);
  expect(await res.json()).toEqual({ error: { code: 'unavailable', message: 'shard restarting' } });
  expect(host.sessions).toEqual([]);
});

test('an open the gateway does not admit is answered with its status, a JSON error and Retry-After', async () => {
  host.refusal = { status: 429, code: 'rate_limited', message: 'opening sessions too fast', retryAfterS: 2 };
  const res = await fetch(base + '/lp', { method: 'POST' });
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('2');
  expect(await res.json()).toEqual({ error: { code: 'rate_limited', message: 'opening sessions too fast' } });
  expect(host.sessions).toEqual([]);
});

test('a send body is split on newlines (CRLF tolerated, empty lines skipped) and each frame goes to frame() in order', async () => {
  const { sid } = (await (await fetch(base + '/lp', { method: 'POST' })).json()) as { sid: string };
  const res = await fetch(`${base}/lp/${sid}/send`, { method: 'POST', body: 'one\r\n\ntwo\nECHO\n' });
  expect(res.status).toBe(204);
  expect(host.frames).toEqual(['one', 'two', 'ECHO']);
  const poll = await fetch(`${base}/lp/${sid}/poll?cursor=0&wait_ms=0`);
  expect(await poll.text()).toBe('{"frames":[{"type":"PONG","ts":1}],"cursor":1,"closed":null}');
  // Over maxBodyBytes: 413, nothing handed on.
  const big = await fetch(`${base}/lp/${sid}/send`, { method: 'POST', body: 'x'.repeat(1001) });
  expect(big.status).toBe(413);
  expect(host.frames).toHaveLength(3);
});

test('DELETE closes the carrier with 1000; the host hears closed() once', async () => {
  const { sid } = (await (await fetch(base + '/lp', { method: 'POST' })).json()) as { sid: string };
  expect((await fetch(`${base}/lp/${sid}`, { method: 'DELETE' })).status).toBe(204);
  await new Promise((r) => setImmediate(r));
  expect(host.closedSessions).toEqual([host.sessions[0]]);
  expect((await fetch(`${base}/lp/${sid}`, { method: 'DELETE' })).status).toBe(404);
});

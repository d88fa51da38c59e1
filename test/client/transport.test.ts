/** Choosing the carrier: the TransportPolicy rules, and ChatClient's fallback from WebSocket to long-poll. */
import { ChatClient, type CloseEventLike, type MessageEventLike, type WebSocketLike } from '../../src/client';
import { retryWebSocketAfterConnects, retryWebSocketAfterMs, TransportPolicy } from '../../src/client/transport';
import { connack } from './fake-server';
import { ScriptedFetch, tick, type ScriptedRequest } from './scripted-fetch';

describe('TransportPolicy', () => {
  test("'websocket' and 'longpoll' never change and never fall back", () => {
    const ws = new TransportPolicy('websocket');
    expect(ws.choose()).toBe('websocket');
    expect(ws.webSocketFailed()).toBe(false);
    expect(ws.choose()).toBe('websocket');
    const lp = new TransportPolicy('longpoll');
    expect(lp.webSocketFailed()).toBe(false);
    lp.connected('longpoll');
    expect(lp.choose()).toBe('longpoll');
  });

  test("'auto' stays on long-poll after a fallback that connected, then tries WebSocket again after a few sessions", () => {
    const p = new TransportPolicy('auto', () => 0);
    expect(p.choose()).toBe('websocket');
    expect(p.webSocketFailed()).toBe(true);
    p.connected('longpoll'); // the fallback reached CONNACK
    for (let i = 0; i < retryWebSocketAfterConnects; i++) {
      expect(p.choose()).toBe('longpoll');
      p.connected('longpoll');
    }
    expect(p.choose()).toBe('websocket');
    p.connected('websocket');
    expect(p.choose()).toBe('websocket');
  });

  test("'auto' tries WebSocket again once enough time has passed since the fallback", () => {
    let now = 1000;
    const p = new TransportPolicy('auto', () => now);
    p.choose();
    p.webSocketFailed();
    p.connected('longpoll');
    expect(p.choose()).toBe('longpoll');
    now += retryWebSocketAfterMs;
    expect(p.choose()).toBe('websocket');
  });

  test("'auto' starts with WebSocket again when the long-poll fallback failed too (server down, not WebSocket blocked)", () => {
    const p = new TransportPolicy('auto', () => 0);
    p.choose();
    p.webSocketFailed();
    // no CONNACK over long-poll
    expect(p.choose()).toBe('websocket');
  });
});

/** A WebSocket that never opens: error, then close 1006, as when the upgrade is refused. */
class RefusedSocket implements WebSocketLike {
  static made = 0;
  readyState = 0;
  private readonly handlers: Record<string, ((e: never) => void)[]> = {};
  constructor(readonly url: string) {
    RefusedSocket.made++;
    setTimeout(() => {
      this.readyState = 3;
      this.fire('error', {});
      this.fire('close', { code: 1006, reason: '' });
    }, 1);
  }
  send(): void {
    throw new Error('not open');
  }
  close(): void {
    this.readyState = 3;
  }
  addEventListener(type: 'open', listener: (event: unknown) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (event: CloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: string, listener: (e: never) => void): void {
    (this.handlers[type] ??= []).push(listener);
  }
  private fire(type: string, e: unknown): void {
    for (const l of this.handlers[type] ?? []) (l as (e: unknown) => void)(e);
  }
}

/** Answers POST /lp for `sid`, then the CONNECT send, and returns the first poll. */
async function acceptLongPoll(f: ScriptedFetch, sid: string): Promise<ScriptedRequest> {
  const open = await f.next();
  expect([open.method, open.url]).toEqual(['POST', 'http://chat.test/lp']);
  open.respond(201, { sid, poll_ms: 25000 });
  const first = await f.next();
  const second = await f.next();
  const [poll, send] = first.method === 'GET' ? [first, second] : [second, first];
  expect(send.url).toBe(`http://chat.test/lp/${sid}/send`);
  expect(JSON.parse(send.body ?? '')).toMatchObject({ type: 'CONNECT', token: 't', device_id: 'd1' });
  send.respond(204);
  return poll;
}

/** close(): the outstanding poll is aborted, the session DELETEd, and no request is left. */
async function closeLongPoll(client: ChatClient, f: ScriptedFetch): Promise<void> {
  client.close();
  let del = await f.next();
  while (del.method === 'GET') {
    expect(del.aborted).toBe(true);
    del = await f.next();
  }
  expect(del.method).toBe('DELETE');
  del.respond(204);
  await tick();
  expect(f.pending()).toEqual([]);
}

test("'auto': a WebSocket refused before open hands the attempt to long-poll at once, and reconnects stay on long-poll", async () => {
  RefusedSocket.made = 0;
  const f = new ScriptedFetch();
  const client = new ChatClient({ baseUrl: 'http://chat.test', token: 't', deviceId: 'd1', WebSocketImpl: RefusedSocket, fetch: f.fetch, reconnect: { minDelayMs: 1, maxDelayMs: 2 } });
  const events: string[] = [];
  client.on('connected', () => events.push('connected'));
  client.on('disconnected', (code) => events.push(`disconnected ${code}`));
  client.on('reconnecting', () => events.push('reconnecting'));
  expect(client.transport).toBeNull();
  client.connect();
  expect(client.transport).toBe('websocket');

  const poll = await acceptLongPoll(f, 's1');
  expect(client.transport).toBe('longpoll');
  poll.respond(200, { frames: [connack()], cursor: 1, closed: null });
  await client.once('connected');
  expect(events).toEqual(['connected']); // the refused socket was never a disconnect
  expect(RefusedSocket.made).toBe(1);

  // The server restarts: the reconnect goes straight to long-poll.
  (await f.next()).respond(200, { frames: [], cursor: 1, closed: { code: 1012, reason: 'restarting' } });
  const poll2 = await acceptLongPoll(f, 's2');
  poll2.respond(200, { frames: [connack()], cursor: 1, closed: null });
  await client.once('connected');
  expect(RefusedSocket.made).toBe(1);
  expect(client.transport).toBe('longpoll');
  expect(events).toEqual(['connected', 'disconnected 1012', 'reconnecting', 'connected']);

  await closeLongPoll(client, f);
});

test("'websocket' never falls back", async () => {
  RefusedSocket.made = 0;
  const f = new ScriptedFetch();
  const client = new ChatClient({ baseUrl: 'http://chat.test', token: 't', deviceId: 'd1', WebSocketImpl: RefusedSocket, fetch: f.fetch, transport: 'websocket', reconnect: { minDelayMs: 5000, maxDelayMs: 5000 } });
  client.connect();
  const [code] = await client.once('disconnected');
  expect(code).toBe(1006);
  expect(client.transport).toBe('websocket');
  expect(f.requests).toEqual([]);
  client.close();
});

test("'longpoll' needs no WebSocket at all", async () => {
  const f = new ScriptedFetch();
  const client = new ChatClient({ baseUrl: 'http://chat.test', token: 't', deviceId: 'd1', fetch: f.fetch, transport: 'longpoll' });
  client.connect();
  expect(client.transport).toBe('longpoll');
  const poll = await acceptLongPoll(f, 's1');
  poll.respond(200, { frames: [connack()], cursor: 1, closed: null });
  await client.once('connected');
  await closeLongPoll(client, f);
});

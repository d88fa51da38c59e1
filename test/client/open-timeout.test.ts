/** The WebSocket open deadline: OpenTimeoutSocket on its own (fake timers), and ChatClient's use of it per transport mode. */
import { ChatClient, type CloseEventLike, type MessageEventLike, type WebSocketLike } from '../../src/client';
import { OpenTimeoutSocket } from '../../src/client/open-timeout';
import { connack } from './fake-server';
import { ScriptedFetch } from './scripted-fetch';

/** A WebSocket that stays CONNECTING until the test says otherwise, as behind a proxy that swallows the upgrade. */
class HangingSocket implements WebSocketLike {
  static made: HangingSocket[] = [];
  readyState = 0;
  closeCalls = 0;
  readonly sent: string[] = [];
  private readonly handlers: Record<string, ((e: never) => void)[]> = {};
  constructor(readonly url = 'ws://x/ws') {
    HangingSocket.made.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.closeCalls++;
  }
  addEventListener(type: 'open', listener: (event: unknown) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
  addEventListener(type: 'close', listener: (event: CloseEventLike) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
  addEventListener(type: string, listener: (e: never) => void): void {
    (this.handlers[type] ??= []).push(listener);
  }
  /** Fires an event as the platform would, readyState first. */
  fire(type: 'open' | 'message' | 'close' | 'error', e: unknown = {}): void {
    if (type === 'open') this.readyState = 1;
    if (type === 'close') this.readyState = 3;
    for (const l of this.handlers[type] ?? []) (l as (e: unknown) => void)(e);
  }
}

function recorder(sock: WebSocketLike): string[] {
  const log: string[] = [];
  sock.addEventListener('open', () => log.push('open'));
  sock.addEventListener('message', (e) => log.push(`message ${String(e.data)}`));
  sock.addEventListener('error', () => log.push('error'));
  sock.addEventListener('close', (e) => log.push(`close ${e.code} ${e.reason}`));
  return log;
}

describe('OpenTimeoutSocket', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('a socket not open in time is closed, reported as error + close 1006 once, and its late events are ignored', () => {
    const inner = new HangingSocket();
    const sock = new OpenTimeoutSocket(inner, 1000);
    const log = recorder(sock);
    jest.advanceTimersByTime(999);
    expect(log).toEqual([]);
    expect(sock.readyState).toBe(0);
    jest.advanceTimersByTime(1);
    expect(log).toEqual(['error', 'close 1006 open timeout']);
    expect(inner.closeCalls).toBe(1);
    expect(sock.readyState).toBe(3);
    expect(jest.getTimerCount()).toBe(0);

    inner.fire('open');
    inner.fire('message', { data: 'late' });
    inner.fire('error');
    inner.fire('close', { code: 1006, reason: '' });
    sock.close();
    expect(log).toEqual(['error', 'close 1006 open timeout']);
    expect(inner.closeCalls).toBe(1);
  });

  test('opening in time ends the deadline; afterwards it is the socket itself', () => {
    const inner = new HangingSocket();
    const sock = new OpenTimeoutSocket(inner, 1000);
    const log = recorder(sock);
    inner.fire('open');
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(5000);
    sock.send('hi');
    inner.fire('message', { data: 'x' });
    sock.close(1000, 'bye');
    inner.fire('close', { code: 1000, reason: 'bye' });
    expect(log).toEqual(['open', 'message x', 'close 1000 bye']);
    expect(inner.sent).toEqual(['hi']);
    expect(inner.closeCalls).toBe(1);
  });

  test('close() or a close before the deadline leaves no timer', () => {
    const a = new OpenTimeoutSocket(new HangingSocket(), 1000);
    a.close();
    expect(jest.getTimerCount()).toBe(0);
    const inner = new HangingSocket();
    const b = new OpenTimeoutSocket(inner, 1000);
    const log = recorder(b);
    inner.fire('error');
    inner.fire('close', { code: 1006, reason: '' });
    expect(jest.getTimerCount()).toBe(0);
    expect(log).toEqual(['error', 'close 1006 ']);
  });

  test("an 'open' already reached (readyState OPEN) when the deadline fires wins the race", () => {
    const inner = new HangingSocket();
    const sock = new OpenTimeoutSocket(inner, 1000);
    const log = recorder(sock);
    inner.readyState = 1; // open, its event not dispatched yet
    jest.advanceTimersByTime(1000);
    inner.fire('open');
    expect(log).toEqual(['open']);
    expect(inner.closeCalls).toBe(0);
  });
});

describe('ChatClient with a WebSocket that never opens', () => {
  beforeEach(() => {
    HangingSocket.made = [];
  });

  test("'auto': after wsOpenTimeoutMs the same attempt goes on over long-poll, with no disconnect; the abandoned socket stays silent", async () => {
    const f = new ScriptedFetch();
    const client = new ChatClient({ baseUrl: 'http://chat.test', token: 't', deviceId: 'd1', WebSocketImpl: HangingSocket, fetch: f.fetch, wsOpenTimeoutMs: 50 });
    const events: string[] = [];
    client.on('connected', () => events.push('connected'));
    client.on('disconnected', (code) => events.push(`disconnected ${code}`));
    client.on('reconnecting', () => events.push('reconnecting'));
    const started = Date.now();
    client.connect();
    expect(client.transport).toBe('websocket');

    const open = await f.next();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect([open.method, open.url]).toEqual(['POST', 'http://chat.test/lp']);
    expect(client.transport).toBe('longpoll');
    const [hung] = HangingSocket.made;
    expect(hung.closeCalls).toBe(1);

    // The abandoned socket opens after all: nothing goes out on it, nothing changes.
    hung.fire('open');
    hung.fire('message', { data: JSON.stringify(connack()) });
    hung.fire('close', { code: 1000, reason: '' });
    expect(hung.sent).toEqual([]);
    expect(client.status).toBe('connecting');

    open.respond(201, { sid: 's1', poll_ms: 25000 });
    const a = await f.next();
    const b = await f.next();
    const [poll, send] = a.method === 'GET' ? [a, b] : [b, a];
    expect(JSON.parse(send.body ?? '')).toMatchObject({ type: 'CONNECT' });
    send.respond(204);
    poll.respond(200, { frames: [connack()], cursor: 1, closed: null });
    await client.once('connected');
    expect(events).toEqual(['connected']);
    expect(HangingSocket.made).toHaveLength(1);

    client.close();
    (await f.next()).respond(204); // DELETE (the aborted poll settles itself)
  });

  test("'websocket': the timeout is a failed attempt (1006, backoff), and close() while waiting for the next leaves nothing behind", async () => {
    const client = new ChatClient({ baseUrl: 'http://chat.test', token: 't', deviceId: 'd1', WebSocketImpl: HangingSocket, transport: 'websocket', wsOpenTimeoutMs: 30, reconnect: { minDelayMs: 20, maxDelayMs: 20 } });
    const events: string[] = [];
    client.on('disconnected', (code, reason) => events.push(`disconnected ${code} ${reason}`));
    client.on('reconnecting', (n) => events.push(`reconnecting ${n}`));
    client.connect();
    await client.once('reconnecting');
    expect(events).toEqual(['disconnected 1006 open timeout', 'reconnecting 1']);
    await client.once('reconnecting'); // the second socket timed out as well
    expect(HangingSocket.made).toHaveLength(2);
    expect(HangingSocket.made.map((s) => s.closeCalls)).toEqual([1, 1]);
    client.close();
    // Past the deadline and the reconnect delay: no third socket, no further event.
    const seen = events.length;
    await new Promise((r) => setTimeout(r, 80));
    expect(HangingSocket.made).toHaveLength(2);
    expect(events).toHaveLength(seen);
  });

  test('close() during CONNECTING cancels the deadline: no late fallback or reconnect', async () => {
    const f = new ScriptedFetch();
    const client = new ChatClient({ baseUrl: 'http://chat.test', token: 't', deviceId: 'd1', WebSocketImpl: HangingSocket, fetch: f.fetch, wsOpenTimeoutMs: 20 });
    const events: string[] = [];
    client.on('disconnected', (code) => events.push(`disconnected ${code}`));
    client.on('reconnecting', () => events.push('reconnecting'));
    client.connect();
    client.close();
    await new Promise((r) => setTimeout(r, 60));
    expect(f.requests).toEqual([]);
    expect(HangingSocket.made).toHaveLength(1);
    expect(events).toEqual(['disconnected 1000']);
  });
});

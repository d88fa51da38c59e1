/** The long-poll carrier's own logic, against a scripted fetch (end to end: test/e2e/sdk-transport.test.ts). */
import { LongPollSocket } from '../../src/client';
import type { CloseEventLike } from '../../src/client';
import { ScriptedFetch, tick, type ScriptedRequest } from './scripted-fetch';

const base = 'http://chat.test';
const lp = `${base}/lp`;

interface Opened {
  sock: LongPollSocket;
  f: ScriptedFetch;
  log: string[];
  closed: Promise<CloseEventLike>;
}

const made: { sock: LongPollSocket; f: ScriptedFetch }[] = [];
// Each test's carrier is closed after it (its DELETE answered), so nothing outlives the test.
afterEach(async () => {
  for (const { sock, f } of made.splice(0)) {
    sock.close();
    await tick();
    for (const req of f.pending()) req.respond(204);
  }
});

function carrier(f = new ScriptedFetch(), pollGraceMs = 15000): Opened {
  const sock = new LongPollSocket(base + '/', { fetch: f.fetch, retryDelayMs: 1, pollGraceMs });
  made.push({ sock, f });
  const log: string[] = [];
  sock.addEventListener('open', () => log.push('open'));
  sock.addEventListener('message', (e) => log.push(`message ${String(e.data)}`));
  sock.addEventListener('error', () => log.push('error'));
  const closed = new Promise<CloseEventLike>((resolve) =>
    sock.addEventListener('close', (e) => {
      log.push(`close ${e.code} ${e.reason}`);
      resolve(e);
    }),
  );
  return { sock, f, log, closed };
}

/** A carrier past POST /lp, with its first poll taken and unanswered. */
async function opened(): Promise<Opened & { poll: ScriptedRequest }> {
  const c = carrier();
  const open = await c.f.next();
  expect([open.method, open.url]).toEqual(['POST', lp]);
  expect(c.sock.readyState).toBe(0);
  open.respond(201, { sid: 's1', poll_ms: 25000 });
  const poll = await c.f.next();
  expect(c.sock.readyState).toBe(1);
  expect(c.log).toEqual(['open']);
  return { ...c, poll };
}

test('opens with POST /lp, then polls from cursor 0', async () => {
  const { sock, poll } = await opened();
  expect([poll.method, poll.url]).toEqual(['GET', `${lp}/s1/poll?cursor=0`]);
  expect(sock.sessionId).toBe('s1');
});

test('frames written in one turn go in one POST, in order, one request in flight at a time', async () => {
  const { sock, f } = await opened();
  sock.send('{"n":1}');
  sock.send('{"n":2}');
  sock.send('{"n":3}');
  const first = await f.next();
  expect([first.method, first.url, first.body]).toEqual(['POST', `${lp}/s1/send`, '{"n":1}\n{"n":2}\n{"n":3}']);
  sock.send('{"n":4}');
  await tick();
  sock.send('{"n":5}');
  await tick();
  expect(f.untaken()).toEqual([]); // the first send is still in flight
  first.respond(204);
  const second = await f.next();
  expect(second.body).toBe('{"n":4}\n{"n":5}');
  second.respond(204);
  await tick();
  expect(f.untaken()).toEqual([]);
});

test('each polled frame is a message with its JSON text; the cursor advances', async () => {
  const { f, log, poll } = await opened();
  poll.respond(200, { frames: [{ type: 'ACK', seq: 1 }, { type: 'PONG', ts: 5 }], cursor: 2, closed: null });
  const next = await f.next();
  expect(next.url).toBe(`${lp}/s1/poll?cursor=2`);
  expect(log).toEqual(['open', 'message {"type":"ACK","seq":1}', 'message {"type":"PONG","ts":5}']);
  next.respond(200, { frames: [], cursor: 2, closed: null });
  expect((await f.next()).url).toBe(`${lp}/s1/poll?cursor=2`);
});

test('a poll that fails on the network is repeated with the same cursor; nothing is lost', async () => {
  const { f, log, poll } = await opened();
  poll.respond(200, { frames: [{ type: 'PONG', ts: 1 }], cursor: 1, closed: null });
  const lost = await f.next();
  lost.fail();
  const again = await f.next();
  expect(again.url).toBe(`${lp}/s1/poll?cursor=1`);
  again.respond(502, '<html>bad gateway</html>'); // not a poll answer: a proxy error page
  const third = await f.next();
  expect(third.url).toBe(`${lp}/s1/poll?cursor=1`);
  third.respond(200, { frames: [{ type: 'PONG', ts: 2 }], cursor: 2, closed: null });
  expect((await f.next()).url).toBe(`${lp}/s1/poll?cursor=2`);
  expect(log.filter((l) => l.startsWith('message'))).toEqual(['message {"type":"PONG","ts":1}', 'message {"type":"PONG","ts":2}']);
});

test('a poll unanswered well past poll_ms is abandoned and repeated with the same cursor', async () => {
  const { f } = carrier(new ScriptedFetch(), 20);
  (await f.next()).respond(201, { sid: 's1', poll_ms: 10 });
  const hung = await f.next();
  const again = await f.next(); // after poll_ms + grace (30 ms)
  expect(hung.aborted).toBe(true);
  expect(again.url).toBe(hung.url);
  again.respond(200, { frames: [], cursor: 0, closed: null });
  expect((await f.next()).url).toBe(`${lp}/s1/poll?cursor=0`);
});

test('polls that keep failing end the carrier with 1006 after the quick retries', async () => {
  const { sock, f, log, poll, closed } = await opened();
  poll.fail();
  (await f.next()).fail();
  (await f.next()).fail();
  expect((await closed).code).toBe(1006);
  expect(sock.readyState).toBe(3);
  expect(log.slice(-2)).toEqual(['error', 'close 1006 poll failed: network down']);
  await tick();
  expect(f.untaken()).toEqual([]);
});

test('`closed` in a poll answer: the frames before it, then close with its code; nothing more is requested', async () => {
  const { sock, f, log, poll, closed } = await opened();
  poll.respond(200, { frames: [{ type: 'ERROR', code: 'unauthorized' }], cursor: 1, closed: { code: 4001, reason: 'unauthorized' } });
  expect(await closed).toEqual({ code: 4001, reason: 'unauthorized' });
  expect(log).toEqual(['open', 'message {"type":"ERROR","code":"unauthorized"}', 'close 4001 unauthorized']);
  expect(sock.readyState).toBe(3);
  sock.send('{"late":true}');
  await tick();
  expect(f.untaken()).toEqual([]);
});

test('close() aborts the poll, DELETEs the session, then emits close 1000; nothing outlives it', async () => {
  const { sock, f, log, poll, closed } = await opened();
  sock.send('{"queued":true}'); // written in the same turn as close(): dropped, as by a closing socket
  sock.close();
  expect(sock.readyState).toBe(2);
  await tick();
  expect(poll.aborted).toBe(true);
  const del = await f.next();
  expect([del.method, del.url]).toEqual(['DELETE', `${lp}/s1`]);
  expect(log).toEqual(['open']); // the close event waits for the DELETE
  del.respond(204);
  expect((await closed).code).toBe(1000);
  expect(sock.readyState).toBe(3);
  await new Promise((r) => setTimeout(r, 20));
  expect(f.untaken()).toEqual([]);
  expect(f.pending()).toEqual([]);
  expect(log).toEqual(['open', 'close 1000 ']);
});

test('close() while POST /lp is in flight: close at once; a late answer is DELETEd', async () => {
  const f = new ScriptedFetch();
  f.honorAbort = false;
  const { sock, log, closed } = carrier(f);
  const open = await f.next();
  sock.close();
  expect((await closed).code).toBe(1000);
  open.respond(201, { sid: 'late', poll_ms: 25000 });
  const del = await f.next();
  expect([del.method, del.url]).toEqual(['DELETE', `${lp}/late`]);
  del.respond(204);
  expect(log).toEqual(['close 1000 ']);
});

test('404 on a poll (session expired) closes with 1006', async () => {
  const { log, poll, closed } = await opened();
  poll.respond(404, { error: { code: 'not_found', message: 'unknown or expired session' } });
  expect((await closed).code).toBe(1006);
  expect(log.slice(-2)).toEqual(['error', 'close 1006 long-poll session gone']);
});

test('410 on a send closes with the code the server reports and aborts the poll', async () => {
  const { sock, f, log, poll, closed } = await opened();
  sock.send('{"type":"PING"}');
  const send = await f.next();
  send.respond(410, { error: { code: 'conflict', message: 'session closed' }, close: { code: 1012, reason: 'restarting' } });
  expect(await closed).toEqual({ code: 1012, reason: 'restarting' });
  expect(log).toEqual(['open', 'close 1012 restarting']);
  expect(poll.aborted).toBe(true);
});

test('a send that fails on the network is not retried: close 1006, and the poll is aborted', async () => {
  const { sock, f, poll, closed } = await opened();
  sock.send('{"type":"CONNECT"}');
  (await f.next()).fail();
  expect((await closed).code).toBe(1006);
  expect(poll.aborted).toBe(true);
  await tick();
  expect(f.untaken()).toEqual([]);
});

test('413 on a send closes with 1009, as a WebSocket does for an oversized frame', async () => {
  const { sock, f, closed } = await opened();
  sock.send('{"big":true}');
  (await f.next()).respond(413, { error: { code: 'too_large', message: 'body too large' } });
  expect((await closed).code).toBe(1009);
});

test('a refused open (503 while the shard drains) is error + close 1006 without open', async () => {
  const { sock, f, log, closed } = carrier();
  (await f.next()).respond(503, { error: { code: 'unavailable', message: 'shard restarting' } });
  expect((await closed).code).toBe(1006);
  expect(log).toEqual(['error', 'close 1006 long-poll open answered 503']);
  expect(sock.readyState).toBe(3);
});

test('send while connecting throws, like a WebSocket', async () => {
  const { sock, f } = carrier();
  expect(() => sock.send('x')).toThrow(/connecting/);
  (await f.next()).respond(503);
});

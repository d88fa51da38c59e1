/** The long-poll carrier on its own: cursor semantics, waiting polls, close reporting, backpressure. */
import { CursorError, PollQueue, answerBody, type CloseInfo } from '../../src/gateway/pollqueue';
import { Session } from '../../src/gateway/session';
import { WriteBatch } from '../../src/gateway/batch';

interface Answer {
  frames: unknown[];
  cursor: number;
  closed: CloseInfo | null;
}

/** A poll whose answer the test can await; `answers` lists every answer it got (at most one). */
function poller() {
  const answers: Answer[] = [];
  let settle: (a: Answer) => void = () => undefined;
  const answered = new Promise<Answer>((r) => (settle = r));
  const respond = (body: Buffer) => {
    const a = JSON.parse(body.toString('utf8')) as Answer;
    answers.push(a);
    settle(a);
  };
  return { respond, answers, answered };
}

/** Polls with wait 0 and returns the immediate answer. */
function pollNow(q: PollQueue, cursor: number): Answer {
  const p = poller();
  q.poll(cursor, 0, p.respond);
  expect(p.answers).toHaveLength(1);
  return p.answers[0];
}

const turn = () => new Promise<void>((r) => setImmediate(r));
const frame = (n: number) => JSON.stringify({ type: 'PONG', ts: n });

function queue(onClosed: (q: PollQueue) => void = () => undefined): PollQueue {
  return new PollQueue('sid', onClosed);
}

test('frames are numbered in write order; a cursor acknowledges and discards up to it', () => {
  const q = queue();
  q.send(frame(1));
  q.send(Buffer.from(frame(2)));
  q.send(frame(3));
  expect(q.written).toBe(3);
  expect(q.bufferedAmount).toBe(3 * Buffer.byteLength(frame(1)));
  expect(pollNow(q, 0)).toEqual({ frames: [{ type: 'PONG', ts: 1 }, { type: 'PONG', ts: 2 }, { type: 'PONG', ts: 3 }], cursor: 3, closed: null });
  // Nothing is discarded until a cursor says so.
  expect(q.bufferedAmount).toBe(3 * Buffer.byteLength(frame(1)));
  expect(pollNow(q, 2)).toEqual({ frames: [{ type: 'PONG', ts: 3 }], cursor: 3, closed: null });
  expect(q.bufferedAmount).toBe(Buffer.byteLength(frame(3)));
  expect(pollNow(q, 3)).toEqual({ frames: [], cursor: 3, closed: null });
  expect(q.bufferedAmount).toBe(0);
});

test('re-polling the same cursor (a lost answer) returns the same frames again', () => {
  const q = queue();
  for (let i = 1; i <= 4; i++) q.send(frame(i));
  const first = pollNow(q, 1);
  const again = pollNow(q, 1);
  expect(again).toEqual(first);
  expect(again.frames).toHaveLength(3);
  expect(again.cursor).toBe(4);
});

test('a cursor beyond the last frame, or behind an acknowledged one, is refused', () => {
  const q = queue();
  q.send(frame(1));
  q.send(frame(2));
  expect(() => q.poll(3, 0, () => undefined)).toThrow(CursorError);
  pollNow(q, 2);
  expect(() => q.poll(1, 0, () => undefined)).toThrow(CursorError);
  expect(() => q.poll(2, 0, () => undefined)).not.toThrow();
});

test('a waiting poll wakes on the first frame and takes the whole turn\'s burst in one answer', async () => {
  const q = queue();
  const p = poller();
  q.poll(0, 10_000, p.respond);
  expect(q.polling).toBe(true);
  q.send(frame(1));
  q.send(frame(2));
  expect(p.answers).toHaveLength(0); // answered at the end of the turn, not per frame
  const a = await p.answered;
  expect(a).toEqual({ frames: [{ type: 'PONG', ts: 1 }, { type: 'PONG', ts: 2 }], cursor: 2, closed: null });
  expect(q.polling).toBe(false);
});

test('a waiting poll with no frame answers empty at wait_ms', async () => {
  const q = queue();
  const p = poller();
  const t0 = Date.now();
  q.poll(0, 50, p.respond);
  expect(await p.answered).toEqual({ frames: [], cursor: 0, closed: null });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
});

test('a second poll supersedes the waiting one: the first answers at once, empty, cursor unchanged', async () => {
  const q = queue();
  q.send(frame(1));
  pollNow(q, 1);
  const first = poller();
  q.poll(1, 10_000, first.respond);
  const second = poller();
  q.poll(1, 10_000, second.respond);
  expect(first.answers).toEqual([{ frames: [], cursor: 1, closed: null }]);
  expect(second.answers).toEqual([]);
  q.send(frame(2));
  expect(await second.answered).toEqual({ frames: [{ type: 'PONG', ts: 2 }], cursor: 2, closed: null });
  expect(first.answers).toHaveLength(1);
});

test('a cancelled poll is forgotten: frames wait for the next poll', async () => {
  const q = queue();
  const p = poller();
  q.poll(0, 10_000, p.respond);
  q.cancel(p.respond);
  expect(q.polling).toBe(false);
  q.send(frame(1));
  await turn();
  expect(p.answers).toEqual([]);
  expect(pollNow(q, 0).frames).toHaveLength(1);
});

test('close is reported after the remaining frames, answers a waiting poll at once, and tells the gateway once, later', async () => {
  const closedCalls: PollQueue[] = [];
  const q = queue((x) => closedCalls.push(x));
  q.send(frame(1));
  pollNow(q, 1);
  q.send(frame(2));
  const waiting = poller();
  q.poll(2, 10_000, waiting.respond); // acknowledges frame 2 and waits
  q.send(frame(3));
  q.close(4001, 'unauthorized');
  q.close(1000, 'again'); // ignored
  expect(waiting.answers).toEqual([{ frames: [{ type: 'PONG', ts: 3 }], cursor: 3, closed: { code: 4001, reason: 'unauthorized' } }]);
  expect(closedCalls).toEqual([]);
  await turn();
  expect(closedCalls).toEqual([q]);
  // Frames after the close are dropped; a lost answer can be fetched again.
  q.send(frame(4));
  expect(pollNow(q, 2)).toEqual({ frames: [{ type: 'PONG', ts: 3 }], cursor: 3, closed: { code: 4001, reason: 'unauthorized' } });
  expect(pollNow(q, 3)).toEqual({ frames: [], cursor: 3, closed: { code: 4001, reason: 'unauthorized' } });
  await turn();
  expect(closedCalls).toHaveLength(1);
});

test('a server-side close stays unreported until a poll carries it; terminate is never waited for', () => {
  const q = queue();
  q.close(1012, 'shard restarting');
  expect(q.closeUnreported).toBe(true); // no poll was waiting: shutdown waits for the next one
  expect(pollNow(q, 0).closed).toEqual({ code: 1012, reason: 'shard restarting' });
  expect(q.closeUnreported).toBe(false);
  const dead = queue();
  dead.terminate();
  expect(dead.closeUnreported).toBe(false);
});

test('terminate reports 1006 (dropped, like a dead socket)', () => {
  const q = queue();
  q.terminate();
  expect(pollNow(q, 0).closed).toEqual({ code: 1006, reason: 'terminated' });
});

test('frames not yet acknowledged count as the socket buffer: over the limit the session closes 4003', () => {
  const q = queue();
  const session = new Session('s1', q, Date.now(), null, 100, new WriteBatch());
  q.session = session;
  const big = JSON.stringify({ type: 'PONG', pad: 'x'.repeat(40) });
  session.write(big); // 58 bytes buffered
  session.write(big); // 116
  session.write(big); // refused: over 100 -> close 4003
  expect(session.isClosed()).toBe(true);
  expect(q.closedWith).toEqual({ code: 4003, reason: 'slow consumer' });
  const a = pollNow(q, 0);
  expect(a.frames).toHaveLength(2);
  expect(a.closed).toEqual({ code: 4003, reason: 'slow consumer' });
});

test('a poll acknowledging frames makes room again (no 4003 for a client that keeps polling)', () => {
  const q = queue();
  const session = new Session('s2', q, Date.now(), null, 100, new WriteBatch());
  q.session = session;
  const big = JSON.stringify({ type: 'PONG', pad: 'x'.repeat(40) });
  for (let i = 1; i <= 10; i++) {
    session.write(big);
    pollNow(q, i);
  }
  expect(session.isClosed()).toBe(false);
  expect(q.bufferedAmount).toBe(0);
});

test('ping marks the session alive only while a poll waits (the long-poll pong)', () => {
  const q = queue();
  const session = new Session('s3', q, Date.now(), null, 1 << 20, new WriteBatch());
  q.session = session;
  session.alive = false;
  q.ping();
  expect(session.alive).toBe(false);
  const p = poller();
  q.poll(0, 10_000, p.respond);
  q.ping();
  expect(session.alive).toBe(true);
  q.cancel(p.respond);
});

test('the answer is the frames\' exact bytes, concatenated', () => {
  const frames = [Buffer.from('{"type":"A","s":"é\\n"}'), Buffer.from('{"type":"B"}')];
  expect(answerBody(frames, 7, null).toString()).toBe('{"frames":[{"type":"A","s":"é\\n"},{"type":"B"}],"cursor":7,"closed":null}');
  expect(answerBody([], 0, { code: 1012, reason: 'shard restarting' }).toString()).toBe(
    '{"frames":[],"cursor":0,"closed":{"code":1012,"reason":"shard restarting"}}',
  );
});

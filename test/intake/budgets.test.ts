/** The per-user budgets the intake spends for each command (docs/protocol.md, "Budgets"). */
import { Intake, type Caller, type CommandFrame } from '../../src/intake';
import { CommandBudgets, frameBudgets } from '../../src/ratelimit';
import type { Router } from '../../src/cluster';
import type { Command, ResultOf } from '../../src/conversations';
import { ProtocolError, defaultLimits } from '../../src/protocol';
import type { Metrics } from '../../src/observability';

/** A router that answers at once, TYPING as relayed to `relayTo` members. */
class StubRouter implements Router {
  relayTo = 1;
  readonly ops: string[] = [];
  dispatch<C extends Command>(cmd: C): Promise<ResultOf<C>> {
    this.ops.push(cmd.op);
    const result = cmd.op === 'typing' ? { relayed: this.relayTo } : cmd.op === 'mark_unread' ? { marked_unread: true } : cmd.op === 'read' ? { last_read_seq: 1 } : undefined;
    return Promise.resolve(result as ResultOf<C>);
  }
}

const caller = (userId: string): Caller => ({ userId, sessionId: 's1', sendsReadReceipts: () => true });
const ackLatency = { observe: () => undefined } as unknown as Metrics['ackLatency'];

let router: StubRouter;
let intake: Intake;
beforeEach(() => {
  router = new StubRouter();
  intake = new Intake({ router, budgets: new CommandBudgets(1, 5), limits: defaultLimits, ackLatency });
});

/** Runs `frame` `n` times for `user`; the codes of the synchronous refusals, 'ok' for the rest. */
async function run(user: string, frame: CommandFrame, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await intake.run(caller(user), frame);
      out.push('ok');
    } catch (err) {
      out.push(err instanceof ProtocolError ? err.code : String(err));
    }
  }
  return out;
}

const count = (codes: string[], code: string) => codes.filter((c) => c === code).length;

test('MARK_UNREAD and MUTE spend from the send budget (RATE_LIMIT_*), shared with SEND', async () => {
  const codes = await run('u1', { type: 'MARK_UNREAD', conv_id: 'c1' }, 4);
  expect(codes).toEqual(['ok', 'ok', 'ok', 'ok']);
  expect(await run('u1', { type: 'MUTE', conv_id: 'c1', until: null }, 2)).toEqual(['ok', 'rate_limited']);
  expect(await run('u1', { type: 'SEND', client_msg_id: 'm1', conv_id: 'c1', body: 'hi' }, 1)).toEqual(['rate_limited']);
  expect(router.ops).toEqual(['mark_unread', 'mark_unread', 'mark_unread', 'mark_unread', 'mute']);
});

test('READ and DELIVERED share a per-user marker budget', async () => {
  // The clock stands still, so nothing refills while a loaded machine runs the loop (it
  // refills 100 a second: a 200 ms loop once let the last frame through).
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  try {
    const { burst } = frameBudgets.markers;
    const codes = [...(await run('u2', { type: 'READ', conv_id: 'c1', seq: 1 }, burst / 2)), ...(await run('u2', { type: 'DELIVERED', conv_id: 'c1', seq: 1 }, burst / 2 + 20))];
    expect(count(codes, 'ok')).toBe(burst);
    expect(codes.slice(burst)).toEqual(Array(20).fill('rate_limited'));
    // Another user's budget is their own.
    expect(await run('u3', { type: 'READ', conv_id: 'c1', seq: 1 }, 1)).toEqual(['ok']);
    // And the budget comes back with time: 100 a second.
    jest.advanceTimersByTime(1000);
    expect(count(await run('u2', { type: 'READ', conv_id: 'c1', seq: 1 }, 110), 'ok')).toBe(frameBudgets.markers.perSecond);
  } finally {
    jest.useRealTimers();
  }
});

test('TYPING frames have a per-user budget', async () => {
  const codes = await run('u4', { type: 'TYPING', conv_id: 'c1', state: 'started' }, frameBudgets.typing.burst + 5);
  expect(count(codes, 'ok')).toBe(frameBudgets.typing.burst);
  expect(codes.at(-1)).toBe('rate_limited');
});

test('TYPING pays for the members it was relayed to: a big group spends the budget in a few relays, a direct chat does not', async () => {
  router.relayTo = 249; // a 250-member group
  const group = await run('u5', { type: 'TYPING', conv_id: 'g', state: 'started' }, 12);
  // 2000 / 249: the ninth relay runs the budget into debt, the tenth frame is refused.
  expect(group.slice(0, 9)).toEqual(Array(9).fill('ok'));
  expect(group.slice(9)).toEqual(['rate_limited', 'rate_limited', 'rate_limited']);
  router.relayTo = 1; // a direct chat: the frame budget binds first
  const direct = await run('u6', { type: 'TYPING', conv_id: 'd', state: 'started' }, frameBudgets.typing.burst);
  expect(direct).toEqual(Array(frameBudgets.typing.burst).fill('ok'));
  // Coalesced relays (0 members) cost nothing beyond the frame.
  router.relayTo = 0;
  expect(count(await run('u7', { type: 'TYPING', conv_id: 'g', state: 'started' }, frameBudgets.typing.burst), 'ok')).toBe(frameBudgets.typing.burst);
});

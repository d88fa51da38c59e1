/** TYPING at the conversation's owner: coalescing, and the relay count its sender pays for. */
import { typing, typingRelayEveryMs } from '../../src/conversations/signals';
import { ConversationState } from '../../src/conversations/state';
import type { OrderedFanout } from '../../src/conversations/fanout';
import type { TypingState } from '../../src/protocol';

const members = ['alice', 'bob', 'carol', 'dave'];
const state = () =>
  new ConversationState(
    { conv_id: 'c1', type: 'group', title: 'g', created_at: 1, last_seq: 0, member_count: members.length },
    members.map((user_id) => ({ conv_id: 'c1', user_id, role: 'member' as const, joined_at: 1, last_read_seq: 0, last_delivered_seq: 0, muted_until: null, marked_unread: false })),
  );

/** A fan-out that records what was published. */
function recorder(): { out: OrderedFanout; published: { to: string[]; text: string }[] } {
  const published: { to: string[]; text: string }[] = [];
  const out = { publish: (to: string[], frame: { text: string }) => void published.push({ to, text: frame.text }) } as unknown as OrderedFanout;
  return { out, published };
}

const cmd = (user_id: string, s: TypingState) => ({ op: 'typing' as const, conv_id: 'c1', user_id, state: s });

test('a change is relayed to the other members and costs one per member reached', () => {
  const st = state();
  const { out, published } = recorder();
  expect(typing(st, cmd('alice', 'started'), out, 1000)).toEqual({ relayed: 3 });
  expect(typing(st, cmd('alice', 'stopped'), out, 1100)).toEqual({ relayed: 3 });
  expect(published.map((p) => [p.to, JSON.parse(p.text).state])).toEqual([
    [['bob', 'carol', 'dave'], 'started'],
    [['bob', 'carol', 'dave'], 'stopped'],
  ]);
});

test(`a repeated "started" is relayed at most every ${typingRelayEveryMs} ms; it costs nothing when coalesced`, () => {
  const st = state();
  const { out, published } = recorder();
  const relayed: number[] = [];
  for (let t = 0; t <= 3000; t += 100) relayed.push(typing(st, cmd('alice', 'started'), out, t).relayed);
  // Relayed at 0, 1500 and 3000 ms only: 3 of 31 frames.
  expect(relayed.filter((n) => n > 0)).toEqual([3, 3, 3]);
  expect(published).toHaveLength(3);
  // Each sender is coalesced on its own.
  expect(typing(st, cmd('bob', 'started'), out, 3050)).toEqual({ relayed: 3 });
});

test('a sender refreshing just under the interval still reaches receivers well within their 4 s expiry', () => {
  const st = state();
  const { out } = recorder();
  const relays: number[] = [];
  for (let t = 0; t < 20_000; t += typingRelayEveryMs - 1) if (typing(st, cmd('alice', 'started'), out, t).relayed > 0) relays.push(t);
  const gaps = relays.slice(1).map((t, i) => t - relays[i]);
  expect(Math.max(...gaps)).toBeLessThanOrEqual(2 * typingRelayEveryMs);
});

test('"stopped" with nothing started is not relayed, nor is a second "stopped"', () => {
  const st = state();
  const { out, published } = recorder();
  expect(typing(st, cmd('alice', 'stopped'), out, 0)).toEqual({ relayed: 0 });
  typing(st, cmd('alice', 'started'), out, 10);
  typing(st, cmd('alice', 'stopped'), out, 20);
  expect(typing(st, cmd('alice', 'stopped'), out, 30)).toEqual({ relayed: 0 });
  // Started again right after stopping is a change: relayed at once.
  expect(typing(st, cmd('alice', 'started'), out, 40)).toEqual({ relayed: 3 });
  expect(published.map((p) => JSON.parse(p.text).state)).toEqual(['started', 'stopped', 'started']);
});

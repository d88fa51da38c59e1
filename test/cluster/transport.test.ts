/**
 * The wire mapping both shard transports share: a handler's outcome becomes a reply, and
 * the reply becomes the same outcome on the caller's side.
 */
import { NotOwnerError, answer, errorReply, replyError, type ShardHandler, type ShardReply } from '../../src/cluster/transport';
import type { Command } from '../../src/conversations';
import { ProtocolError } from '../../src/protocol';

const handler = (outcome: () => Promise<unknown>): ShardHandler => ({
  command: outcome,
  release: async () => void (await outcome()),
});
const cmd = { op: 'send', conv_id: 'c_1' } as unknown as Command;

test('answers carry the request id and the result; release answers null', async () => {
  expect(await answer(handler(async () => ({ seq: 7 })), { t: 'cmd', id: 3, cmd })).toEqual({ t: 'ok', id: 3, result: { seq: 7 } });
  expect(await answer(handler(async () => 'ignored'), { t: 'release', id: 4, conv_id: 'c_1' })).toEqual({ t: 'ok', id: 4, result: null });
});

test('failures map to stable codes and back; other errors leave no detail on the wire', async () => {
  const roundTrip = (err: Error): Error => replyError(errorReply(9, err) as Extract<ShardReply, { t: 'err' }>);
  expect(roundTrip(new NotOwnerError('moved'))).toBeInstanceOf(NotOwnerError);
  expect(roundTrip(new ProtocolError('forbidden', 'no'))).toMatchObject({ name: 'ProtocolError', code: 'forbidden', message: 'no' });
  expect(errorReply(9, new Error('stack and secrets'))).toEqual({ t: 'err', id: 9, code: 'internal', message: 'internal error' });
  expect(await answer(handler(() => Promise.reject(new TypeError('x'))), { t: 'cmd', id: 5, cmd })).toMatchObject({ t: 'err', id: 5, code: 'internal' });
});

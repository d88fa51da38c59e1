/**
 * The server frame encoder (src/protocol/encode.ts). The `@ts-expect-error` lines are the
 * real test of its promise: `npm run typecheck` fails if a frame built with a missing,
 * misspelt or extra field ever compiles.
 */
import { encodeFrame } from '../../src/protocol';

test('a frame is serialised once, with its type beside the text', () => {
  const f = encodeFrame({ type: 'ACK', client_msg_id: 'k', conv_id: 'c', seq: 3, ts: 4 });
  expect(f).toEqual({ type: 'ACK', text: '{"type":"ACK","client_msg_id":"k","conv_id":"c","seq":3,"ts":4}' });
  expect(JSON.parse(encodeFrame({ type: 'DELIVER', conv_id: 'c', seq: 1, ts: 2, sender_id: 'u', kind: 'message', body: 'hi' }).text)).toEqual({
    type: 'DELIVER', conv_id: 'c', seq: 1, ts: 2, sender_id: 'u', kind: 'message', body: 'hi',
  });
});

test('frames that do not match their type do not compile', () => {
  const bad = [
    // @ts-expect-error: RECEIPT has no field "kinds"
    () => encodeFrame({ type: 'RECEIPT', conv_id: 'c', user_id: 'u', seq: 1, kinds: 'read' }),
    // @ts-expect-error: READ_SYNC without unread_mentions
    () => encodeFrame({ type: 'READ_SYNC', conv_id: 'c', last_read_seq: 1, unread: 0, marked_unread: false }),
    // @ts-expect-error: no such frame type
    () => encodeFrame({ type: 'HELLO' }),
  ];
  expect(bad).toHaveLength(3);
});

import { FrameDecoder, defaultLimits, newId, newSortableId } from '../../src/protocol';

const decoder = new FrameDecoder(defaultLimits);
const ok = (frame: unknown) => decoder.decode(JSON.stringify(frame));

test('accepts every valid client frame', () => {
  for (const f of [
    { type: 'CONNECT', token: 't', device_id: 'd', sync: { convs: { c1: 3 }, inbox_cursor: '12' } },
    { type: 'SEND', client_msg_id: 'm', conv_id: 'c', body: 'hi', reply_to: 2, mentions: ['u'] },
    { type: 'DELIVERED', conv_id: 'c', seq: 1 },
    { type: 'READ', conv_id: 'c', seq: 0 },
    { type: 'TYPING', conv_id: 'c', state: 'started' },
    { type: 'PRESENCE_SUB', user_ids: ['a', 'b'] },
    { type: 'PING' },
  ]) {
    expect(ok(f)).toEqual({ ok: true, frame: f });
  }
});

test('refuses with codes and messages that name the problem', () => {
  const cases: [string, string, RegExp, string | null][] = [
    ['nope', 'bad_request', /not valid JSON/, null],
    ['[]', 'bad_request', /JSON object/, null],
    ['{"type":"X"}', 'bad_request', /unknown frame type "X"/, null],
    ['{"type":"SEND","client_msg_id":"m","conv_id":"c"}', 'bad_request', /missing field "body"/, 'm'],
    ['{"type":"SEND","client_msg_id":"m","conv_id":"c","body":"x","zzz":1}', 'bad_request', /unknown field "zzz"/, 'm'],
    [JSON.stringify({ type: 'SEND', client_msg_id: 'm', conv_id: 'c', body: 'x'.repeat(10_001) }), 'too_large', /body/, 'm'],
    ['{"type":"READ","conv_id":"c","seq":1.5}', 'bad_request', /seq/, null],
    [JSON.stringify({ type: 'PRESENCE_SUB', user_ids: Array.from({ length: 257 }, (_, i) => `u${i}`) }), 'bad_request', /user_ids/, null],
  ];
  for (const [text, code, message, ref] of cases) {
    const r = decoder.decode(text);
    expect(r.ok).toBe(false);
    if (r.ok) continue;
    expect({ text, code: r.error.code, ref: r.ref }).toEqual({ text, code, ref });
    expect(r.error.message).toMatch(message);
  }
});

test('body length counts characters, not UTF-16 units', () => {
  const small = new FrameDecoder({ ...defaultLimits, maxBodyChars: 3 });
  expect(small.decode(JSON.stringify({ type: 'SEND', client_msg_id: 'm', conv_id: 'c', body: '😀😀😀' })).ok).toBe(true);
  expect(small.decode(JSON.stringify({ type: 'SEND', client_msg_id: 'm', conv_id: 'c', body: '😀😀😀😀' })).ok).toBe(false);
});

test('newId is prefixed, url-safe and unique', () => {
  const ids = new Set(Array.from({ length: 10_000 }, () => newId('x')));
  expect(ids.size).toBe(10_000);
  for (const id of [...ids].slice(0, 100)) expect(id).toMatch(/^x_[A-Za-z0-9_-]{16}$/);
});

test('newSortableId sorts by creation time and stays unique within a millisecond', () => {
  const t = 1_764_000_000_000;
  const ids = [t, t + 1, t + 63, t + 64, t + 4096, t + 86_400_000].map((ms) => newSortableId('m', ms));
  expect([...ids].sort()).toEqual(ids);
  const same = new Set(Array.from({ length: 10_000 }, () => newSortableId('m', t)));
  expect(same.size).toBe(10_000);
  for (const id of same) expect(id).toMatch(/^m_[-0-9A-Z_a-z]{20}$/);
});

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

describe('lone UTF-16 surrogates are refused in every string of every frame', () => {
  // Each case puts `s` in one string of a frame (keys included); `field` is how the error names it.
  const cases: [string, string, (s: string) => object][] = [
    ['CONNECT', 'token', (s) => ({ type: 'CONNECT', token: `t${s}`, device_id: 'd' })],
    ['CONNECT', 'device_id', (s) => ({ type: 'CONNECT', token: 't', device_id: `d${s}` })],
    ['CONNECT', 'a key of sync.convs', (s) => ({ type: 'CONNECT', token: 't', device_id: 'd', sync: { convs: { [`c${s}`]: 1 } } })],
    ['CONNECT', 'sync.inbox_cursor', (s) => ({ type: 'CONNECT', token: 't', device_id: 'd', sync: { inbox_cursor: `1${s}` } })],
    ['SEND', 'client_msg_id', (s) => ({ type: 'SEND', client_msg_id: `m${s}`, conv_id: 'c', body: 'hi' })],
    ['SEND', 'conv_id', (s) => ({ type: 'SEND', client_msg_id: 'm', conv_id: `c${s}`, body: 'hi' })],
    ['SEND', 'body', (s) => ({ type: 'SEND', client_msg_id: 'm', conv_id: 'c', body: `hi ${s} there` })],
    ['SEND', 'attachments[1]', (s) => ({ type: 'SEND', client_msg_id: 'm', conv_id: 'c', body: '', attachments: ['a_1', `a_${s}`] })],
    ['SEND', 'mentions[0]', (s) => ({ type: 'SEND', client_msg_id: 'm', conv_id: 'c', body: 'hi', mentions: [`u${s}`] })],
    ['REACT', 'emoji', (s) => ({ type: 'REACT', client_msg_id: 'm', conv_id: 'c', target_seq: 1, emoji: s })],
    ['REACT', 'conv_id', (s) => ({ type: 'REACT', client_msg_id: 'm', conv_id: `c${s}`, target_seq: 1, emoji: '👍' })],
    ['EDIT', 'body', (s) => ({ type: 'EDIT', client_msg_id: 'm', conv_id: 'c', target_seq: 1, body: s })],
    ['DELETE', 'client_msg_id', (s) => ({ type: 'DELETE', client_msg_id: s, conv_id: 'c', target_seq: 1 })],
    ['MUTE', 'conv_id', (s) => ({ type: 'MUTE', conv_id: s, until: null })],
    ['MARK_UNREAD', 'conv_id', (s) => ({ type: 'MARK_UNREAD', conv_id: s })],
    ['DELIVERED', 'conv_id', (s) => ({ type: 'DELIVERED', conv_id: s, seq: 1 })],
    ['READ', 'conv_id', (s) => ({ type: 'READ', conv_id: s, seq: 1 })],
    ['TYPING', 'conv_id', (s) => ({ type: 'TYPING', conv_id: s, state: 'started' })],
    ['PRESENCE_SUB', 'user_ids[2]', (s) => ({ type: 'PRESENCE_SUB', user_ids: ['a', 'b', s] })],
  ];
  const lone = { 'a lone high surrogate': '\ud800', 'a lone low surrogate': '\udc00', 'a reversed pair': '\ude00\ud83d', 'a pair cut short': 'x\ud83d' };

  test.each(cases)('%s %s', (type, field, build) => {
    for (const [what, s] of Object.entries(lone)) {
      // JSON.stringify writes lone surrogates as \u escapes, which is what a client sends.
      const text = JSON.stringify(build(s));
      expect(text).toMatch(/\\ud[89a-f][0-9a-f]{2}/);
      const r = decoder.decode(text);
      expect({ what, ok: r.ok, code: r.ok ? null : r.error.code }).toEqual({ what, ok: false, code: 'bad_request' });
      if (!r.ok) expect(r.error.message).toBe(`${type}: ${field} must be well-formed Unicode text (it holds a lone UTF-16 surrogate)`);
    }
    // Surrogate pairs (astral characters) are text like any other.
    const good = build('😀');
    expect(decoder.decode(JSON.stringify(good))).toEqual({ ok: true, frame: good });
  });

  test('the error still carries the client_msg_id as ref', () => {
    const r = decoder.decode(JSON.stringify({ type: 'SEND', client_msg_id: 'm1', conv_id: 'c', body: '\ud800' }));
    expect(r.ok ? null : r.ref).toBe('m1');
  });

  // Found by the frame fuzzer: the ERROR echoed the ill-formed id, so a server frame carried
  // a lone surrogate (which strict JSON decoders, Swift's among them, refuse to read).
  test('an ill-formed client_msg_id is not echoed as ref, and a long one is not cut inside a pair', () => {
    for (const id of ['\udc00\ud800', 'm\ud800', '\udfff']) {
      const r = decoder.decode(JSON.stringify({ type: 'SEND', client_msg_id: id, conv_id: 'c', body: 'hi' }));
      expect(r.ok ? 'ok' : r.ref).toBeNull();
    }
    const long = 'x'.repeat(63) + '😀' + 'y';
    const r = decoder.decode(JSON.stringify({ type: 'SEND', client_msg_id: long, conv_id: 'c', body: 'hi' }));
    expect(r.ok ? 'ok' : r.ref).toBe('x'.repeat(63));
    const astral = 'a😀b🢜';
    const a = decoder.decode(JSON.stringify({ type: 'SEND', client_msg_id: astral, conv_id: 'c', body: 'hi', extra: 1 }));
    expect(a.ok ? 'ok' : a.ref).toBe(astral);
    const type = 'T'.repeat(31) + '😀';
    const t = decoder.decode(JSON.stringify({ type }));
    expect(t.ok ? 'ok' : t.error.message).toBe(`unknown frame type "${'T'.repeat(31)}"`);
  });

  test('values already parsed (REST bodies) are checked the same way', () => {
    const r = decoder.check({ type: 'EDIT', client_msg_id: 'm', conv_id: 'c', target_seq: 1, body: 'a\udfffb' });
    expect(r.ok ? null : [r.error.code, r.error.message]).toEqual(['bad_request', 'EDIT: body must be well-formed Unicode text (it holds a lone UTF-16 surrogate)']);
  });
});

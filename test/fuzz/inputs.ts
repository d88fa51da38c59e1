/**
 * Arbitraries of the fuzzers: values for each field of the protocol's schemas (valid ones,
 * boundaries, wrong types, hostile text), whole frames built from them, and mutations of
 * valid frames (keys dropped, types swapped, JSON cut short, binary frames, nesting bombs).
 */
import fc from 'fast-check';
import { defaultLimits, type ClientFrame } from '../../src/protocol';

/** What the fuzzer sends on a socket: one text frame, or one binary frame. */
export type WireInput = { kind: 'text'; text: string } | { kind: 'binary'; bytes: Buffer };

/** Names the fuzzer draws ids from: the live ones it was given, plus ones that name nothing. */
export interface Pools {
  convIds: string[];
  userIds: string[];
  attachmentIds: string[];
  /** A token that counts, for CONNECT frames and REST calls. */
  token: string;
}

const L = defaultLimits;

/** A lone UTF-16 surrogate (the server must refuse it in any string or key). */
export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Text a client could write, and text it should not: astral, combining, controls, NUL, lone halves, RTL marks. */
export const hostileText = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.constantFrom('', ' ', '\u0000', '\u202e', 'e\u0301', '👍🏽', '🇫🇷', '1️⃣', '\ufeff', '\\', '"', '<script>', '${x}', '%s%n', '../../etc/passwd', '__proto__', 'constructor', 'https://127.0.0.1/x'),
    fc.tuple(fc.string({ maxLength: 8 }), loneSurrogate, fc.string({ maxLength: 8 })).map(([a, s, b]) => a + s + b),
    // A pair in the wrong order: two lone halves.
    fc.constant('\udc00\ud800'),
  );

/** Strings around the limits: empty, at and one past maxIdChars, maxBodyChars, the frame size. */
export const edgeLengthText = fc.constantFrom(0, 1, L.maxIdChars, L.maxIdChars + 1, 1024, L.maxBodyChars, L.maxBodyChars + 1, 40_000).map((n) => 'x'.repeat(n));

/** Numbers a seq or a time field may be handed. */
export const edgeNumber = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, -1, -0, 0.5, 1e21, 1e308, -1e308, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 2 ** 31, 2 ** 32, 8.64e15, 8.64e15 + 1),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.nat({ max: 50 }),
);

/** Anything of the wrong type: the fuzzer swaps fields to these. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, '', [], {}, [null], { a: 1 }, '1', 'null'),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A value from the pools, or one that names nothing, or junk. */
function idFrom(pool: string[], prefix: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 20, arbitrary: pool.length > 0 ? fc.constantFrom(...pool) : fc.constant(`${prefix}_none`) },
    { weight: 1, arbitrary: fc.constantFrom(`${prefix}_doesNotExist0000`, `${prefix}_`, `${prefix}_${'z'.repeat(62)}`) },
    { weight: 1, arbitrary: hostileText(70) },
    { weight: 1, arbitrary: edgeLengthText },
  );
}

const emoji = fc.oneof(
  fc.constantFrom('👍', '❤️', '😂', '👍🏽', '🇫🇷', '1️⃣', '👨‍👩‍👧‍👦', null, 'a', 'ab', '', '👍👍', '\u200d', '🏴󠁧󠁢󠁳󠁣󠁴󠁿'),
  hostileText(40),
);

/** A client_msg_id: mostly fresh, sometimes reused (retries, other kinds), reserved prefixes, junk. */
function clientMsgIds(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 20, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.constantFrom('fz-reused-1', 'fz-reused-2', 'fz-reused-3') },
    { weight: 1, arbitrary: fc.constantFrom('link_preview:1', 'attachment_ready:a_x', 'link_preview:') },
    { weight: 1, arbitrary: hostileText(70) },
    { weight: 1, arbitrary: edgeLengthText },
  );
}

/**
 * Each field of each client frame as the schema wants it (codec.ts), drawn mostly from
 * valid values so that frames reach the actors, with bad ones mixed in.
 */
function fieldArbs(p: Pools): Record<ClientFrame['type'], Record<string, fc.Arbitrary<unknown>>> {
  const conv = idFrom(p.convIds, 'c');
  const seq = fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 40 }) }, { weight: 1, arbitrary: edgeNumber });
  const body = fc.oneof({ weight: 8, arbitrary: fc.string({ maxLength: 200 }) }, { weight: 4, arbitrary: hostileText(200) }, { weight: 1, arbitrary: edgeLengthText });
  const users = fc.array(idFrom(p.userIds, 'u'), { maxLength: 6 });
  return {
    CONNECT: {
      token: fc.oneof({ weight: 4, arbitrary: fc.constant(p.token) }, { weight: 1, arbitrary: fc.constantFrom('', 'x', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.', p.token.slice(0, -2) + 'AA') }, { weight: 1, arbitrary: hostileText() }),
      device_id: idFrom(['fuzz-dev'], 'd'),
      sync: fc.oneof(
        fc.constant(undefined),
        fc.record({ convs: fc.dictionary(conv, seq, { maxKeys: 4 }), inbox_cursor: fc.oneof(hostileText(), fc.constant('0')) }, { requiredKeys: [] }),
        wrongType,
      ),
    },
    SEND: {
      client_msg_id: clientMsgIds(),
      conv_id: conv,
      body,
      // Optional fields mostly absent: each one present refuses most SENDs (a seq that is not
      // a message, an attachment not uploaded, a non-member mentioned), so few would reach a commit.
      reply_to: optional(seq),
      attachments: optional(fc.array(idFrom(p.attachmentIds, 'a'), { maxLength: 12 })),
      mentions: optional(users),
    },
    REACT: { client_msg_id: clientMsgIds(), conv_id: conv, target_seq: seq, emoji },
    EDIT: { client_msg_id: clientMsgIds(), conv_id: conv, target_seq: seq, body },
    DELETE: { client_msg_id: clientMsgIds(), conv_id: conv, target_seq: seq },
    MUTE: { conv_id: conv, until: fc.oneof(fc.constant(null), fc.constant(-1), fc.constant(Date.now() + 60_000), edgeNumber) },
    MARK_UNREAD: { conv_id: conv },
    DELIVERED: { conv_id: conv, seq },
    READ: { conv_id: conv, seq },
    TYPING: { conv_id: conv, state: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('started', 'stopped') }, { weight: 1, arbitrary: hostileText() }) },
    PRESENCE_SUB: { user_ids: fc.oneof(users, fc.array(idFrom(p.userIds, 'u'), { minLength: 250, maxLength: 300 })) },
    PING: {},
  };
}

/** Absent three times in four. */
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** One field as generated: its valid-shaped value mostly; sometimes missing, of the wrong type, or an edge. */
export function perturbed(arb: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 40, arbitrary: arb },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: wrongType },
    { weight: 1, arbitrary: edgeNumber },
    { weight: 1, arbitrary: edgeLengthText },
  );
}

/** Extra keys a frame should not have: unknown, prototype-shaped, or holding a lone surrogate. */
const extraKeys = fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'extra', 'seq', 'type'), hostileText(10)), wrongType, { maxKeys: 2 });

/** A frame of the given type built from the schema's fields, perturbed as `perturbed` says. */
export function generatedFrame(type: ClientFrame['type'], p: Pools): fc.Arbitrary<Record<string, unknown>> {
  const fields = fieldArbs(p)[type];
  const rec = fc.record(Object.fromEntries(Object.entries(fields).map(([k, a]) => [k, perturbed(a)])));
  return fc.tuple(rec, fc.oneof({ weight: 8, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extraKeys })).map(([r, extra]) => {
    const frame: Record<string, unknown> = { type };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) frame[k] = v;
    // defineProperty: an own "__proto__" key, as JSON.parse would make one.
    for (const [k, v] of Object.entries(extra)) Object.defineProperty(frame, k, { value: v, enumerable: true, writable: true, configurable: true });
    return frame;
  });
}

/** A frame of the given type with every field valid-shaped (the base of mutations). */
export function validFrame(type: ClientFrame['type'], p: Pools): fc.Arbitrary<Record<string, unknown>> {
  const fields = fieldArbs(p)[type];
  return fc.record(Object.fromEntries(Object.entries(fields).map(([k, a]) => [k, a]))).map((r) => {
    const frame: Record<string, unknown> = { type };
    for (const [k, v] of Object.entries(r)) if (v !== undefined) frame[k] = v;
    return frame;
  });
}

/** Deeply nested JSON, arrays or objects, inside a frame or as one. */
function nestingBomb(depth: number, inFrame: string | null): string {
  const inner = depth % 2 === 0 ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  return inFrame === null ? inner : `{"type":"${inFrame}","conv_id":${inner}}`;
}

/** Mutations of one valid frame, as text (or bytes) on the wire. */
export function mutated(frame: Record<string, unknown>): fc.Arbitrary<WireInput> {
  const text = JSON.stringify(frame);
  const keys = Object.keys(frame);
  const text$ = (t: string): WireInput => ({ kind: 'text', text: t });
  return fc.oneof(
    // Drop one key (type included).
    fc.constantFrom(...keys).map((k) => text$(JSON.stringify({ ...frame, [k]: undefined }))),
    // Swap one field's value for another type.
    fc.tuple(fc.constantFrom(...keys), wrongType).map(([k, v]) => text$(JSON.stringify({ ...frame, [k]: v }))),
    // Cut the JSON short, or add junk after it.
    fc.nat({ max: Math.max(0, text.length - 1) }).map((n) => text$(text.slice(0, n))),
    fc.constantFrom(' x', '}', ',', '\u0000', '\n{}').map((junk) => text$(text + junk)),
    // The same key twice (JSON.parse keeps the last one).
    fc.constant(text$(text.replace(/^\{/, '{"type":"PING",'))),
    // Case and whitespace in the type.
    fc.constantFrom('send', ' SEND', 'SEND ', 'Send', '').map((t) => text$(JSON.stringify({ ...frame, type: t }))),
    // The frame as binary, or bytes that are not UTF-8.
    fc.constant<WireInput>({ kind: 'binary', bytes: Buffer.from(text) }),
    fc.uint8Array({ maxLength: 64 }).map((b): WireInput => ({ kind: 'binary', bytes: Buffer.from(b) })),
    fc.constant<WireInput>({ kind: 'text', text: Buffer.from([0xff, 0xfe, 0x7b]).toString('latin1') }),
    // Nesting bombs: as the frame, inside a field, and near the frame size limit.
    fc.constantFrom(1000, 10_000, 30_000).map((d) => text$(nestingBomb(d, null))),
    fc.constantFrom(999, 10_001).map((d) => text$(nestingBomb(d, String(frame.type)))),
    // Not an object at all.
    fc.constantFrom('null', '[]', '1', '"SEND"', 'true', '{}', '').map(text$),
    // Over the frame limit, and over the hard cap (16 x the limit: closes 1009).
    fc.constantFrom(L.maxFrameBytes + 1, L.maxFrameBytes * 2).map((n) => text$(JSON.stringify({ ...frame, body: 'y'.repeat(n) }))),
    fc.constant(text$(JSON.stringify({ ...frame, body: 'z'.repeat(L.maxFrameBytes * 16 + 1) }))),
    // Escaped lone surrogates, which JSON.parse turns into ill-formed strings.
    fc.constantFrom('\\ud800', '\\udfff', '\\udc00\\ud800').map((esc) => text$(text.replace(/"type"/, `"x${esc}":1,"type"`))),
  );
}

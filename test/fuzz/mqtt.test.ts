/**
 * The MQTT listener under hostile packets, against a live server: random bytes as a
 * connection's first bytes, valid packets of every type with random fields (built by
 * mqtt-packet), and mutations of valid packets (cut short, bytes flipped, lengths lied
 * about), before and after a session opened. Afterwards: the server is alive, a normal
 * client sends and receives, no MQTT connection or session is left behind, memory is
 * bounded, and nothing the fuzzing device published reached another user's conversation.
 * FUZZ_SEED and FUZZ_RUNS reproduce or resize a run; the seed and the counts are printed.
 */
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { generate, type Packet } from 'mqtt-packet';
import { createConversation, registerUserPatiently, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from '../e2e/harness';
import { fuzzRuns, fuzzSeed, memory, metric, normalClientWorks, readLog } from './checks';

jest.setTimeout(600_000);

let server: TestServer;
let fuzzer: TestUser;
let peer: TestUser;
let theirs: string;
let mine: string;

beforeAll(async () => {
  server = await startTestServer({ LINK_PREVIEWS: 'off', CONNECT_TIMEOUT_MS: '2000' });
  [fuzzer, peer] = [await registerUserPatiently(server.url), await registerUserPatiently(server.url)];
  const third = await registerUserPatiently(server.url);
  mine = await createConversation(server.url, fuzzer, 'direct', [peer]);
  theirs = await createConversation(server.url, peer, 'group', [third], 'not the fuzzer’s');
});

afterAll(async () => {
  await stopTestServer(server);
});

const port = (): number => Number(new URL(server.mqttUrl as string).port);

/** What one fuzzed connection does. */
interface Script {
  version: 4 | 5;
  /** Open a real session first (MQTT CONNECT with the token, then the protocol CONNECT). */
  session: boolean;
  inputs: Buffer[];
}

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('up', 'down/#', '#', '+', 'down/+/+', '', 'up/x', '\u0000', '/'));
const frames = fc.oneof(
  fc.constantFrom('{"type":"PING"}', '{"type":"CONNECT"}', '{"type":"SEND"}', 'null', '[]', '{', '', '\u0000'),
  fc.record({ type: fc.constantFrom('SEND', 'TYPING', 'READ', 'PRESENCE_SUB', 'CONNECT'), conv_id: fc.constantFrom('c_x', 'THEIRS'), client_msg_id: fc.string({ maxLength: 8 }), body: fc.string({ maxLength: 30 }) }).map((f) => JSON.stringify(f)),
);
const id = fc.integer({ min: 0, max: 65_535 });

/** Valid packets of every type a client (or a confused client) could send, with random fields. */
function packets(version: 4 | 5): fc.Arbitrary<Packet> {
  return fc.oneof(
    fc.record({ cmd: fc.constant('publish' as const), topic: text, payload: frames, qos: fc.constantFrom(0 as const, 1 as const, 2 as const), messageId: id, dup: fc.boolean(), retain: fc.boolean() }),
    fc.record({ cmd: fc.constant('puback' as const), messageId: id }),
    fc.record({ cmd: fc.constant('subscribe' as const), messageId: fc.integer({ min: 1, max: 65_535 }), subscriptions: fc.array(fc.record({ topic: text.filter((t) => t.length > 0), qos: fc.constantFrom(0 as const, 1 as const, 2 as const) }), { minLength: 1, maxLength: 3 }) }),
    fc.record({ cmd: fc.constant('unsubscribe' as const), messageId: fc.integer({ min: 1, max: 65_535 }), unsubscriptions: fc.array(text.filter((t) => t.length > 0), { minLength: 1, maxLength: 3 }) }),
    fc.constant({ cmd: 'pingreq' as const }),
    fc.constant({ cmd: 'disconnect' as const }),
    fc.record({ cmd: fc.constant('connect' as const), protocolId: fc.constant('MQTT' as const), protocolVersion: fc.constant(version), clientId: fc.string({ maxLength: 10 }), clean: fc.boolean(), keepalive: fc.integer({ min: 0, max: 65_535 }) }),
    fc.record({ cmd: fc.constantFrom('pubrec' as const, 'pubrel' as const, 'pubcomp' as const), messageId: id }),
    fc.constantFrom({ cmd: 'pingresp' as const }, { cmd: 'connack' as const, returnCode: 0, sessionPresent: false }),
  ) as fc.Arbitrary<Packet>;
}

/** Bytes of a packet, or null when mqtt-packet refuses the random fields. */
function bytesOf(packet: Packet, version: 4 | 5): Buffer | null {
  try {
    return generate(packet, { protocolVersion: version });
  } catch {
    return null;
  }
}

/** A valid packet's bytes, mutated: cut short, a byte flipped, the length byte lied about, or doubled. */
function mutated(version: 4 | 5): fc.Arbitrary<Buffer> {
  return fc.tuple(packets(version), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('cut', 'flip', 'length', 'twice')).map(([packet, at, byte, how]) => {
    const b = bytesOf(packet, version) ?? Buffer.from([0xc0, 0x00]);
    const i = at % b.length;
    if (how === 'cut') return b.subarray(0, i);
    if (how === 'twice') return Buffer.concat([b, b]);
    const copy = Buffer.from(b);
    copy[how === 'length' ? Math.min(1, copy.length - 1) : i] = byte;
    return copy;
  });
}

function script(): fc.Arbitrary<Script> {
  return fc.constantFrom(4 as const, 5 as const).chain((version) =>
    fc.record({
      version: fc.constant(version),
      session: fc.boolean(),
      inputs: fc.array(
        fc.oneof(
          { weight: 5, arbitrary: packets(version).map((p) => bytesOf(p, version) ?? Buffer.alloc(0)) },
          { weight: 2, arbitrary: mutated(version) },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
        ),
        { minLength: 1, maxLength: 8 },
      ),
    }),
  );
}

/** Runs one script on its own connection; resolves once the server closed it or 300 ms passed. */
async function play(s: Script, n: number): Promise<'closed' | 'open'> {
  const socket: Socket = connect(port(), '127.0.0.1');
  socket.on('error', () => undefined);
  socket.on('data', () => undefined); // read everything: the fuzzer is not a slow consumer
  const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')));
  await new Promise((r) => socket.once('connect', r));
  if (s.session) {
    socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: s.version, clientId: `fz${n}`, clean: true, keepalive: 60, username: fuzzer.user_id, password: Buffer.from(fuzzer.token) }, { protocolVersion: s.version }));
    socket.write(generate({ cmd: 'publish', topic: 'up', payload: Buffer.from('{"type":"CONNECT"}'), qos: 0, dup: false, retain: false }, { protocolVersion: s.version }));
  }
  for (const input of s.inputs) {
    const b = Buffer.from(input.toString('latin1').replaceAll('THEIRS', theirs), 'latin1');
    if (!socket.destroyed) socket.write(b);
  }
  const outcome = await Promise.race([closed, sleep(300).then(() => 'open' as const)]);
  socket.destroy();
  return outcome;
}

test('random, valid and mutated MQTT packets, with and without a session: the server stays whole', async () => {
  const seed = fuzzSeed() + 17;
  const runs = fuzzRuns(400);
  const before = memory();
  const baseline = (await metric(server.url, 'chat_connections')) ?? 0;
  const outcomes = { closed: 0, open: 0 };
  let n = 0;
  await fc.assert(
    fc.asyncProperty(script(), async (s) => {
      outcomes[await play(s, n++)]++;
    }),
    { seed, numRuns: runs },
  );
  // Every fuzzed connection is gone (each was destroyed by the client at the latest).
  for (let i = 0; i < 50 && (await metric(server.url, 'chat_mqtt_sessions')) !== 0; i++) await sleep(100);
  expect(await metric(server.url, 'chat_mqtt_sessions')).toBe(0);
  expect(await metric(server.url, 'chat_connections')).toBe(baseline);
  await normalClientWorks(server);
  // Nothing of the fuzzer's reached the conversation it is not in.
  const log = await readLog(server.url, peer.token, theirs);
  expect(log.filter((e) => e.sender_id === fuzzer.user_id)).toEqual([]);
  expect((await readLog(server.url, fuzzer.token, mine)).every((e) => typeof e.seq === 'number')).toBe(true);
  const after = memory();
  const growthMb = { rss: Math.round((after.rss - before.rss) / 2 ** 20), heap: Math.round((after.heap - before.heap) / 2 ** 20) };
  expect(growthMb.heap).toBeLessThan(128);
  console.log('fuzz (MQTT)', { seed, runs, outcomes, growthMb });
});

/**
 * Packets cut across TCP chunks, on connections whose chunks interleave: the MQTT
 * listener shares its parsers between connections between packets, so a parser holding
 * part of one connection's packet must never see another's bytes.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { createConversation, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

let server: TestServer;
let port: number;

beforeAll(async () => {
  server = await startTestServer();
  port = Number(new URL(server.mqttUrl as string).port);
});

afterAll(async () => {
  await stopTestServer(server);
});

interface Raw {
  socket: Socket;
  packets: Packet[];
}

async function open(version: 4 | 5): Promise<Raw> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const packets: Packet[] = [];
  const parser = mqttPacket.parser({ protocolVersion: version });
  parser.on('packet', (p: Packet) => packets.push(p));
  socket.on('data', (d: Buffer) => parser.parse(d));
  await new Promise((r) => socket.once('connect', r));
  return { socket, packets };
}

/** Writes `bytes` in pieces of `size`, each its own TCP segment (a pause between). */
async function dribble(socket: Socket, bytes: Buffer, size: number): Promise<void> {
  for (let i = 0; i < bytes.length; i += size) {
    socket.write(bytes.subarray(i, i + size));
    await sleep(5);
  }
}

const connectPacket = (user: TestUser, clientId: string, version: 4 | 5): Buffer =>
  mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId, clean: true, keepalive: 60, username: user.user_id, password: Buffer.from(user.token) }, { protocolVersion: version });
const publish = (frame: unknown, messageId: number, version: 4 | 5): Buffer =>
  mqttPacket.generate({ cmd: 'publish', topic: 'up', payload: Buffer.from(JSON.stringify(frame)), qos: 1, messageId, dup: false, retain: false }, { protocolVersion: version });

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await sleep(20);
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

const frames = (raw: Raw): Record<string, unknown>[] =>
  raw.packets.filter((p): p is Packet & { cmd: 'publish'; payload: Buffer } => p.cmd === 'publish').map((p) => JSON.parse(p.payload.toString()) as Record<string, unknown>);

test('two connections sending packets byte by byte, interleaved, both open sessions and send', async () => {
  const alice = await registerUser(server.url);
  const bob = await registerUser(server.url);
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  const a = await open(5);
  const b = await open(4);
  const stream = (user: TestUser, id: string, v: 4 | 5) =>
    Buffer.concat([connectPacket(user, id, v), publish({ type: 'CONNECT' }, 1, v), publish({ type: 'SEND', client_msg_id: `${id}-1`, conv_id: conv, body: `from ${id}` }, 2, v)]);
  // Both dribble at once: their chunks reach the server interleaved, each packet in pieces.
  await Promise.all([dribble(a.socket, stream(alice, 'chunk-a', 5), 7), dribble(b.socket, stream(bob, 'chunk-b', 4), 5)]);
  await until('both ACKs', () => frames(a).some((f) => f.type === 'ACK') && frames(b).some((f) => f.type === 'ACK'));
  expect(frames(a).find((f) => f.type === 'CONNACK')).toMatchObject({ user_id: alice.user_id, device_id: 'chunk-a' });
  expect(frames(b).find((f) => f.type === 'CONNACK')).toMatchObject({ user_id: bob.user_id, device_id: 'chunk-b' });
  expect(frames(a).find((f) => f.type === 'ACK')).toMatchObject({ client_msg_id: 'chunk-a-1', conv_id: conv });
  expect(frames(b).find((f) => f.type === 'ACK')).toMatchObject({ client_msg_id: 'chunk-b-1', conv_id: conv });
  a.socket.destroy();
  b.socket.destroy();
});

test('several packets in one chunk, the last cut: the rest arrives later', async () => {
  const carol = await registerUser(server.url);
  const c = await open(5);
  const all = Buffer.concat([connectPacket(carol, 'chunk-c', 5), publish({ type: 'CONNECT' }, 1, 5), publish({ type: 'PING' }, 2, 5)]);
  c.socket.write(all.subarray(0, all.length - 3));
  await sleep(100);
  expect(frames(c).some((f) => f.type === 'PONG')).toBe(false);
  c.socket.write(all.subarray(all.length - 3));
  await until('PONG', () => frames(c).some((f) => f.type === 'PONG'));
  c.socket.destroy();
});

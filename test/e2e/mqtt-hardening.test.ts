/**
 * MQTT connections that misbehave, from a stranger's review: a flood of PINGREQs from a
 * client that does not read, a WebSocket closed under MQTT, a refused connection that
 * trickles bytes, a DISCONNECT without the TCP close, an unknown protocol level, frames held
 * by a small receive maximum, a receive maximum of 0. Each must end in a bounded state.
 */
import { connect } from 'node:net';
import WebSocket from 'ws';
import { generate, parser, type IConnectPacket, type Packet } from 'mqtt-packet';
import { RawMqtt, frameOf } from './mqtt-raw';
import { createConversation, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

let server: TestServer;
let alice: TestUser;
let conv: string;
let port: number;

beforeAll(async () => {
  server = await startTestServer({ CONNECT_TIMEOUT_MS: '1000', MAX_SOCKET_BUFFER_BYTES: '65536' });
  alice = await registerUser(server.url);
  conv = await createConversation(server.url, alice, 'direct', [await registerUser(server.url)]);
  port = Number(new URL(server.mqttUrl as string).port);
});

afterAll(async () => {
  await stopTestServer(server);
});

const metric = async (s: TestServer, name: string): Promise<number> =>
  Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? 'NaN');

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const connectPacket = (fields: Partial<IConnectPacket>, version: 4 | 5 = 5): Buffer =>
  generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: 'h', username: alice.user_id, password: Buffer.from(alice.token), ...fields } as IConnectPacket, { protocolVersion: version });

test('a flood of PINGREQs in one read gets one PINGRESP, not one each', async () => {
  const { raw } = await RawMqtt.session(server.mqttUrl as string, 5, alice.token, 'flood');
  const ping = generate({ cmd: 'pingreq' });
  raw.socket.write(Buffer.concat(Array.from({ length: 20_000 }, () => ping)));
  await sleep(500);
  const pongs = raw.packets.filter((p) => p.cmd === 'pingresp').length;
  expect(pongs).toBeGreaterThanOrEqual(1);
  expect(pongs).toBeLessThan(200); // one per read of the server, never 20,000
  raw.destroy();
});

test('MQTT over WebSocket: the client closing its WebSocket ends the session at once', async () => {
  await sleep(300); // the sessions of the tests before are gone
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/mqtt`, 'mqtt');
  const packets: Packet[] = [];
  const p = parser({ protocolVersion: 5 });
  p.on('packet', (packet: Packet) => packets.push(packet));
  ws.on('message', (data: Buffer) => p.parse(data));
  await new Promise((r) => ws.once('open', r));
  ws.send(connectPacket({ clientId: 'ws-close' }));
  ws.send(generate({ cmd: 'publish', topic: 'up', payload: Buffer.from('{"type":"CONNECT"}'), qos: 0, dup: false, retain: false }, { protocolVersion: 5 }));
  await until('the CONNACK frame', () => packets.some((x) => x.cmd === 'publish'));
  const during = await metric(server, 'chat_mqtt_sessions');
  expect(during).toBeGreaterThanOrEqual(1);
  ws.close(1000);
  await until('the session gone', async () => (await metric(server, 'chat_mqtt_sessions')) === during - 1, 2000);
});

test('a client DISCONNECT ends the connection even when the client never closes its side', async () => {
  const { raw } = await RawMqtt.session(server.mqttUrl as string, 4, alice.token, 'half');
  raw.send({ cmd: 'disconnect' });
  expect(await raw.closedWithin(1000)).toBe(true);
});

test('a protocol level this server does not speak gets CONNACK 1 (unacceptable protocol version)', async () => {
  const socket = connect(port, '127.0.0.1');
  const bytes: Buffer[] = [];
  socket.on('data', (d: Buffer) => bytes.push(d));
  await new Promise((r) => socket.once('connect', r));
  // A 3.1.1 CONNECT with its level byte (after 0x00 0x04 "MQTT") set to 6.
  const packet = connectPacket({ clientId: 'level6' }, 4);
  packet[packet.indexOf('MQTT') + 4] = 6;
  socket.write(packet);
  await new Promise((r) => socket.once('close', r));
  expect(Buffer.concat(bytes)).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x01]));
});

test('MQTT 5 receive maximum of 0 is refused (0x82)', async () => {
  const { connack } = await RawMqtt.connect(server.mqttUrl as string, 5, { clientId: 'rm0', password: Buffer.from(alice.token), properties: { receiveMaximum: 0 } });
  expect(connack.reasonCode).toBe(0x82);
});

test('frames held by the receive maximum keep their order: a QoS 0 PONG does not overtake the ACK waiting before it', async () => {
  const { raw } = await RawMqtt.connect(server.mqttUrl as string, 5, { clientId: 'rm1', password: Buffer.from(alice.token), properties: { receiveMaximum: 1 } }, { autoPuback: false });
  raw.publish({ type: 'CONNECT' });
  await until('the CONNACK frame', () => raw.publishes.length >= 1);
  // The CONNACK holds the one slot: the ACK (QoS 1) waits, and the PONG (QoS 0) behind it.
  raw.publish({ type: 'SEND', client_msg_id: 'held', conv_id: conv, body: 'wait for it' });
  raw.publish({ type: 'PING' });
  await sleep(300);
  expect(raw.publishes.map(frameOf).map((f) => f.type)).toEqual(['CONNACK']);
  raw.send({ cmd: 'puback', messageId: raw.publishes[0].messageId });
  await until('the ACK and the PONG', () => raw.publishes.length >= 3);
  expect(raw.publishes.map(frameOf).map((f) => f.type)).toEqual(['CONNACK', 'ACK', 'PONG']);
  raw.destroy();
});

test('a connection refused by the opening limits is closed by its deadline however slowly it sends', async () => {
  const strict = await startTestServer({ CONNECT_TIMEOUT_MS: '1000', SESSION_OPEN_PER_SECOND: '1', SESSION_OPEN_BURST: '1' });
  try {
    const url = strict.mqttUrl as string;
    const first = await RawMqtt.open(url, 5); // spends the address's one opening
    const refused = await RawMqtt.open(url, 5);
    const packet = connectPacket({ clientId: 'slow' });
    const started = Date.now();
    // One byte every 300 ms: an idle timeout would never fire.
    for (let i = 0; i < 20 && !refused.ended; i++) {
      refused.socket.write(packet.subarray(i, i + 1));
      await sleep(300);
    }
    expect(refused.ended).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
    first.destroy();
  } finally {
    await stopTestServer(strict);
  }
});

/**
 * What stock MQTT libraries do at a reconnect, before the app can publish its protocol
 * CONNECT: mqtt.js resends its unacknowledged QoS 1 PUBLISHes and flushes what it queued
 * offline as soon as the MQTT CONNACK arrives. Those frames wait for the CONNECT and are
 * handled right after it; a CONNECT the library replays later is refused as a second one.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { createConversation, registerUser, sleep, startTestServer, stopTestServer, TestSocket, type Frame, type TestServer, type TestUser } from './harness';

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let conv: string;

beforeAll(async () => {
  server = await startTestServer();
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
  conv = await createConversation(server.url, alice, 'direct', [bob]);
});

afterAll(async () => {
  await stopTestServer(server);
});

function framesOf(client: MqttClient): Frame[] {
  const frames: Frame[] = [];
  client.on('message', (topic, payload) => {
    if (!topic.endsWith('/close')) frames.push(JSON.parse(payload.toString()) as Frame);
  });
  return frames;
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('a SEND the library publishes before the app CONNECTs waits for the CONNECT and is ACKed after its CONNACK', async () => {
  const client = mqtt.connect(server.mqttUrl as string, { clientId: 'early-1', username: alice.user_id, password: alice.token, protocolVersion: 5, reconnectPeriod: 0 });
  const frames = framesOf(client);
  await new Promise((r) => client.once('connect', r));
  // The order a library's resend produces: the SEND first, the app's CONNECT after.
  client.publish('up', JSON.stringify({ type: 'SEND', client_msg_id: 'early-send', conv_id: conv, body: 'resent by the library' }), { qos: 1 });
  await sleep(100);
  expect(frames).toEqual([]);
  client.publish('up', JSON.stringify({ type: 'CONNECT' }), { qos: 1 });
  await until('the ACK', () => frames.some((f) => f.type === 'ACK'));
  expect(frames.map((f) => f.type).slice(0, 2)).toEqual(['CONNACK', 'ACK']);
  expect(frames[1]).toMatchObject({ client_msg_id: 'early-send', conv_id: conv });
  // A CONNECT the library replays later is a second one.
  client.publish('up', JSON.stringify({ type: 'CONNECT' }), { qos: 1 });
  await until('the ERROR', () => frames.some((f) => f.type === 'ERROR'));
  expect(frames.find((f) => f.type === 'ERROR')).toMatchObject({ code: 'bad_request', message: 'already connected' });
  client.end(true);
});

test('mqtt.js with clean: false resends an unacknowledged SEND at reconnect, before the app CONNECTs: it is ACKed, and stored once', async () => {
  const { sock: bobSock } = await TestSocket.connect(server.wsUrl, bob.token, 'bob-web');
  const client = mqtt.connect(server.mqttUrl as string, { clientId: 'early-2', username: alice.user_id, password: alice.token, protocolVersion: 4, clean: false, reconnectPeriod: 200 });
  const frames = framesOf(client);
  client.on('connect', () => client.publish('up', JSON.stringify({ type: 'CONNECT' }), { qos: 1 }));
  await until('the CONNACK', () => frames.some((f) => f.type === 'CONNACK'));
  // The PUBLISH is written and the connection dropped before the PUBACK can come back (it
  // rides with the ACK, a few ms later): the library keeps it and resends it with DUP.
  client.publish('up', JSON.stringify({ type: 'SEND', client_msg_id: 'resent', conv_id: conv, body: 'once' }), { qos: 1 });
  (client.stream as unknown as { destroy(): void }).destroy();
  await until('a second CONNACK and an ACK', () => frames.filter((f) => f.type === 'CONNACK').length >= 2 && frames.some((f) => f.type === 'ACK' && f.client_msg_id === 'resent'), 10_000);
  const delivered = await bobSock.next((f) => f.type === 'DELIVER' && f.body === 'once');
  await bobSock.none((f) => f.type === 'DELIVER' && f.body === 'once' && f.seq !== delivered.seq, 500);
  client.end(true);
  bobSock.close();
});

test('a second connection with the same client id takes over: the first gets close 4009 (MQTT 5: DISCONNECT 0x8E)', async () => {
  const first = mqtt.connect(server.mqttUrl as string, { clientId: 'twice', username: alice.user_id, password: alice.token, protocolVersion: 5, reconnectPeriod: 0 });
  const firstFrames = framesOf(first);
  let notice = '';
  let disconnect = -1;
  first.on('message', (topic, payload) => {
    if (topic.endsWith('/close')) notice = payload.toString();
  });
  first.on('disconnect', (packet) => (disconnect = packet.reasonCode ?? -1));
  await new Promise((r) => first.once('connect', r));
  first.publish('up', JSON.stringify({ type: 'CONNECT' }), { qos: 0 });
  await until('the first CONNACK', () => firstFrames.some((f) => f.type === 'CONNACK'));
  // Another user's device of the same name is not the same client.
  const other = mqtt.connect(server.mqttUrl as string, { clientId: 'twice', username: bob.user_id, password: bob.token, protocolVersion: 5, reconnectPeriod: 0 });
  await new Promise((r) => other.once('connect', r));
  await sleep(200);
  expect(notice).toBe('');

  const second = mqtt.connect(server.mqttUrl as string, { clientId: 'twice', username: alice.user_id, password: alice.token, protocolVersion: 4, reconnectPeriod: 0 });
  const secondFrames = framesOf(second);
  await new Promise((r) => second.once('connect', r));
  await until('the close notice', () => notice !== '');
  expect(JSON.parse(notice)).toEqual({ code: 4009, reason: 'the device connected again' });
  await until('the DISCONNECT', () => disconnect !== -1);
  expect(disconnect).toBe(0x8e);
  second.publish('up', JSON.stringify({ type: 'CONNECT' }), { qos: 0 });
  await until('the second CONNACK', () => secondFrames.some((f) => f.type === 'CONNACK'));
  first.end(true);
  second.end(true);
  other.end(true);
});

/**
 * The life of an MQTT session over a real server (docs/protocol.md, "MQTT"): QoS 1 after a
 * dropped connection (the library's resend answered by idempotency, DELIVERs replayed by
 * CONNECT sync, not by MQTT), an MQTT device among WebSocket ones (presence, live
 * DELIVERs, sign-out), MQTT over WebSocket, keep-alive and shutdown, on MQTT 5 and 3.1.1.
 */
import type { IDisconnectPacket } from 'mqtt-packet';
import type { MqttVersion } from './carriers';
import { TestSocket, createConversation, http, pollUntil, registerUser, sleep, startTestServer, stopTestServer, type Frame, type TestServer, type TestUser } from './harness';
import { RawMqtt, frameOf } from './mqtt-raw';
import { collect, fresh, stock, waitFor } from './mqtt-stock';

let server: TestServer;
let mqttUrl: string;
let alice: TestUser;
let bob: TestUser;
let conv: string;

beforeAll(async () => {
  server = await startTestServer();
  if (server.mqttUrl === null) throw new Error('the test server has no MQTT listener');
  mqttUrl = server.mqttUrl;
  [alice, bob] = await Promise.all([registerUser(server.url), registerUser(server.url)]);
  conv = await createConversation(server.url, alice, 'direct', [bob]);
});
afterAll(() => stopTestServer(server));

/** The events of `c` as `user` sees them over REST. */
async function events(c: string, user: TestUser = alice): Promise<{ seq: number; kind: string; body?: string; client_msg_id?: string }[]> {
  return (await http(server.url, 'GET', `/api/v1/conversations/${c}/events?after=0`, undefined, user.token)).body.events;
}

describe('QoS 1 after a dropped connection', () => {
  test('a SEND in flight when the connection drops is resent by the client library on reconnect: ACK duplicate, one event', async () => {
    const c = await createConversation(server.url, alice, 'group', [bob], 'resend');
    const { client } = await stock(mqttUrl, { clientId: fresh('resend'), password: alice.token, protocolVersion: 5 });
    const got = collect(client);
    // Reads nothing from here on: the PUBACKs and the ACK stay unread, so the library
    // keeps both PUBLISHes in its outgoing store.
    client.stream.pause();
    const cmid = fresh('inflight');
    client.publish('up', JSON.stringify({ type: 'CONNECT' }), { qos: 1 });
    client.publish('up', JSON.stringify({ type: 'SEND', client_msg_id: cmid, conv_id: c, body: 'once' }), { qos: 1 });
    const stored = await pollUntil(() => events(c), (e) => e.some((ev) => ev.client_msg_id === cmid));
    expect(stored.filter((ev) => ev.client_msg_id === cmid)).toHaveLength(1);
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.stream.destroy();
    await closed;
    expect(got.frames).toEqual([]);
    // Same stores: reconnect() without them starts empty (what an app's automatic reconnect keeps).
    client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    const ack = await waitFor(got.frames, (f) => f.type === 'ACK', 'the ACK of the resent SEND');
    expect(ack).toMatchObject({ client_msg_id: cmid, duplicate: true });
    expect(got.frames.map((f) => f.type)).toEqual(['CONNACK', 'ACK']);
    expect((await events(c)).filter((ev) => ev.client_msg_id === cmid)).toHaveLength(1);
    client.end(true);
  });

  test('a PUBLISH resent with DUP by hand after a reconnect gets the original ACK, duplicate: true', async () => {
    const c = await createConversation(server.url, alice, 'group', [bob], 'dup');
    const device = fresh('dup');
    const first = await RawMqtt.session(mqttUrl, 5, alice.token, device);
    const cmid = fresh('dup');
    const frame = { type: 'SEND', client_msg_id: cmid, conv_id: c, body: 'dup' };
    first.raw.publish(frame, { messageId: 9 });
    const original = await first.raw.frame((f) => f.type === 'ACK');
    first.raw.destroy();
    const second = await RawMqtt.session(mqttUrl, 5, alice.token, device);
    second.raw.publish(frame, { messageId: 9, dup: true });
    expect(await second.raw.next((p) => p.cmd === 'puback' && p.messageId === 9)).toBeDefined();
    expect(await second.raw.frame((f) => f.type === 'ACK')).toEqual({ ...original, duplicate: true });
    expect((await events(c)).filter((ev) => ev.client_msg_id === cmid)).toHaveLength(1);
    second.raw.destroy();
  });

  test('a DELIVER not PUBACKed before the drop is not redelivered by MQTT; CONNECT sync replays it once', async () => {
    const c = await createConversation(server.url, alice, 'group', [bob], 'replay');
    const device = fresh('replay');
    const first = await RawMqtt.session(mqttUrl, 5, bob.token, device);
    const a = await TestSocket.connect(server.wsUrl, alice.token, fresh('alice'), undefined, 'websocket');
    const seen = (await a.sock.sendMessage(c, 'seen', fresh('seen'))).seq as number;
    await first.raw.frame((f) => f.type === 'DELIVER' && f.seq === seen);
    first.raw.autoPuback = false;
    const missed = (await a.sock.sendMessage(c, 'missed', fresh('missed'))).seq as number;
    const unacked = await first.raw.frame((f) => f.type === 'DELIVER' && f.seq === missed);
    expect(unacked.body).toBe('missed');
    first.raw.destroy();

    const { raw } = await RawMqtt.connect(mqttUrl, 5, { clientId: device, password: Buffer.from(bob.token), clean: false });
    raw.publish({ type: 'CONNECT', sync: { convs: { [c]: seen } } });
    const connack = await raw.frame((f) => f.type === 'CONNACK');
    expect(connack.missed.map((e: Frame) => [e.seq, e.body])).toEqual([[missed, 'missed']]);
    await sleep(300);
    expect(raw.publishes.map(frameOf).filter((f) => f.type === 'DELIVER')).toEqual([]);
    raw.destroy();
    a.sock.close();
  });
});

describe('sessions over MQTT among the others', () => {
  test('an MQTT device counts as online for presence and gets live DELIVERs from a WebSocket sender', async () => {
    const carol = await registerUser(server.url);
    const c = await createConversation(server.url, alice, 'direct', [carol]);
    const watcher = await TestSocket.connect(server.wsUrl, alice.token, fresh('watcher'), undefined, 'websocket');
    watcher.sock.send({ type: 'PRESENCE_SUB', user_ids: [carol.user_id] });
    expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: carol.user_id, state: 'offline' });
    const phone = await TestSocket.connect(server.wsUrl, carol.token, fresh('phone'), undefined, 'mqtt');
    expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: carol.user_id, state: 'online' });
    const ack = await watcher.sock.sendMessage(c, 'to mqtt', fresh('live'));
    expect(await phone.sock.next((f) => f.type === 'DELIVER')).toMatchObject({ conv_id: c, seq: ack.seq, body: 'to mqtt', sender_id: alice.user_id });
    phone.sock.close();
    expect(await phone.sock.closed).toBe(1000);
    expect(await watcher.sock.next((f) => f.type === 'PRESENCE')).toMatchObject({ user_id: carol.user_id, state: 'offline' });
    watcher.sock.close();
  });

  test.each([5, 4] as MqttVersion[])('MQTT over WebSocket at /mqtt carries a session (level %i)', async (version) => {
    const { client } = await stock(server.url.replace('http', 'ws') + '/mqtt', { clientId: fresh('mqtt-ws'), password: alice.token, protocolVersion: version });
    const got = collect(client);
    client.publish('up', JSON.stringify({ type: 'CONNECT' }), { qos: 1 });
    expect(await waitFor(got.frames, (f) => f.type === 'CONNACK', 'CONNACK')).toMatchObject({ user_id: alice.user_id });
    const cmid = fresh('over-ws');
    client.publish('up', JSON.stringify({ type: 'SEND', client_msg_id: cmid, conv_id: conv, body: 'via /mqtt' }), { qos: 1 });
    const ack = await waitFor(got.frames, (f) => f.type === 'ACK', 'ACK');
    expect(ack).toMatchObject({ client_msg_id: cmid, conv_id: conv });
    expect((await events(conv)).find((e) => e.seq === ack.seq)).toMatchObject({ body: 'via /mqtt' });
    client.end(true);
  });

  test.each([5, 4] as MqttVersion[])('signing the device out closes its MQTT session: ERROR unauthorized, close 4001 (level %i)', async (version) => {
    const dana = await registerUser(server.url);
    const { raw } = await RawMqtt.session(mqttUrl, version, dana.token, fresh('signed'));
    expect((await http(server.url, 'POST', '/api/v1/auth/logout-all', undefined, dana.token)).status).toBe(204);
    expect(await raw.frame()).toMatchObject({ type: 'ERROR', code: 'unauthorized' });
    expect(await raw.closeNotice()).toMatchObject({ code: 4001 });
    if (version === 5) expect(await raw.next((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x87 });
    expect(await raw.closedWithin(3000)).toBe(true);
  });
});

describe('keep-alive', () => {
  let ka: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    ka = await startTestServer({ HEARTBEAT_MS: '1000' });
    user = await registerUser(ka.url);
  });
  afterAll(() => stopTestServer(ka));

  test.each([5, 4] as MqttVersion[])('a client silent past 1.5 × its keep-alive is dropped; one that sends PINGREQ stays (level %i)', async (version) => {
    const url = ka.mqttUrl ?? '';
    const silent = await RawMqtt.session(url, version, user.token, fresh('silent'), { keepalive: 1 });
    const pinger = await RawMqtt.session(url, version, user.token, fresh('pinger'), { keepalive: 1 });
    const timer = setInterval(() => pinger.raw.send({ cmd: 'pingreq' }), 400);
    try {
      expect(await silent.raw.closedWithin(6000)).toBe(true);
      // Dropped like a socket that stopped answering pings: no close notice.
      expect(silent.raw.packets.filter((p) => p.cmd === 'publish')).toEqual([]);
      await sleep(2000);
      expect(pinger.raw.ended).toBe(false);
      expect(await pinger.raw.next((p) => p.cmd === 'pingresp')).toBeDefined();
    } finally {
      clearInterval(timer);
      pinger.raw.destroy();
    }
  });
});

test('shutdown: the close notice 1012 (MQTT 5: DISCONNECT server shutting down)', async () => {
  const s = await startTestServer();
  const user = await registerUser(s.url);
  const url = s.mqttUrl ?? '';
  const five = await RawMqtt.session(url, 5, user.token, fresh('five'));
  const four = await RawMqtt.session(url, 4, user.token, fresh('four'));
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  expect(metrics).toMatch(/^chat_mqtt_sessions 2$/m);
  expect(metrics).toMatch(/^chat_connections 2$/m);
  await stopTestServer(s);
  for (const { raw } of [five, four]) expect(await raw.closeNotice()).toMatchObject({ code: 1012 });
  const disconnect = (await five.raw.next((p) => p.cmd === 'disconnect')) as IDisconnectPacket;
  expect(disconnect.reasonCode).toBe(0x8b);
  expect(disconnect.properties?.reasonString).toMatch(/^1012 /);
  for (const { raw } of [five, four]) expect(await raw.closedWithin(3000)).toBe(true);
});

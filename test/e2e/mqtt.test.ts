/**
 * The MQTT carrier over a real server (docs/protocol.md, "MQTT"), spoken by the stock
 * `mqtt` client and, where a library refuses to send bad input or hides what came back,
 * by raw packets (mqtt-packet's generate on a node:net socket): CONNECT and its refusals,
 * opening limits, CONNACK properties, topics and their QoS, SUBSCRIBE and PUBLISH rights,
 * sizes and malformed packets, on MQTT 5 and 3.1.1 where they differ. The life of a
 * session (drops and redelivery, presence, keep-alive, shutdown) is in
 * mqtt-sessions.test.ts; the protocol suites also run whole over MQTT (jest project e2e-mqtt).
 */
import type { IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { MqttCarrier, type MqttVersion } from './carriers';
import { TestSocket, createConversation, http, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import { RawMqtt, frameOf } from './mqtt-raw';
import { collect, connackCode, fresh, stock, waitFor } from './mqtt-stock';

let server: TestServer;
let mqttUrl: string;
let alice: TestUser;
let bob: TestUser;
let conv: string;

const maxFrameBytes = 4096;
/** 16 × MAX_FRAME_BYTES plus 1 KiB of MQTT headers. */
const packetCap = 16 * maxFrameBytes + 1024;
const maxKeepAliveS = 120;

beforeAll(async () => {
  server = await startTestServer({ CONNECT_TIMEOUT_MS: '500', MAX_FRAME_BYTES: String(maxFrameBytes), MQTT_MAX_KEEPALIVE_S: String(maxKeepAliveS) });
  if (server.mqttUrl === null) throw new Error('the test server has no MQTT listener');
  mqttUrl = server.mqttUrl;
  [alice, bob] = await Promise.all([registerUser(server.url), registerUser(server.url)]);
  conv = await createConversation(server.url, alice, 'direct', [bob]);
});
afterAll(() => stopTestServer(server));

/** The events of `c` as `user` sees them over REST. */
async function events(c: string, user: TestUser = alice): Promise<{ seq: number; kind: string }[]> {
  return (await http(server.url, 'GET', `/api/v1/conversations/${c}/events?after=0`, undefined, user.token)).body.events;
}

describe.each([5, 4] as MqttVersion[])('MQTT CONNECT (protocol level %i)', (version) => {
  const v5 = version === 5;

  test('a bad token, a deleted user and no password are refused: bad user name or password, then closed', async () => {
    const gone = await registerUser(server.url);
    expect((await http(server.url, 'DELETE', '/api/v1/me', { password: 'correct horse battery' }, gone.token)).status).toBe(204);
    for (const password of ['not-a-jwt', gone.token, undefined]) {
      const { raw, connack } = await RawMqtt.connect(mqttUrl, version, { clientId: fresh('bad'), ...(password === undefined ? {} : { password: Buffer.from(password) }) });
      expect({ password, code: connackCode(connack), present: connack.sessionPresent }).toEqual({ password, code: v5 ? 0x86 : 4, present: false });
      if (v5) expect(connack.properties?.reasonString).toEqual(expect.any(String));
      expect(await raw.closedWithin(3000)).toBe(true);
    }
  });

  test('a client id empty or over 64 characters is refused: client identifier not valid', async () => {
    for (const clientId of ['', 'd'.repeat(65)]) {
      const { raw, connack } = await RawMqtt.connect(mqttUrl, version, { clientId, password: Buffer.from(alice.token) });
      expect({ clientId, code: connackCode(connack) }).toEqual({ clientId, code: v5 ? 0x85 : 2 });
      expect(await raw.closedWithin(3000)).toBe(true);
    }
  });

  test('a CONNECT with a will is refused (wills are not supported)', async () => {
    const { raw, connack } = await RawMqtt.connect(mqttUrl, version, { clientId: fresh('will'), password: Buffer.from(alice.token), will: { topic: 'up', payload: Buffer.from('{"type":"PING"}'), qos: 0, retain: false } });
    expect(connackCode(connack)).toBe(v5 ? 0x83 : 2);
    expect(await raw.closedWithin(3000)).toBe(true);
  });

  test('the stock client reports the refusal; the harness reads it as close 4001', async () => {
    const sock = new TestSocket(new MqttCarrier(mqttUrl, version));
    sock.send({ type: 'CONNECT', token: 'not-a-jwt', device_id: fresh('stock-bad') });
    expect(await sock.closed).toBe(4001);
    expect(sock.frames).toEqual([]);
  });

  test('session present is always 0, whatever clean session says', async () => {
    for (const clean of [true, false]) {
      const { raw, connack } = await RawMqtt.connect(mqttUrl, version, { clientId: 'kept', clean, password: Buffer.from(alice.token) });
      expect({ clean, code: connackCode(connack), present: connack.sessionPresent }).toEqual({ clean, code: 0, present: false });
      raw.send({ cmd: 'disconnect' });
      await raw.closedWithin(3000);
    }
  });

  test('a protocol CONNECT without token and device_id opens the session as the MQTT CONNECT named it', async () => {
    const device = fresh('bare');
    const { raw, connack } = await RawMqtt.session(mqttUrl, version, alice.token, device);
    expect(connack).toMatchObject({ user_id: alice.user_id, device_id: device });
    expect(raw.publishes.map((p) => p.topic)).toEqual([`down/${alice.user_id}/${device}`]);
    raw.destroy();
  });

  test('a protocol CONNECT whose token or device_id differs from the MQTT CONNECT: ERROR bad_request, close 4002', async () => {
    for (const frame of [
      { type: 'CONNECT', token: bob.token },
      { type: 'CONNECT', token: alice.token, device_id: 'another-device' },
    ]) {
      const device = fresh('differs');
      const { raw } = await RawMqtt.connect(mqttUrl, version, { clientId: device, password: Buffer.from(alice.token) });
      raw.publish(frame);
      expect(await raw.frame()).toMatchObject({ type: 'ERROR', code: 'bad_request' });
      expect(await raw.closeNotice()).toMatchObject({ code: 4002 });
      if (v5) expect(await raw.next((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x82 });
      expect(await raw.closedWithin(3000)).toBe(true);
    }
  });

  test('a first frame that is not a valid CONNECT: its ERROR, then close 4002 (as on /ws)', async () => {
    const cases: [unknown, string][] = [
      // Not a client frame type (a known one, such as PING, waits for the CONNECT: mqtt-reconnect.test.ts).
      [{ type: 'NOPE' }, 'bad_request'],
      ['{not json', 'bad_request'],
      [{ type: 'CONNECT', pad: 'x'.repeat(maxFrameBytes + 10) }, 'too_large'],
      // Not UTF-8 (MQTT's counterpart of a binary first frame on /ws).
      [Buffer.from([0x7b, 0xff, 0x7d]), 'bad_request'],
    ];
    for (const [frame, code] of cases) {
      const { raw } = await RawMqtt.connect(mqttUrl, version, { clientId: fresh('first'), password: Buffer.from(alice.token) });
      raw.publish(frame);
      expect({ frame: String(frame).slice(0, 20), error: await raw.frame() }).toEqual({ frame: String(frame).slice(0, 20), error: expect.objectContaining({ type: 'ERROR', code, ref: null }) });
      expect(await raw.closeNotice()).toEqual({ code: 4002, reason: 'first frame must be a valid CONNECT' });
      expect(await raw.closedWithin(3000)).toBe(true);
    }
  });

  test('no protocol CONNECT within CONNECT_TIMEOUT_MS: close 4002', async () => {
    const { raw, connack } = await RawMqtt.connect(mqttUrl, version, { clientId: fresh('mute'), password: Buffer.from(alice.token) });
    expect(connackCode(connack)).toBe(0);
    expect(await raw.closeNotice(3000)).toMatchObject({ code: 4002 });
    if (v5) expect(await raw.next((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x82 });
    expect(await raw.closedWithin(3000)).toBe(true);
  });
});

describe('before the MQTT CONNECT', () => {
  test('a connection that sends no CONNECT is closed after CONNECT_TIMEOUT_MS', async () => {
    const raw = await RawMqtt.open(mqttUrl, 5);
    expect(await raw.closedWithin(3000)).toBe(true);
    expect(raw.packets).toEqual([]);
  });

  test('a connection whose first packet is not CONNECT is closed', async () => {
    const raw = await RawMqtt.open(mqttUrl, 5);
    raw.send({ cmd: 'pingreq' });
    expect(await raw.closedWithin(400)).toBe(true);
    expect(raw.packets).toEqual([]);
  });

  test('a protocol level other than 4 or 5 is refused as 3.1.1: unacceptable protocol version', async () => {
    const { raw, connack } = await RawMqtt.connect(mqttUrl, 4, { protocolVersion: 3, protocolId: 'MQIsdp', clientId: fresh('v3'), password: Buffer.from(alice.token) });
    expect(connack.returnCode).toBe(1);
    expect(await raw.closedWithin(3000)).toBe(true);
  });
});

describe('opening limits', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ SESSION_OPEN_PER_SECOND: '1', SESSION_OPEN_BURST: '2' });
  });
  afterAll(() => stopTestServer(limited));

  test('over the per-address limit the CONNECT is refused: 5: connection rate exceeded, 3.1.1: server unavailable', async () => {
    const user = await registerUser(limited.url);
    const url = limited.mqttUrl ?? '';
    const opened: RawMqtt[] = [];
    for (let i = 0; i < 2; i++) {
      const { raw, connack } = await RawMqtt.connect(url, 5, { clientId: fresh('ok'), password: Buffer.from(user.token) });
      expect(connackCode(connack)).toBe(0);
      opened.push(raw);
    }
    for (const version of [5, 4] as MqttVersion[]) {
      const { raw, connack } = await RawMqtt.connect(url, version, { clientId: fresh('over'), password: Buffer.from(user.token) });
      expect({ version, code: connackCode(connack) }).toEqual({ version, code: version === 5 ? 0x9f : 3 });
      expect(await raw.closedWithin(3000)).toBe(true);
    }
    for (const raw of opened) raw.destroy();
  });
});

describe("CONNACK's MQTT 5 properties", () => {
  test('maximum QoS 1, no retain, no topic aliases from the client, the packet cap, and the keep-alive the server counts', async () => {
    for (const [keepalive, counted] of [
      [30, 30],
      [0, maxKeepAliveS],
      [maxKeepAliveS + 500, maxKeepAliveS],
    ]) {
      const { client, connack } = await stock(mqttUrl, { clientId: fresh('props'), password: alice.token, protocolVersion: 5, keepalive });
      const props = connack.properties ?? {};
      expect({ keepalive, qos: props.maximumQoS, retain: props.retainAvailable, size: props.maximumPacketSize, aliases: props.topicAliasMaximum ?? 0, serverKeepAlive: props.serverKeepAlive ?? keepalive }).toEqual({
        keepalive,
        qos: 1,
        retain: false,
        size: packetCap,
        aliases: 0,
        serverKeepAlive: counted,
      });
      client.end(true);
    }
  });
});

describe('frames and their QoS', () => {
  test.each([5, 4] as MqttVersion[])('TYPING, PRESENCE and PONG at QoS 0; CONNACK, ACK, DELIVER and READ_SYNC at QoS 1 (level %i)', async (version) => {
    // Users of their own: TYPING is coalesced per member and conversation.
    const [me, peer] = await Promise.all([registerUser(server.url), registerUser(server.url)]);
    const conv = await createConversation(server.url, me, 'direct', [peer]);
    const device = fresh('qos');
    const { client } = await stock(mqttUrl, { clientId: device, password: me.token, protocolVersion: version });
    const got = collect(client);
    const topics: string[] = [];
    client.on('message', (topic) => topics.push(topic));
    const b = await TestSocket.connect(server.wsUrl, peer.token, fresh('peer'), undefined, 'websocket');
    const send = (frame: unknown) => client.publish('up', JSON.stringify(frame), { qos: 1 });
    send({ type: 'CONNECT' });
    await waitFor(got.frames, (f) => f.type === 'CONNACK', 'CONNACK');
    send({ type: 'PRESENCE_SUB', user_ids: [peer.user_id] });
    send({ type: 'PING' });
    const cmid = fresh('m');
    send({ type: 'SEND', client_msg_id: cmid, conv_id: conv, body: 'qos' });
    const ack = await waitFor(got.frames, (f) => f.type === 'ACK' && f.client_msg_id === cmid, 'ACK');
    b.sock.send({ type: 'TYPING', conv_id: conv, state: 'started' });
    const deliver = await b.sock.sendMessage(conv, 'to the phone', fresh('b'));
    await waitFor(got.frames, (f) => f.type === 'DELIVER' && f.seq === deliver.seq, 'DELIVER');
    send({ type: 'READ', conv_id: conv, seq: deliver.seq });
    await waitFor(got.frames, (f) => f.type === 'READ_SYNC', 'READ_SYNC');
    await waitFor(got.frames, (f) => f.type === 'TYPING', 'TYPING');
    const qosOf = (type: string) => [...new Set(got.frames.filter((f) => f.type === type).map((f) => f.qos))];
    expect(Object.fromEntries(['CONNACK', 'PRESENCE', 'PONG', 'ACK', 'TYPING', 'DELIVER', 'READ_SYNC'].map((t) => [t, qosOf(t)]))).toEqual({
      CONNACK: [1],
      PRESENCE: [0],
      PONG: [0],
      ACK: [1],
      TYPING: [0],
      DELIVER: [1],
      READ_SYNC: [1],
    });
    expect([...new Set(topics)]).toEqual([`down/${me.user_id}/${device}`]);
    client.end(true);
    b.sock.close();
  });

  test('a payload that is not UTF-8 is refused with bad_request and the session lives on', async () => {
    const { raw } = await RawMqtt.session(mqttUrl, 5, alice.token, fresh('bytes'));
    raw.publish(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(await raw.frame()).toMatchObject({ type: 'ERROR', code: 'bad_request' });
    raw.publish({ type: 'PING' });
    expect(await raw.frame()).toMatchObject({ type: 'PONG' });
    raw.destroy();
  });

  test('MQTT 5 topic alias: the server names its topic once, then uses alias 1', async () => {
    const device = fresh('alias');
    const { raw } = await RawMqtt.session(mqttUrl, 5, alice.token, device, { properties: { topicAliasMaximum: 4 } });
    raw.publish({ type: 'PING' });
    await raw.frame((f) => f.type === 'PONG');
    const [first, second] = raw.publishes;
    expect([first.topic, first.properties?.topicAlias, second.topic, second.properties?.topicAlias]).toEqual([`down/${alice.user_id}/${device}`, 1, '', 1]);
    raw.destroy();
  });

  test("MQTT 5 receive maximum: past it frames wait on the server until PUBACKed", async () => {
    const { raw } = await RawMqtt.session(mqttUrl, 5, alice.token, fresh('recvmax'), { properties: { receiveMaximum: 2 } });
    raw.autoPuback = false;
    const b = await TestSocket.connect(server.wsUrl, bob.token, fresh('bob'), undefined, 'websocket');
    for (let i = 0; i < 4; i++) await b.sock.sendMessage(conv, `burst ${i}`, fresh('burst'));
    await raw.frame((f) => f.type === 'DELIVER' && f.body === 'burst 0');
    await raw.frame((f) => f.type === 'DELIVER' && f.body === 'burst 1');
    await sleep(300);
    expect(raw.packets.filter((p) => p.cmd === 'publish')).toEqual([]);
    for (const p of raw.publishes.filter((p) => frameOf(p).type === 'DELIVER')) raw.send({ cmd: 'puback', messageId: p.messageId });
    await raw.frame((f) => f.type === 'DELIVER' && f.body === 'burst 2');
    await raw.frame((f) => f.type === 'DELIVER' && f.body === 'burst 3');
    raw.destroy();
    b.sock.close();
  });
});

describe.each([5, 4] as MqttVersion[])('topics (protocol level %i)', (version) => {
  const v5 = version === 5;
  const refused = v5 ? 0x87 : 0x80;

  test("SUBSCRIBE: the device's own topics are granted at QoS min(requested, 1); any other filter is refused; the connection lives on", async () => {
    const device = fresh('subs');
    const own = `down/${alice.user_id}/${device}`;
    const { raw } = await RawMqtt.session(mqttUrl, version, alice.token, device);
    const filters: [string, 0 | 1 | 2, number][] = [
      [own, 2, 1],
      [`${own}/close`, 1, 1],
      [`${own}/#`, 1, 1],
      [`down/${bob.user_id}/${device}`, 1, refused],
      [`down/${alice.user_id}/other-device`, 1, refused],
      [`down/${alice.user_id}/+`, 1, refused],
      ['down/#', 1, refused],
      ['#', 0, refused],
      ['up', 1, refused],
    ];
    raw.send({ cmd: 'subscribe', messageId: 77, subscriptions: filters.map(([topic, qos]) => ({ topic, qos })) });
    const suback = (await raw.next((p) => p.cmd === 'suback')) as ISubackPacket;
    expect(suback.messageId).toBe(77);
    expect(filters.map(([topic], i) => [topic, suback.granted[i]])).toEqual(filters.map(([topic, , granted]) => [topic, granted]));
    raw.send({ cmd: 'unsubscribe', messageId: 78, unsubscriptions: [own] });
    expect(await raw.next((p) => p.cmd === 'unsuback')).toMatchObject({ messageId: 78 });
    // Unsubscribing changes nothing: frames still come, at QoS 1.
    raw.publish({ type: 'SEND', client_msg_id: fresh('after-subs'), conv_id: conv, body: 'still here' });
    expect(await raw.frame((f) => f.type === 'ACK')).toMatchObject({ conv_id: conv });
    expect(raw.publishes[raw.publishes.length - 1]).toMatchObject({ topic: own, qos: 1 });
    raw.destroy();
  });

  test('a grant of QoS 0 on the own topic lowers every frame to QoS 0', async () => {
    const device = fresh('qos0');
    const { raw } = await RawMqtt.session(mqttUrl, version, alice.token, device);
    raw.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: `down/${alice.user_id}/${device}`, qos: 0 }] });
    expect(await raw.next((p) => p.cmd === 'suback')).toMatchObject({ granted: [0] });
    raw.publish({ type: 'SEND', client_msg_id: fresh('low'), conv_id: conv, body: 'lowered' });
    await raw.frame((f) => f.type === 'ACK');
    expect(raw.publishes[raw.publishes.length - 1]).toMatchObject({ qos: 0 });
    raw.destroy();
  });

  test('a PUBLISH to another topic is not processed: PUBACK (5: not authorized), ERROR forbidden', async () => {
    const { raw } = await RawMqtt.session(mqttUrl, version, alice.token, fresh('pub'));
    const before = (await events(conv)).length;
    for (const topic of [`down/${bob.user_id}/phone`, 'up/more', 'elsewhere']) {
      const id = raw.publish({ type: 'SEND', client_msg_id: fresh('forbidden'), conv_id: conv, body: 'not via up' }, { topic });
      const puback = (await raw.next((p) => p.cmd === 'puback' && p.messageId === id)) as IPubackPacket;
      expect({ topic, reason: puback.reasonCode ?? 0 }).toEqual({ topic, reason: v5 ? 0x87 : 0 });
      expect(await raw.frame()).toMatchObject({ type: 'ERROR', code: 'forbidden' });
    }
    raw.publish({ type: 'PING' }, { topic: 'elsewhere', qos: 0 });
    expect(await raw.frame()).toMatchObject({ type: 'ERROR', code: 'forbidden' });
    expect(raw.packets.filter((p) => p.cmd === 'publish')).toEqual([]);
    expect((await events(conv)).length).toBe(before);
    raw.destroy();
  });

  test('a QoS 2 PUBLISH is refused: ERROR bad_request, then close 4002 (5: DISCONNECT protocol error), nothing processed', async () => {
    const { raw } = await RawMqtt.session(mqttUrl, version, alice.token, fresh('qos2'));
    const before = (await events(conv)).length;
    raw.publish({ type: 'SEND', client_msg_id: fresh('qos2'), conv_id: conv, body: 'exactly once?' }, { qos: 2 });
    expect(await raw.frame()).toMatchObject({ type: 'ERROR', code: 'bad_request', message: 'QoS 2 is not supported: publish at QoS 0 or 1' });
    expect(await raw.closeNotice()).toEqual({ code: 4002, reason: 'QoS 2 is not supported' });
    if (v5) expect(await raw.next((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x82 });
    expect(await raw.closedWithin(3000)).toBe(true);
    expect(raw.packets.filter((p) => p.cmd === 'pubrec')).toEqual([]);
    expect((await events(conv)).length).toBe(before);
  });

  test('refused PUBLISHes count toward the abuse limit: past 20, close 4002', async () => {
    const { raw } = await RawMqtt.session(mqttUrl, version, alice.token, fresh('abuse'));
    for (let i = 0; i < 25; i++) raw.publish({ type: 'PING' }, { topic: 'elsewhere', qos: 0 });
    expect(await raw.closeNotice()).toMatchObject({ code: 4002 });
    expect(raw.publishes.map(frameOf).filter((f) => f.type === 'ERROR' && f.code === 'forbidden').length).toBeGreaterThan(20);
    expect(raw.publishes.map(frameOf).filter((f) => f.type === 'PONG')).toEqual([]);
    if (v5) expect(await raw.next((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x82 });
    expect(await raw.closedWithin(3000)).toBe(true);
  });

  test('a PUBLISH over the packet cap closes the connection (5: DISCONNECT packet too large); one over MAX_FRAME_BYTES only gets ERROR too_large', async () => {
    const { raw } = await RawMqtt.session(mqttUrl, version, alice.token, fresh('size'));
    raw.publish({ type: 'SEND', client_msg_id: fresh('big'), conv_id: conv, body: 'b'.repeat(maxFrameBytes + 10) });
    expect(await raw.frame()).toMatchObject({ type: 'ERROR', code: 'too_large' });
    raw.publish({ type: 'PING' });
    expect(await raw.frame()).toMatchObject({ type: 'PONG' });
    raw.publish('x'.repeat(packetCap + 10));
    // The session closes with 1009 as on /ws, and the close says so (3.1.1 has no other way to tell).
    expect(await raw.closeNotice()).toMatchObject({ code: 1009 });
    if (v5) expect(await raw.next((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x95 });
    expect(await raw.closedWithin(3000)).toBe(true);
  });

  test("a frame over the MQTT 5 client's own maximum packet size is not sent: close 1009 instead", async () => {
    // Only MQTT 5 clients set a maximum packet size; at 3.1.1 the same frame is simply delivered.
    const device = fresh('small');
    const { raw } = await RawMqtt.session(mqttUrl, version, alice.token, device, v5 ? { properties: { maximumPacketSize: 2048 } } : {});
    const b = await TestSocket.connect(server.wsUrl, bob.token, fresh('bob'), undefined, 'websocket');
    const small = await b.sock.sendMessage(conv, 'fits', fresh('fits'));
    expect(await raw.frame((f) => f.type === 'DELIVER')).toMatchObject({ seq: small.seq });
    const big = await b.sock.sendMessage(conv, 'w'.repeat(3000), fresh('big'));
    if (v5) {
      expect(await raw.closeNotice()).toMatchObject({ code: 1009 });
      expect(await raw.next((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x95 });
      expect(await raw.closedWithin(3000)).toBe(true);
      expect(raw.publishes.map(frameOf).filter((f) => f.seq === big.seq)).toEqual([]);
    } else {
      expect(await raw.frame((f) => f.type === 'DELIVER')).toMatchObject({ seq: big.seq });
      raw.destroy();
    }
    b.sock.close();
  });

  test('a malformed packet closes the connection (5: DISCONNECT malformed packet)', async () => {
    const { raw } = await RawMqtt.session(mqttUrl, version, alice.token, fresh('malformed'));
    // A PUBLISH with both QoS bits set: a malformed packet in both versions.
    raw.socket.write(Buffer.from([0x36, 0x04, 0x00, 0x02, 0x75, 0x70]));
    if (v5) expect(await raw.next((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x81 });
    expect(await raw.closedWithin(3000)).toBe(true);
  });
});

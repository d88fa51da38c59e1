/**
 * The MQTT carrier's own logic against a scripted `mqtt` client: connect options, topics,
 * the close notice, and what each refused MQTT CONNECT becomes; then ChatClient over it
 * (the `mqtt` module mocked). End to end against the real server: test/e2e/sdk-mqtt.test.ts.
 */
import { EventEmitter } from 'node:events';
import { ChatClient, MqttSocket, type CloseEventLike } from '../../src/client';
import type { MqttClientLike, MqttConnectOptions, MqttDisconnectPacket } from '../../src/client/mqtt';
import { mqttUrlFor } from '../../src/client/mqtt';
import { sleep, waitFor } from './fake-server';

/** A scripted MqttClient: records what the carrier asks, and lets the test play the server. */
class ScriptedMqtt extends EventEmitter implements MqttClientLike {
  readonly published: [topic: string, payload: string, qos: number][] = [];
  readonly subscribed: [topic: string, qos: number][] = [];
  readonly ended: boolean[] = [];

  constructor(
    readonly url: string,
    readonly opts: MqttConnectOptions,
  ) {
    super();
  }

  publish(topic: string, payload: string, opts: { qos: 0 }): void {
    this.published.push([topic, payload, opts.qos]);
  }

  subscribe(topic: string, opts: { qos: 0 }): void {
    this.subscribed.push([topic, opts.qos]);
  }

  end(force: boolean): void {
    this.ended.push(force);
  }

  /** The server's CONNACK accepting the connection. */
  accept(): void {
    this.emit('connect');
  }

  /** A refused CONNACK, as `mqtt` reports it: an error carrying the reason (or return) code, then the close. */
  refuse(code: number, message: string, why?: string): void {
    this.emit('packetreceive', { cmd: 'connack', ...(why === undefined ? {} : { properties: { reasonString: why } }) });
    this.emit('error', Object.assign(new Error(`Connection refused: ${message}`), { code }));
    this.emit('close');
  }

  deliver(topic: string, payload: unknown): void {
    this.emit('message', topic, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)));
  }

  disconnect(packet: MqttDisconnectPacket): void {
    this.emit('disconnect', packet);
  }
}

/** Every client `mqtt.connect` made, for the mocked module and the injected loader alike. */
const mockClients: ScriptedMqtt[] = [];
const mockConnect = (url: string, opts: MqttConnectOptions): ScriptedMqtt => {
  const client = new ScriptedMqtt(url, opts);
  mockClients.push(client);
  return client;
};
jest.mock('mqtt', () => ({ connect: mockConnect }));

afterEach(() => {
  mockClients.length = 0;
});

interface Carrier {
  sock: MqttSocket;
  log: string[];
  closed: Promise<CloseEventLike>;
}

function carrier(opts: Partial<ConstructorParameters<typeof MqttSocket>[1]> = {}): Carrier {
  const sock = new MqttSocket('mqtt://chat.test:1883', { token: 'tok_1', deviceId: 'dev1', load: async () => mockConnect, ...opts });
  const log: string[] = [];
  sock.addEventListener('open', () => log.push('open'));
  sock.addEventListener('message', (e) => log.push(`message ${String(e.data)}`));
  sock.addEventListener('error', () => log.push('error'));
  const closed = new Promise<CloseEventLike>((resolve) =>
    sock.addEventListener('close', (e) => {
      log.push(`close ${e.code} ${e.reason}`);
      resolve(e);
    }),
  );
  return { sock, log, closed };
}

async function made(): Promise<ScriptedMqtt> {
  await waitFor(() => mockClients.length > 0);
  return mockClients[mockClients.length - 1];
}

async function opened(opts: Partial<ConstructorParameters<typeof MqttSocket>[1]> = {}): Promise<Carrier & { mqtt: ScriptedMqtt }> {
  const c = carrier(opts);
  const mqtt = await made();
  expect(c.sock.readyState).toBe(0);
  mqtt.accept();
  expect(c.sock.readyState).toBe(1);
  return { ...c, mqtt };
}

test('connects as the device with the token as password, MQTT 5, keep-alive 60 s, no reconnects of its own', async () => {
  const { mqtt } = await opened();
  expect(mqtt.url).toBe('mqtt://chat.test:1883');
  expect(mqtt.opts).toMatchObject({ clientId: 'dev1', password: 'tok_1', protocolVersion: 5, keepalive: 60, reconnectPeriod: 0, clean: true, queueQoSZero: false });
  expect(mqtt.opts.properties).toEqual({ topicAliasMaximum: 1 });
});

test('MQTT 3.1.1 and a keep-alive are options; 3.1.1 gets no MQTT 5 properties', async () => {
  const { mqtt } = await opened({ protocolVersion: 4, keepaliveS: 20 });
  expect(mqtt.opts).toMatchObject({ protocolVersion: 4, keepalive: 20 });
  expect(mqtt.opts.properties).toBeUndefined();
  // 3.1.1 sends no password without a user name.
  expect(typeof mqtt.opts.username).toBe('string');
});

test("frames go to 'up' at QoS 0; send before the CONNACK throws, like a connecting WebSocket", async () => {
  const c = carrier();
  const mqtt = await made();
  expect(() => c.sock.send('{"type":"CONNECT"}')).toThrow(/connecting/);
  mqtt.accept();
  c.sock.send('{"type":"PING"}');
  expect(mqtt.published).toEqual([['up', '{"type":"PING"}', 0]]);
});

test("frames on the device's topic become messages; other topics are ignored", async () => {
  const { mqtt, log } = await opened();
  mqtt.deliver('down/u1/dev1', { type: 'PONG', ts: 1 });
  mqtt.deliver('down/u1/dev2', { type: 'PONG', ts: 2 });
  mqtt.deliver('elsewhere', { type: 'PONG', ts: 3 });
  mqtt.deliver('down/u1/dev1', '{"type":"PONG","ts":4}');
  expect(log).toEqual(['open', 'message {"type":"PONG","ts":1}', 'message {"type":"PONG","ts":4}']);
});

test("the first frame's topic is subscribed at QoS 0, once: the server then sends frames without PUBACKs", async () => {
  const { mqtt } = await opened();
  expect(mqtt.subscribed).toEqual([]);
  mqtt.deliver('down/u1/dev1/close', { code: 4003, reason: 'slow consumer' });
  mqtt.deliver('down/u1/dev2', { type: 'PONG', ts: 1 });
  expect(mqtt.subscribed).toEqual([]);
  mqtt.deliver('down/u1/dev1', { type: 'PONG', ts: 2 });
  mqtt.deliver('down/u1/dev1', { type: 'PONG', ts: 3 });
  expect(mqtt.subscribed).toEqual([['down/u1/dev1', 0]]);
});

test('the close notice gives the close its code and reason (3.1.1 has no server DISCONNECT)', async () => {
  const { mqtt, log, closed } = await opened({ protocolVersion: 4 });
  mqtt.deliver('down/u1/dev1/close', { code: 4003, reason: 'slow consumer' });
  mqtt.emit('close');
  expect(await closed).toEqual({ code: 4003, reason: 'slow consumer' });
  expect(log).toEqual(['open', 'close 4003 slow consumer']);
});

test('the close notice wins over the DISCONNECT that follows it', async () => {
  const { mqtt, log, closed } = await opened();
  mqtt.deliver('down/u1/dev1/close', { code: 4003, reason: 'slow consumer' });
  mqtt.disconnect({ reasonCode: 0x97, properties: { reasonString: '4003 other words' } });
  mqtt.emit('close');
  expect(await closed).toEqual({ code: 4003, reason: 'slow consumer' });
  expect(log).toEqual(['open', 'close 4003 slow consumer']);
});

test("without a close notice, an MQTT 5 DISCONNECT's reason code says why (0x8B: restarting)", async () => {
  const { mqtt, closed } = await opened();
  mqtt.disconnect({ reasonCode: 0x8b, properties: { reasonString: '1012 shard restarting' } });
  mqtt.emit('close');
  expect(await closed).toEqual({ code: 1012, reason: 'shard restarting' });
});

test('a connection lost without notice is error, then close 1006 with what mqtt said', async () => {
  const { mqtt, log, closed } = await opened();
  mqtt.emit('error', new Error('Keepalive timeout'));
  mqtt.emit('close');
  expect(await closed).toEqual({ code: 1006, reason: 'Keepalive timeout' });
  expect(log).toEqual(['open', 'error', 'close 1006 Keepalive timeout']);
  expect(mqtt.ended).toEqual([true]);
});

test.each([
  [5, 0x86, 4001],
  [4, 4, 4001],
  [5, 0x88, 1013],
  [4, 3, 1013],
  [5, 0x9f, 1013],
  [5, 0x85, 4002],
  [4, 2, 4002],
])('MQTT %i refusing the CONNECT with %i closes with %i', async (version, rc, code) => {
  const c = carrier({ protocolVersion: version as 4 | 5 });
  const mqtt = await made();
  mqtt.refuse(rc, 'refused');
  const closed = await c.closed;
  expect(closed.code).toBe(code);
  // A bad token is first the protocol's ERROR, as the server sends it on /ws.
  const errorFrames = c.log.filter((l) => l.startsWith('message '));
  expect(errorFrames.map((l) => JSON.parse(l.slice(8)) as unknown)).toEqual(
    code === 4001 ? [{ type: 'ERROR', code: 'unauthorized', message: 'Connection refused: refused', ref: null }] : [],
  );
  expect(c.log.filter((l) => l.startsWith('close'))).toHaveLength(1);
});

test('close() sends DISCONNECT and reports the close at once; late events are ignored', async () => {
  const { sock, mqtt, log, closed } = await opened();
  sock.close(1000, 'client closed');
  expect(mqtt.ended).toEqual([false]);
  expect(await closed).toEqual({ code: 1000, reason: 'client closed' });
  mqtt.deliver('down/u1/dev1', { type: 'PONG', ts: 1 });
  mqtt.emit('close');
  expect(log).toEqual(['open', 'close 1000 client closed']);
  expect(sock.readyState).toBe(3);
});

test('close() before the CONNACK drops the connection without a DISCONNECT', async () => {
  const c = carrier();
  const mqtt = await made();
  c.sock.close(4000, 'open timeout');
  expect(mqtt.ended).toEqual([true]);
  expect(await c.closed).toEqual({ code: 4000, reason: 'open timeout' });
  mqtt.accept();
  expect(c.log).toEqual(['close 4000 open timeout']);
});

test('closed while the package loads: no connection is made', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const c = carrier({
    load: async () => {
      await gate;
      return mockConnect;
    },
  });
  c.sock.close();
  release();
  expect(await c.closed).toEqual({ code: 1000, reason: '' });
  await sleep(10);
  expect(mockClients).toHaveLength(0);
});

test('a package that cannot be loaded is error, then close 1006 naming it', async () => {
  const c = carrier({ load: () => Promise.reject(new Error("Cannot find module 'mqtt'")) });
  expect(await c.closed).toEqual({ code: 1006, reason: "cannot load the mqtt package: Cannot find module 'mqtt'" });
  expect(c.log).toEqual(['error', "close 1006 cannot load the mqtt package: Cannot find module 'mqtt'"]);
});

test('the default URL: TCP on 1883 (8883 for https) in Node, /mqtt over WebSocket elsewhere', () => {
  expect(mqttUrlFor('http://chat.example.com:8080/', true)).toBe('mqtt://chat.example.com:1883');
  expect(mqttUrlFor('https://chat.example.com', true)).toBe('mqtts://chat.example.com:8883');
  expect(mqttUrlFor('http://chat.example.com:8080', false)).toBe('ws://chat.example.com:8080/mqtt');
  expect(mqttUrlFor('https://chat.example.com', false)).toBe('wss://chat.example.com/mqtt');
  expect(mqttUrlFor('http://127.0.0.1:8080')).toBe('mqtt://127.0.0.1:1883'); // jest runs in Node
});

describe("ChatClient with transport 'mqtt' (the mqtt module mocked)", () => {
  let client: ChatClient | undefined;
  afterEach(() => {
    client?.close();
    client = undefined;
  });

  function chat(opts: Partial<ConstructorParameters<typeof ChatClient>[0]> = {}): { client: ChatClient; log: string[] } {
    const c = new ChatClient({ baseUrl: 'http://chat.test:8080', token: 'tok_1', deviceId: 'dev1', transport: 'mqtt', reconnect: { minDelayMs: 10, maxDelayMs: 20 }, ...opts });
    const log: string[] = [];
    c.on('error', (err) => log.push(`error ${(err as { code?: string }).code ?? ''} ${err.message}`));
    c.on('disconnected', (code, reason) => log.push(`disconnected ${code} ${reason}`));
    c.on('unauthorized', (reason) => log.push(`unauthorized ${reason}`));
    c.on('reconnecting', (attempt) => log.push(`reconnecting ${attempt}`));
    client = c;
    return { client: c, log };
  }

  test('needs no WebSocket; the first PUBLISH is the protocol CONNECT with sync, at the default URL', async () => {
    const { client: c } = chat({ state: { convs: { c1: 4 } } });
    c.connect();
    const mqtt = await made();
    expect(mqtt.url).toBe('mqtt://chat.test:1883');
    mqtt.accept();
    await waitFor(() => mqtt.published.length > 0);
    const [topic, payload] = mqtt.published[0];
    expect(topic).toBe('up');
    expect(JSON.parse(payload)).toEqual({ type: 'CONNECT', token: 'tok_1', device_id: 'dev1', sync: { convs: { c1: 4 } } });
    expect(c.transport).toBe('mqtt');
  });

  test('mqttUrl, mqttProtocolVersion and mqttKeepaliveS reach mqtt.connect', async () => {
    const { client: c } = chat({ mqttUrl: 'ws://chat.test:8080/mqtt', mqttProtocolVersion: 4, mqttKeepaliveS: 30 });
    c.connect();
    const mqtt = await made();
    expect(mqtt.url).toBe('ws://chat.test:8080/mqtt');
    expect(mqtt.opts).toMatchObject({ protocolVersion: 4, keepalive: 30 });
  });

  test('a refused token (0x86) is the ERROR and the 4001 a bad token gets on /ws: unauthorized, no reconnect', async () => {
    const { client: c, log } = chat();
    c.connect();
    (await made()).refuse(0x86, 'Bad User Name or Password', 'token expired');
    await waitFor(() => log.some((l) => l.startsWith('unauthorized')));
    await sleep(100); // reconnect delays are 5-20 ms here: a reconnect would have happened
    expect(mockClients).toHaveLength(1);
    expect(c.status).toBe('stopped');
    expect(log).toEqual([
      'error unauthorized token expired',
      'disconnected 4001 unauthorized',
      'unauthorized unauthorized',
    ]);
  });

  test('server unavailable (0x88) is retried with backoff, with the token of the moment', async () => {
    const { client: c, log } = chat();
    c.connect();
    (await made()).refuse(0x88, 'Server unavailable');
    c.setToken('tok_2');
    await waitFor(() => mockClients.length === 2);
    expect(log).toEqual(['disconnected 1013 MQTT CONNECT refused: Connection refused: Server unavailable', 'reconnecting 1']);
    expect(mockClients[1].opts.password).toBe('tok_2');
  });
});

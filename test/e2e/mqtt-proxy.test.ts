/**
 * MQTT behind a TCP load balancer (docs/protocol.md, "MQTT", "Behind a load balancer"): from
 * a TRUST_PROXY peer, the PROXY protocol header names the client, so the opening limits
 * count each client, not the balancer; from anyone else the header is not believed.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { registerUser, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';

let server: TestServer;
let user: TestUser;
let port: number;

beforeAll(async () => {
  // One opening per address, and no refill worth speaking of during the test.
  server = await startTestServer({ TRUST_PROXY: '127.0.0.1/32', SESSION_OPEN_PER_SECOND: '1', SESSION_OPEN_BURST: '1' });
  user = await registerUser(server.url);
  port = Number(new URL(server.mqttUrl as string).port);
});

afterAll(async () => {
  await stopTestServer(server);
});

/** Opens a raw TCP connection, writes `header` then an MQTT 5 CONNECT; resolves with the first packet back, or 'closed'. */
function connectVia(header: string, clientId: string): Promise<Packet | 'closed'> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (packet: Packet) => {
      socket.destroy();
      resolve(packet);
    });
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.on('close', () => resolve('closed'));
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      socket.write(header);
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId, clean: true, keepalive: 60, username: user.user_id, password: Buffer.from(user.token) }, { protocolVersion: 5 }));
    });
  });
}

const reasonOf = (p: Packet | 'closed'): number | string => (p === 'closed' ? p : p.cmd === 'connack' ? (p.reasonCode ?? -1) : p.cmd);

test('each client behind the balancer has its own opening limit; the same client twice is over it', async () => {
  expect(reasonOf(await connectVia('PROXY TCP4 203.0.113.7 127.0.0.1 50001 1883\r\n', 'p1'))).toBe(0);
  expect(reasonOf(await connectVia('PROXY TCP4 203.0.113.8 127.0.0.1 50002 1883\r\n', 'p2'))).toBe(0);
  // 0x9F connection rate exceeded: 203.0.113.7 spent its one opening.
  expect(reasonOf(await connectVia('PROXY TCP4 203.0.113.7 127.0.0.1 50003 1883\r\n', 'p3'))).toBe(0x9f);
});

test('a malformed header closes the connection before any MQTT', async () => {
  expect(await connectVia('PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n', 'p4')).toBe('closed');
});

test('without a header, a trusted peer speaks for itself', async () => {
  expect(reasonOf(await connectVia('', 'p5'))).toBe(0);
});

test('from a peer that is not a trusted proxy, a PROXY header is not believed (it is not MQTT: closed)', async () => {
  const plain = await startTestServer();
  const saved = port;
  try {
    port = Number(new URL(plain.mqttUrl as string).port);
    const other = await registerUser(plain.url);
    const header = 'PROXY TCP4 203.0.113.9 127.0.0.1 50009 1883\r\n';
    const result = await new Promise<Packet | 'closed'>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      parser.on('packet', (packet: Packet) => resolve(packet));
      socket.on('data', (d: Buffer) => parser.parse(d));
      socket.on('close', () => resolve('closed'));
      socket.on('connect', () => {
        socket.write(header);
        socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'p6', clean: true, keepalive: 60, username: other.user_id, password: Buffer.from(other.token) }, { protocolVersion: 5 }));
      });
    });
    expect(result).toBe('closed');
  } finally {
    port = saved;
    await stopTestServer(plain);
  }
});

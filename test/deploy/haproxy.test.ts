/**
 * deploy/haproxy.cfg, run by HAProxy itself in front of a real server: the shard names of
 * the compose network become loopback ports (shard-1 a server's HTTP and MQTT ports,
 * shard-2 and shard-3 ports nobody listens on, as shards that died). Checks what the
 * compose file relies on: the WebSocket upgrade, long-poll and MQTT (over TCP and over
 * WebSocket) pass through, requests go around dead shards before and after the checks mark
 * them down, and the load balancer's own health follows the shards' /readyz. Skipped,
 * saying so, where HAProxy is not installed (apt-get install haproxy).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import type { ClientCarrier } from '../e2e/carriers';
import { createConversation, registerUser, sleep, startTestServer, stopTestServer, TestSocket, type TestServer, type TestUser } from '../e2e/harness';

const installed = spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
if (!installed) console.warn('test/deploy/haproxy.test.ts skipped: haproxy is not installed (apt-get install haproxy)');
const maybe = installed ? describe : describe.skip;

/** A port nothing listens on once this returns. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ok().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** The rows of HAProxy's `show stat` on its stats socket, by column name. */
function haproxyStats(socket: string): Promise<Record<string, string>[]> {
  return new Promise((resolve, reject) => {
    let csv = '';
    const c = connect(socket, () => c.end('show stat\n'));
    c.on('data', (d: Buffer) => (csv += d.toString()));
    c.on('error', reject);
    c.on('close', () => {
      const [header = '', ...rows] = csv.trim().split('\n');
      const names = header.replace(/^# /, '').split(',');
      resolve(rows.map((row) => Object.fromEntries(row.split(',').map((value, i) => [names[i], value]))));
    });
  });
}

/** A stock MQTT client as a TestSocket's carrier: frames published on `up`, received on the device's topic. */
class MqttCarrier implements ClientCarrier {
  onFrame: (text: string) => void = () => undefined;
  onClose: (code: number, reason: string) => void = () => undefined;

  constructor(
    private readonly client: MqttClient,
    topic: string,
  ) {
    client.on('message', (t, payload) => {
      if (t === topic) this.onFrame(payload.toString());
    });
    client.on('close', () => this.onClose(1006, 'MQTT connection closed'));
  }

  send(text: string): void {
    this.client.publish('up', text, { qos: 1 });
  }
  close(): void {
    this.client.end();
  }
  terminate(): void {
    this.client.end(true);
  }
  pause(): void {
    this.client.stream.pause();
  }
  resume(): void {
    this.client.stream.resume();
  }
}

/** Connects a stock MQTT client to `url` as `user`'s device and completes the protocol CONNECT. */
async function mqttSession(url: string, user: TestUser, deviceId: string, protocolVersion: 4 | 5) {
  // allowRetries false: a connection closed before the MQTT CONNACK rejects instead of waiting.
  const client = await connectAsync(url, { clientId: deviceId, username: user.user_id, password: user.token, protocolVersion, reconnectPeriod: 0, connectTimeout: 10_000 }, false);
  const sock = new TestSocket(new MqttCarrier(client, `down/${user.user_id}/${deviceId}`));
  sock.send({ type: 'CONNECT' });
  return { sock, connack: await sock.next((f) => f.type === 'CONNACK') };
}

maybe('deploy/haproxy.cfg in front of shards', () => {
  let server: TestServer;
  let lb: ChildProcess;
  let lbUrl: string;
  let lbMqttUrl: string;
  let dir: string;
  let lbLog = '';
  let ann: TestUser;

  beforeAll(async () => {
    // The balancer is 127.0.0.1: its X-Forwarded-For and PROXY headers are believed, as compose's TRUST_PROXY does.
    server = await startTestServer({ TRUST_PROXY: '127.0.0.1/32' });
    const [lbPort, lbMqttPort] = [await freePort(), await freePort()];
    const ports: Record<string, { http: string | number; mqtt: string | number }> = {
      'shard-1': { http: new URL(server.url).port, mqtt: new URL(server.mqttUrl ?? '').port },
      'shard-2': { http: await freePort(), mqtt: await freePort() },
      'shard-3': { http: await freePort(), mqtt: await freePort() },
    };
    dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
    let local = readFileSync(join(__dirname, '..', '..', 'deploy', 'haproxy.cfg'), 'utf8')
      .replace(/^global$/m, `global\n  stats socket ${join(dir, 'admin.sock')}`)
      .replace(/^(\s*bind) :8080$/m, `$1 127.0.0.1:${lbPort}`)
      .replace(/^(\s*bind) :1883$/m, `$1 127.0.0.1:${lbMqttPort}`);
    // An MQTT server line names the shard's MQTT port and, for its /readyz check, its HTTP port.
    for (const [name, { http, mqtt }] of Object.entries(ports)) {
      local = local.replaceAll(`${name}:8080`, `127.0.0.1:${http}`).replaceAll(`${name}:1883 port 8080`, `127.0.0.1:${mqtt} port ${http}`);
    }
    expect(local).not.toMatch(/shard-\d:\d|bind :\d|port 8080/);
    writeFileSync(join(dir, 'haproxy.cfg'), local);
    lb = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    lb.stdout?.on('data', (d: Buffer) => (lbLog += d.toString()));
    lb.stderr?.on('data', (d: Buffer) => (lbLog += d.toString()));
    lbUrl = `http://127.0.0.1:${lbPort}`;
    lbMqttUrl = `mqtt://127.0.0.1:${lbMqttPort}`;
    await until('HAProxy answers /lb-health', async () => (await fetch(`${lbUrl}/lb-health`)).status === 200);
  }, 30_000);

  afterAll(async () => {
    lb?.kill('SIGTERM');
    if (server) await stopTestServer(server).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('REST, WebSocket sessions and MQTT connections pass through, around the dead shards', async () => {
    // Until the checks mark the dead shards down, requests meet them first and are
    // redispatched.
    for (let i = 0; i < 6; i++) expect((await fetch(`${lbUrl}/readyz`)).status).toBe(200);
    ann = await registerUser(lbUrl);
    // Sessions stay open while the next one opens, as they do in a deployment: the live shard
    // holds connections and the dead ones none, so least-connections picks a dead one first.
    const open: TestSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const ws = await TestSocket.connect(lbUrl.replace('http', 'ws') + '/ws', ann.token, `d-ws-${i}`, undefined, 'websocket');
      const mqtt = await mqttSession(lbMqttUrl, ann, `d-mqtt-${i}`, 4);
      for (const { connack } of [ws, mqtt]) expect(connack.type).toBe('CONNACK');
      open.push(ws.sock, mqtt.sock);
    }
    for (const sock of open) sock.close();
    // /metrics stays off the public side: refused at the balancer, answered by the shard itself.
    expect((await fetch(`${lbUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  }, 30_000);

  test('the dead shards are marked down by their /readyz checks (MQTT ones checked on their HTTP port); long-poll sessions go to a live one', async () => {
    await until('HAProxy reports shard-2 and shard-3 down', async () => ['shards', 'longpoll', 'mqtt'].every((b) => lbLog.includes(`${b}/shard-2 is DOWN`) && lbLog.includes(`${b}/shard-3 is DOWN`)));
    // The live shard's MQTT server passes an HTTP check: /readyz on its HTTP port answered 200.
    const mqttShard1 = async () => (await haproxyStats(join(dir, 'admin.sock'))).find((r) => r.pxname === 'mqtt' && r.svname === 'shard-1');
    await until('mqtt/shard-1 passes its /readyz check', async () => (await mqttShard1())?.check_status === 'L7OK');
    expect(await mqttShard1()).toMatchObject({ status: 'UP', check_code: '200' });
    expect((await fetch(`${lbUrl}/lb-health`)).status).toBe(200);
    const { sock, connack } = await TestSocket.connect(lbUrl.replace('http', 'ws') + '/ws', ann.token, 'd-lp', undefined, 'longpoll');
    expect(connack.type).toBe('CONNACK');
    sock.close();
  }, 30_000);

  test('a stock MQTT client, over TCP on the MQTT frontend and over WebSocket at /mqtt, opens a session and gets what a WebSocket client sends', async () => {
    const [bob, carol] = [await registerUser(lbUrl), await registerUser(lbUrl)];
    const conv = await createConversation(lbUrl, carol, 'direct', [bob]);
    const overTcp = await mqttSession(lbMqttUrl, bob, 'd-mqtt', 5);
    const overWs = await mqttSession(lbUrl.replace('http', 'ws') + '/mqtt', bob, 'd-mqtt-ws', 4);
    for (const { connack } of [overTcp, overWs]) expect(connack).toMatchObject({ type: 'CONNACK', user_id: bob.user_id });
    const { sock: sender } = await TestSocket.connect(lbUrl.replace('http', 'ws') + '/ws', carol.token, 'd-ws', undefined, 'websocket');
    const ack = await sender.sendMessage(conv, 'through the balancer', 'm-1');
    expect(ack.type).toBe('ACK');
    for (const { sock } of [overTcp, overWs]) {
      await expect(sock.next((f) => f.type === 'DELIVER')).resolves.toMatchObject({ conv_id: conv, seq: ack.seq, sender_id: carol.user_id, body: 'through the balancer' });
      sock.close();
    }
    sender.close();
  }, 30_000);

  test('with no shard ready, the balancer reports itself unhealthy', async () => {
    await stopTestServer(server);
    await until('/lb-health answers 503', async () => (await fetch(`${lbUrl}/lb-health`)).status === 503);
  }, 30_000);
});

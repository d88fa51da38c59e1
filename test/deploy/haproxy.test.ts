/**
 * deploy/haproxy.cfg, run by HAProxy itself in front of a real server: the shard names of
 * the compose network become loopback ports (shard-1 a server, shard-2 and shard-3 ports
 * nobody listens on, as shards that died). Checks what the compose file relies on: the
 * WebSocket upgrade and long-poll pass through, requests go around dead shards before and
 * after the checks mark them down, and the load balancer's own health follows the shards'
 * /readyz. Skipped, saying so, where HAProxy
 * is not installed (apt-get install haproxy).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, sleep, startTestServer, stopTestServer, TestSocket, type TestServer, type TestUser } from '../e2e/harness';

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

maybe('deploy/haproxy.cfg in front of shards', () => {
  let server: TestServer;
  let lb: ChildProcess;
  let lbUrl: string;
  let dir: string;
  let lbLog = '';
  let ann: TestUser;

  beforeAll(async () => {
    server = await startTestServer();
    const shardPort = new URL(server.url).port;
    const [lbPort, dead2, dead3] = [await freePort(), await freePort(), await freePort()];
    const cfg = readFileSync(join(__dirname, '..', '..', 'deploy', 'haproxy.cfg'), 'utf8');
    const local = cfg
      .replace(/^(\s*bind) :8080$/m, `$1 127.0.0.1:${lbPort}`)
      .replaceAll('shard-1:8080', `127.0.0.1:${shardPort}`)
      .replaceAll('shard-2:8080', `127.0.0.1:${dead2}`)
      .replaceAll('shard-3:8080', `127.0.0.1:${dead3}`);
    expect(local).not.toMatch(/shard-\d:8080|bind :8080/);
    dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
    writeFileSync(join(dir, 'haproxy.cfg'), local);
    lb = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    lb.stdout?.on('data', (d: Buffer) => (lbLog += d.toString()));
    lb.stderr?.on('data', (d: Buffer) => (lbLog += d.toString()));
    lbUrl = `http://127.0.0.1:${lbPort}`;
    await until('HAProxy answers /lb-health', async () => (await fetch(`${lbUrl}/lb-health`)).status === 200);
  }, 30_000);

  afterAll(async () => {
    lb?.kill('SIGTERM');
    if (server) await stopTestServer(server).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('REST and a WebSocket session pass through, around the dead shards', async () => {
    // Until the checks mark the dead shards down, requests meet them first and are
    // redispatched.
    for (let i = 0; i < 6; i++) expect((await fetch(`${lbUrl}/readyz`)).status).toBe(200);
    ann = await registerUser(lbUrl);
    const { sock, connack } = await TestSocket.connect(lbUrl.replace('http', 'ws') + '/ws', ann.token, 'd-ws', undefined, 'websocket');
    expect(connack.type).toBe('CONNACK');
    sock.close();
    // /metrics stays off the public side: refused at the balancer, answered by the shard itself.
    expect((await fetch(`${lbUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  }, 30_000);

  test('the dead shards are marked down by their /readyz checks; long-poll sessions go to a live one', async () => {
    await until('HAProxy reports shard-2 and shard-3 down', async () => ['shards', 'longpoll'].every((b) => lbLog.includes(`${b}/shard-2 is DOWN`) && lbLog.includes(`${b}/shard-3 is DOWN`)));
    expect((await fetch(`${lbUrl}/lb-health`)).status).toBe(200);
    const { sock, connack } = await TestSocket.connect(lbUrl.replace('http', 'ws') + '/ws', ann.token, 'd-lp', undefined, 'longpoll');
    expect(connack.type).toBe('CONNACK');
    sock.close();
  }, 30_000);

  test('with no shard ready, the balancer reports itself unhealthy', async () => {
    await stopTestServer(server);
    await until('/lb-health answers 503', async () => (await fetch(`${lbUrl}/lb-health`)).status === 503);
  }, 30_000);
});

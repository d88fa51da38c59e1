/**
 * The SDK's `transport: 'mqtt'` in a real browser: the SDK bundled for browsers with
 * esbuild, the way an app's bundler would (the `mqtt` package's browser build included,
 * loaded by the SDK's dynamic import), run in headless Chromium, speaking MQTT over
 * WebSocket at /mqtt (the default URL in a browser) with a WebSocket client in Node.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { TestSocket, createConversation, registerUser, startTestServer, stopTestServer, type TestServer } from '../e2e/harness';
import { browserDescribe, chromiumPath } from './helpers';

jest.setTimeout(60_000);

browserDescribe('SDK over MQTT in a browser', () => {
  let server: TestServer;
  let browser: Browser;
  let bundle: string;

  beforeAll(async () => {
    server = await startTestServer();
    const out = await build({
      stdin: { contents: `import { ChatClient } from ${JSON.stringify(join(__dirname, '../../src/client'))}; globalThis.ChatClient = ChatClient;`, resolveDir: __dirname, loader: 'ts' },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    bundle = out.outputFiles[0].text;
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });

  afterAll(async () => {
    await browser?.close();
    await stopTestServer(server);
  });

  test('a browser client on MQTT over WebSocket exchanges messages with a WebSocket client', async () => {
    expect(bundle).toContain('mqtt'); // the mqtt library went into the app's bundle
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const conv = await createConversation(server.url, alice, 'direct', [bob]);
    const { sock: bobSock } = await TestSocket.connect(server.wsUrl, bob.token, 'bob-node', undefined, 'websocket');

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${server.url}/healthz`); // same origin as the server, and no page CSP in the way
    await page.addScriptTag({ content: bundle });
    const connected = await page.evaluate(
      async ({ baseUrl, token }) => {
        type Client = { on(e: string, f: (...a: unknown[]) => void): void; connect(): void; send(c: string, b: string): Promise<{ seq: number }>; transport: string };
        const Ctor = (globalThis as unknown as { ChatClient: new (o: object) => Client }).ChatClient;
        const client = new Ctor({ baseUrl, token, deviceId: 'alice-browser', transport: 'mqtt' });
        const got: unknown[] = [];
        (globalThis as unknown as { got: unknown[]; client: Client }).got = got;
        (globalThis as unknown as { client: Client }).client = client;
        client.on('event', (ev) => got.push(ev));
        const info = await new Promise((resolve, reject) => {
          client.on('connected', resolve);
          client.on('disconnected', (code, reason) => reject(new Error(`disconnected ${String(code)} ${String(reason)}`)));
          client.connect();
        });
        return { info, transport: client.transport };
      },
      { baseUrl: server.url, token: alice.token },
    );
    expect(connected.transport).toBe('mqtt');
    expect(connected.info).toMatchObject({ user_id: alice.user_id, device_id: 'alice-browser' });

    const ack = await page.evaluate(async (c) => (globalThis as unknown as { client: { send(c: string, b: string): Promise<{ seq: number }> } }).client.send(c, 'from a browser, over MQTT'), conv);
    const delivered = await bobSock.next((f) => f.type === 'DELIVER' && f.body === 'from a browser, over MQTT');
    expect(delivered.seq).toBe(ack.seq);

    const back = await bobSock.sendMessage(conv, 'back to the browser', 'back-1');
    await page.waitForFunction((seq) => (globalThis as unknown as { got: { seq?: number }[] }).got.some((e) => e.seq === seq), back.seq);
    expect(errors).toEqual([]);
    bobSock.close();
    await page.close();
  });
});

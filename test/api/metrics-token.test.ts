import { loadConfig } from '../../src/config';
import { startTestServer, stopTestServer, type TestServer } from '../e2e/harness';

const token = 'scrape-me-please-0123456789';

async function scrape(server: TestServer, authorization?: string): Promise<{ status: number; type: string; text: string; challenge: string | null }> {
  const res = await fetch(`${server.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text(), challenge: res.headers.get('www-authenticate') };
}

describe('/metrics with METRICS_TOKEN', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ METRICS_TOKEN: token });
  });
  afterAll(() => stopTestServer(server));

  test('answers the scraper that presents the token', async () => {
    const res = await scrape(server, `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('chat_');
  });

  test.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer scrape-me-please-0123456780'],
    ['a prefix of the token', `Bearer ${token.slice(0, -1)}`],
    ['the token without the Bearer scheme', token],
    ['a user token scheme with nothing after it', 'Bearer '],
  ])('refuses %s with 401 and a JSON body, naming no metric', async (_what, authorization) => {
    const res = await scrape(server, authorization);
    expect(res.status).toBe(401);
    expect(res.type).toMatch(/^application\/json/);
    expect(JSON.parse(res.text)).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(res.challenge).toBe('Bearer realm="metrics"');
    expect(res.text).not.toContain('chat_');
  });

  test('leaves /healthz public', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

test('/metrics stays public when METRICS_TOKEN is unset', async () => {
  const server = await startTestServer();
  try {
    const res = await scrape(server);
    expect(res.status).toBe(200);
    expect(res.text).toContain('chat_');
  } finally {
    await stopTestServer(server);
  }
});

test('a METRICS_TOKEN shorter than 16 characters stops the process at start, naming the key', () => {
  expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
});

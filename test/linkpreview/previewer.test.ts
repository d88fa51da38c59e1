/**
 * LinkPreviewer end to end against real HTTP servers on loopback addresses: 127.0.0.2 is
 * allowlisted, 127.0.0.3 and 127.0.0.1 (as "localhost") are not and must never see a
 * connection. Reasons are asserted through the debug log.
 */
import dns from 'node:dns';
import type http from 'node:http';
import { LinkPreviewer, type LinkPreviewConfig } from '../../src/linkpreview';
import { capturingLogger, startServer, type LogEntry, type TestServer } from './servers';

const PAGE = `<!doctype html><html><head>
  <title>Fallback title</title>
  <meta property="og:title" content="Allowed &amp; previewed">
  <meta property="og:description" content="A page on an allowlisted address">
  <meta property="og:image" content="/img/cover.png">
  <meta property="og:site_name" content="Loopback Two">
</head><body>hello</body></html>`;

/** A page whose og:image is `image` (attribute-escaped). */
function imagePage(image: string): string {
  return `<title>Has an image</title><meta property="og:description" content="Look"><meta property="og:image" content="${image.replace(/"/g, '&quot;')}">`;
}

let allowed: TestServer; // 127.0.0.2, allowlisted
let forbidden: TestServer; // 127.0.0.3, not allowlisted
let local: TestServer; // 127.0.0.1, reached as "localhost"
let concurrent = 0;
let maxConcurrent = 0;
const streamsClosed: string[] = [];
const timers = new Set<NodeJS.Timeout>();

/** Writes `chunk` every few ms until the client goes away; records the path when it does. */
function stream(req: http.IncomingMessage, res: http.ServerResponse, chunk: string): void {
  const timer = setInterval(() => res.write(chunk), 5);
  timers.add(timer);
  res.on('close', () => {
    clearInterval(timer);
    timers.delete(timer);
    streamsClosed.push(req.url ?? '');
  });
}

function html(res: http.ServerResponse, body: string | Buffer, type = 'text/html; charset=utf-8'): void {
  res.writeHead(200, { 'content-type': type });
  res.end(body);
}

beforeAll(async () => {
  forbidden = await startServer('127.0.0.3', (_req, res) => html(res, PAGE));
  local = await startServer('127.0.0.1', (_req, res) => html(res, PAGE));
  allowed = await startServer('127.0.0.2', (req, res) => {
    const [path = '/'] = (req.url ?? '/').split('?');
    const [, first = '', arg = ''] = path.split('/');
    switch (first) {
      case 'page':
        return html(res, PAGE);
      case 'xhtml':
        return html(res, '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title></head></html>', 'application/xhtml+xml');
      case 'latin1':
        return html(res, Buffer.from('<title>Caf\u00e9 cr\u00e8me</title>', 'latin1'), 'text/html; charset=ISO-8859-1');
      case 'nometa':
        return html(res, '<html><body>nothing to see</body></html>');
      case 'image-at':
        // /image-at?<image URL, encoded>: a page whose og:image is that URL.
        return html(res, imagePage(decodeURIComponent((req.url ?? '').split('?')[1] ?? '')));
      case 'image-only-at':
        return html(res, `<meta property="og:image" content="${decodeURIComponent((req.url ?? '').split('?')[1] ?? '')}">`);
      case 'missing':
        res.writeHead(404, { 'content-type': 'text/html' });
        return res.end(PAGE);
      case 'to-forbidden':
        res.writeHead(302, { location: forbidden.url('/page') });
        return res.end();
      case 'to-ftp':
        res.writeHead(301, { location: 'ftp://127.0.0.2/file' });
        return res.end();
      case 'hops': {
        // /hops/N: N relative redirects (all kinds of 3xx), then the page.
        const n = Number(arg);
        if (n === 0) return html(res, PAGE);
        res.writeHead([301, 302, 303, 307, 308][n % 5] ?? 302, { location: `/hops/${n - 1}` });
        return res.end();
      }
      case 'loop':
        res.writeHead(302, { location: `/loop/${Number(arg) + 1}` });
        return res.end();
      case 'binary':
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return stream(req, res, 'x'.repeat(16 * 1024));
      case 'endless':
        // Metadata first, then a body that never ends: the byte cap must stop the read.
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write(PAGE.replace('</head><body>hello</body></html>', '</head><body>'));
        return stream(req, res, '<p>more</p>'.repeat(1000));
      case 'hang':
        return; // never answers
      case 'slow': {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        const timer = setTimeout(() => {
          concurrent--;
          html(res, `<title>slow ${arg}</title>`);
        }, 50);
        timers.add(timer);
        return;
      }
      default:
        res.writeHead(404);
        return res.end();
    }
  });
});

afterAll(async () => {
  for (const t of timers) clearInterval(t);
  await Promise.all([allowed.close(), forbidden.close(), local.close()]);
});

const base: LinkPreviewConfig = { allow: ['127.0.0.2/32'], timeoutMs: 3000, maxBytes: 64 * 1024, maxRedirects: 3, concurrency: 4 };
let previewers: LinkPreviewer[] = [];
let entries: LogEntry[] = [];

function previewer(overrides: Partial<LinkPreviewConfig> = {}): LinkPreviewer {
  const captured = capturingLogger();
  entries = captured.entries;
  const p = new LinkPreviewer({ ...base, ...overrides }, captured.logger);
  previewers.push(p);
  return p;
}

/** The reasons logged so far (winston hands entries to the stream a tick later). */
async function reasons(): Promise<string[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return entries.map((e) => e.reason ?? '');
}

/** `promise`'s value and how long it took, in ms. */
async function timed<T>(promise: Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await promise;
  return [value, performance.now() - start];
}

afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.all(previewers.map((p) => p.close()));
  previewers = [];
});

test('an allowlisted page is previewed, with the original Host header and the URL as given', async () => {
  const url = allowed.url('/page');
  const result = await previewer().preview(url);
  expect(result).toEqual({
    url,
    title: 'Allowed & previewed',
    description: 'A page on an allowlisted address',
    image_url: allowed.url('/img/cover.png'),
    site_name: 'Loopback Two',
  });
  expect(allowed.hosts.at(-1)).toBe(`127.0.0.2:${allowed.port}`);
});

test('application/xhtml+xml is HTML; a latin1 charset is honoured', async () => {
  const p = previewer();
  expect((await p.preview(allowed.url('/xhtml')))?.title).toBe('X');
  expect((await p.preview(allowed.url('/latin1')))?.title).toBe('Café crème');
});

test('a non-allowlisted loopback address is never contacted', async () => {
  const p = previewer();
  const [result, ms] = await timed(p.preview(forbidden.url('/page')));
  expect(result).toBeNull();
  expect(ms).toBeLessThan(500);
  // Other spellings of the same address: mapped IPv6, hex octet (URL normalises it).
  expect(await p.preview(`http://[::ffff:127.0.0.3]:${forbidden.port}/page`)).toBeNull();
  expect(await p.preview(`http://0x7f.0.0.3:${forbidden.port}/page`)).toBeNull();
  expect(forbidden.connections).toBe(0);
  expect(await reasons()).toEqual(['blocked_address', 'blocked_address', 'blocked_address']);
});

test('"localhost" is resolved and refused; the 127.0.0.1 server is never contacted', async () => {
  expect(await previewer().preview(`http://localhost:${local.port}/page`)).toBeNull();
  expect(local.connections).toBe(0);
  expect(await reasons()).toEqual(['blocked_address']);
});

test('private and metadata IP literals resolve null at once, without a connection', async () => {
  const p = previewer();
  for (const url of ['http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data', 'http://[fd00:ec2::254]/', 'http://[::1]:1/']) {
    const [result, ms] = await timed(p.preview(url));
    expect(result).toBeNull();
    expect(ms).toBeLessThan(500);
  }
  expect(await reasons()).toEqual(['blocked_address', 'blocked_address', 'blocked_address', 'blocked_address']);
});

describe('the image URL of a preview is held to the same address rules as the page', () => {
  const imageOf = async (p: LinkPreviewer, image: string) => {
    const result = await p.preview(allowed.url(`/image-at?${encodeURIComponent(image)}`));
    // The rest of the preview stays whatever happens to the image.
    expect(result).toMatchObject({ title: 'Has an image', description: 'Look' });
    return result?.image_url;
  };

  test('private, loopback, link-local and metadata literals are dropped; a public one is kept', async () => {
    const p = previewer();
    for (const image of [
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://10.0.0.1/cover.png',
      `http://127.0.0.1:${local.port}/cover.png`, // loopback, and not on the allow list
      `http://localhost:${local.port}/cover.png`,
      'http://[::1]/cover.png',
      'http://[::ffff:169.254.169.254]/latest',
      'http://[fd00:ec2::254]/latest',
      'http://0x7f000001/cover.png',
      'http://192.168.1.1/router.png',
    ]) {
      expect({ image, kept: await imageOf(p, image) }).toEqual({ image, kept: null });
    }
    expect(await imageOf(p, 'http://93.184.216.34/cover.png')).toBe('http://93.184.216.34/cover.png');
    expect(await imageOf(p, 'https://[2606:2800:220:1:248:1893:25c8:1946]/c.png')).toBe('https://[2606:2800:220:1:248:1893:25c8:1946]/c.png');
    // An allowlisted address is allowed for images as for pages.
    expect(await imageOf(p, allowed.url('/cover.png'))).toBe(allowed.url('/cover.png'));
    // Nothing was fetched from the refused hosts.
    expect(local.connections).toBe(0);
  });

  test('URLs with credentials, or not http(s), are dropped', async () => {
    const p = previewer();
    expect(await imageOf(p, 'http://user:secret@93.184.216.34/cover.png')).toBeNull();
    expect(await imageOf(p, 'http://user@93.184.216.34/cover.png')).toBeNull();
    expect(await imageOf(p, 'ftp://93.184.216.34/cover.png')).toBeNull();
    expect(await imageOf(p, 'javascript:alert(1)')).toBeNull();
    expect(await imageOf(p, 'data:image/png;base64,AAAA')).toBeNull();
  });

  test('names are resolved: one that points at a blocked address (or does not resolve) is dropped', async () => {
    const lookup = dns.lookup;
    const answers = new Map<string, dns.LookupAddress[]>([
      ['cdn.test', [{ address: '93.184.216.34', family: 4 }]],
      ['intranet.test', [{ address: '10.1.2.3', family: 4 }]],
      ['mixed.test', [{ address: '93.184.216.34', family: 4 }, { address: '169.254.169.254', family: 4 }]],
    ]);
    const fake = (hostname: string, options: dns.LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void): void => {
      const answer = answers.get(hostname);
      if (answer === undefined) return void lookup(hostname, options, callback);
      process.nextTick(callback, null, answer);
    };
    jest.spyOn(dns, 'lookup').mockImplementation(fake as unknown as typeof dns.lookup);
    const p = previewer();
    expect(await imageOf(p, 'https://cdn.test/cover.png')).toBe('https://cdn.test/cover.png');
    expect(await imageOf(p, 'https://intranet.test/cover.png')).toBeNull();
    expect(await imageOf(p, 'https://mixed.test/cover.png')).toBeNull();
    expect(await imageOf(p, 'https://no-such-host.invalid/cover.png')).toBeNull();
  });

  test('a page whose only metadata was a refused image gives no preview', async () => {
    expect(await previewer().preview(allowed.url(`/image-only-at?${encodeURIComponent('http://169.254.169.254/x')}`))).toBeNull();
  });
});

test('a redirect to a non-allowlisted address is refused before connecting', async () => {
  expect(await previewer().preview(allowed.url('/to-forbidden'))).toBeNull();
  expect(allowed.hits.get('/to-forbidden')).toBe(1);
  expect(forbidden.connections).toBe(0);
  expect(await reasons()).toEqual(['blocked_address']);
});

test('a redirect to a non-http scheme is refused', async () => {
  expect(await previewer().preview(allowed.url('/to-ftp'))).toBeNull();
  expect(await reasons()).toEqual(['bad_redirect']);
});

test('DNS answers are checked and the connection is pinned to the checked address', async () => {
  const lookup = dns.lookup;
  const answers = new Map<string, dns.LookupAddress[][]>([
    // First answer allowlisted, any later one private: a rebinding attempt.
    ['rebind.test', [[{ address: '127.0.0.2', family: 4 }], [{ address: '127.0.0.3', family: 4 }]]],
    // One good and one blocked address in the same answer: refused.
    ['mixed.test', [[{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.3', family: 4 }]]],
  ]);
  const calls: string[] = [];
  const fake = (hostname: string, options: dns.LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, a: dns.LookupAddress[]) => void): void => {
    const queue = answers.get(hostname);
    if (queue === undefined) return void lookup(hostname, options, callback);
    calls.push(hostname);
    const answer = queue.length > 1 ? queue.shift() : queue[0];
    process.nextTick(callback, null, answer ?? []);
  };
  jest.spyOn(dns, 'lookup').mockImplementation(fake as unknown as typeof dns.lookup);

  const p = previewer();
  const result = await p.preview(`http://rebind.test:${allowed.port}/page`);
  expect(result?.title).toBe('Allowed & previewed');
  expect(result?.image_url).toBe(`http://rebind.test:${allowed.port}/img/cover.png`);
  expect(allowed.hosts.at(-1)).toBe(`rebind.test:${allowed.port}`);
  expect(calls).toEqual(['rebind.test']); // resolved once, by the check; the connect reused it

  const before = allowed.connections;
  expect(await p.preview(`http://mixed.test:${allowed.port}/page`)).toBeNull();
  expect(allowed.connections).toBe(before);
  expect(forbidden.connections).toBe(0);
  expect(await reasons()).toEqual(['blocked_address']);
});

test('an unresolvable host resolves null', async () => {
  expect(await previewer().preview('http://no-such-host.invalid/')).toBeNull();
  expect(await reasons()).toEqual(['dns_failed']);
});

test('a non-HTML response is not read', async () => {
  const [result, ms] = await timed(previewer().preview(allowed.url('/binary')));
  expect(result).toBeNull();
  expect(ms).toBeLessThan(1000); // far under the 3 s timeout: the stream was dropped, not drained
  expect(await reasons()).toEqual(['not_html']);
  await waitFor(() => streamsClosed.includes('/binary'));
});

test('the byte cap stops an endless page and what arrived is previewed', async () => {
  const [result, ms] = await timed(previewer({ maxBytes: 8192 }).preview(allowed.url('/endless')));
  expect(result?.title).toBe('Allowed & previewed');
  expect(ms).toBeLessThan(1000);
  await waitFor(() => streamsClosed.includes('/endless'));
});

test('a server that never answers times out', async () => {
  const [result, ms] = await timed(previewer({ timeoutMs: 300 }).preview(allowed.url('/hang')));
  expect(result).toBeNull();
  expect(ms).toBeGreaterThanOrEqual(290);
  expect(ms).toBeLessThan(800);
  expect(await reasons()).toEqual(['timeout']);
});

test('maxRedirects redirects are followed, one more is refused', async () => {
  const p = previewer({ maxRedirects: 3 });
  expect((await p.preview(allowed.url('/hops/3')))?.title).toBe('Allowed & previewed');
  expect(await p.preview(allowed.url('/loop/0'))).toBeNull();
  expect(['/loop/0', '/loop/1', '/loop/2', '/loop/3'].map((path) => allowed.hits.get(path))).toEqual([1, 1, 1, 1]);
  expect(allowed.hits.get('/loop/4')).toBeUndefined();
  expect(await reasons()).toEqual(['too_many_redirects']);
});

test('non-2xx, and pages without metadata, resolve null', async () => {
  const p = previewer();
  expect(await p.preview(allowed.url('/missing'))).toBeNull();
  expect(await p.preview(allowed.url('/nometa'))).toBeNull();
  expect(await p.preview('not a url')).toBeNull();
  expect(await p.preview('ftp://127.0.0.2/')).toBeNull();
  expect(await reasons()).toEqual(['http_status', 'no_metadata', 'bad_url', 'bad_url']);
});

test('results, null included, are cached for 10 minutes; concurrent calls share a fetch', async () => {
  const p = previewer();
  const url = allowed.url('/page?cache');
  const [a, b] = await Promise.all([p.preview(url), p.preview(url)]);
  expect(a).not.toBeNull();
  expect(b).toBe(a);
  expect(await p.preview(url)).toBe(a);
  expect(allowed.hits.get('/page?cache')).toBe(1);

  expect(await p.preview(allowed.url('/nometa?cache'))).toBeNull();
  expect(await p.preview(allowed.url('/nometa?cache'))).toBeNull();
  expect(allowed.hits.get('/nometa?cache')).toBe(1);

  const now = Date.now();
  jest.spyOn(Date, 'now').mockReturnValue(now + 10 * 60 * 1000 + 1);
  expect(await p.preview(url)).toEqual(a);
  expect(allowed.hits.get('/page?cache')).toBe(2);
});

test('no more than `concurrency` fetches run at once; the rest queue', async () => {
  const p = previewer({ concurrency: 2 });
  maxConcurrent = 0;
  const results = await Promise.all([1, 2, 3, 4, 5].map((i) => p.preview(allowed.url(`/slow/${i}`))));
  expect(results.map((r) => r?.title)).toEqual(['slow 1', 'slow 2', 'slow 3', 'slow 4', 'slow 5']);
  expect(maxConcurrent).toBe(2);
});

test('close() aborts in-flight fetches and later calls resolve null without a request', async () => {
  const p = previewer({ concurrency: 1 });
  const running = p.preview(allowed.url('/hang?close'));
  const queued = p.preview(allowed.url('/page?queued'));
  await waitFor(() => allowed.hits.get('/hang?close') === 1);
  const [, ms] = await timed(p.close());
  expect(ms).toBeLessThan(500);
  expect(await running).toBeNull();
  expect(await queued).toBeNull();
  expect(await p.preview(allowed.url('/page?after-close'))).toBeNull();
  expect(allowed.hits.get('/page?queued')).toBeUndefined();
  expect(allowed.hits.get('/page?after-close')).toBeUndefined();
});

test('invalid configuration throws at construction, naming the key', () => {
  const { logger } = capturingLogger();
  expect(() => new LinkPreviewer({ ...base, allow: ['127.0.0.2/40'] }, logger)).toThrow('127.0.0.2/40');
  expect(() => new LinkPreviewer({ ...base, concurrency: 0 }, logger)).toThrow('concurrency');
  expect(() => new LinkPreviewer({ ...base, timeoutMs: Number.NaN }, logger)).toThrow('timeoutMs');
});

/** Polls `condition` every 5 ms for up to 2 s. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 2 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

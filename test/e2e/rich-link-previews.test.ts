/**
 * Link previews over real sockets (docs/protocol.md, "Rich messages"): the server fetches
 * the first http(s) URL of a body off the send path and emits DELIVER kind link_preview.
 * Pages are served from 127.0.0.2 (allowlisted); servers on 127.0.0.3, 127.0.0.1 and ::1
 * (not allowlisted) count requests that must never come. Linux routes 127.0.0.0/8 to
 * loopback, so no network is needed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createConversation, pollUntil, registerUserPatiently, sleep, startTestServer, stopTestServer, type Frame, type TestServer, type TestUser } from './harness';
import {
  acked,
  bait,
  closeAll,
  cmid,
  connectDevice,
  deliverKind,
  events,
  expectDelivered,
  fourDevices,
  historyRow,
  htmlPage,
  inboxRow,
  missedOf,
  sendOk,
  startPageServer,
  storageContains,
  unsend,
  type Device,
  type PageServer,
} from './rich-helpers';

const TIMEOUT_MS = 3000;
const MAX_BYTES = 256 * 1024;

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
/** Allowlisted pages. */
let pages: PageServer;
/** Not allowlisted: must never be asked anything. */
let loop3: PageServer;
let loop1: PageServer;
let loop6: PageServer | null;

const ogHead =
  '<title>Fallback title</title><meta name="twitter:title" content="Twitter title">' +
  '<meta property="og:title" content="Open Graph title"><meta property="og:description" content="A page about previews">' +
  '<meta property="og:image" content="/img/preview.png"><meta property="og:site_name" content="Preview Site">';

function html(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(body);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location });
  res.end();
}

/** Bytes written by `endless`, per request path. */
const streamed = new Map<string, number>();

/**
 * Streams HTML as fast as the reader takes it, for three times the fetch timeout: only the
 * reader's byte cap (or its timeout) ends it early.
 */
function endless(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '';
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.write('<!doctype html><html><head><title>Endless</title>');
  const chunk = Buffer.alloc(16 * 1024, ' ');
  const until = Date.now() + 3 * TIMEOUT_MS;
  let open = true;
  streamed.set(path, 0);
  res.on('close', () => (open = false));
  const pump = (): void => {
    while (open && Date.now() < until) {
      streamed.set(path, (streamed.get(path) ?? 0) + chunk.length);
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (open) res.end('</head></html>');
  };
  pump();
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const [, kind, ...rest] = (req.url ?? '/').split('?')[0].split('/');
  switch (kind) {
    case 'og':
      return html(res, htmlPage(ogHead));
    case 'twitter':
      return html(
        res,
        htmlPage(
          '<title>Ignored title</title><meta name="twitter:card" content="summary">' +
            '<meta name="twitter:title" content="Card title"><meta name="twitter:description" content="Card description">' +
            `<meta name="twitter:image" content="${pages.origin}/card.png">`,
        ),
      );
    case 'title':
      return html(res, htmlPage('<title>Only a title</title>'));
    case 'unique':
      return html(res, htmlPage(`<meta property="og:title" content="Title ${rest[0]}"><meta property="og:description" content="Description ${rest[0]}">`));
    case 'json':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ title: 'not html', og: ogHead }));
    case 'png':
      res.writeHead(200, { 'content-type': 'image/png' });
      return void res.end(Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
    case 'hang':
      return; // never answers
    case 'endless':
      return endless(req, res);
    case 'hop': {
      const n = Number(rest[0]);
      return n > 0 ? redirect(res, `/hop/${n - 1}/${rest.slice(1).join('/')}`) : html(res, htmlPage(ogHead));
    }
    case 'image-at':
      // /image-at/<name>?<image URL, encoded>: a page whose og:image is that URL.
      return html(res, htmlPage(`<meta property="og:title" content="Image ${decodeURIComponent(rest[0] ?? '')}"><meta property="og:image" content="${decodeURIComponent((req.url ?? '').split('?')[1] ?? '').replace(/"/g, '&quot;')}">`));
    case 'to-private':
      return redirect(res, `${loop3.origin}/ssrf/redirected`);
    case 'to-localhost':
      return redirect(res, `http://localhost:${loop1.port}/ssrf/redirected`);
    case 'to-metadata':
      return redirect(res, 'http://169.254.169.254/latest/meta-data/');
    default:
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such page');
  }
}

const serveBait = (_req: IncomingMessage, res: ServerResponse) => html(res, bait);

beforeAll(async () => {
  pages = await startPageServer('127.0.0.2', route);
  loop3 = await startPageServer('127.0.0.3', serveBait);
  loop1 = await startPageServer('127.0.0.1', serveBait);
  // Same port on ::1, so that http://localhost:PORT/ is caught whichever family it resolves to.
  loop6 = await startPageServer('::1', serveBait, loop1.port).catch(() => null);
  server = await startTestServer({
    MARKER_FLUSH_MS: '20',
    LINK_PREVIEWS: 'on',
    LINK_PREVIEW_ALLOW: '127.0.0.2/32',
    LINK_PREVIEW_TIMEOUT_MS: String(TIMEOUT_MS),
    LINK_PREVIEW_MAX_BYTES: String(MAX_BYTES),
    LINK_PREVIEW_MAX_REDIRECTS: '3',
  });
  alice = await registerUserPatiently(server.url);
  bob = await registerUserPatiently(server.url);
});
afterAll(async () => {
  await stopTestServer(server);
  for (const p of [pages, loop3, loop1, loop6]) await p?.close();
});

const previewOf = (f: Frame) => ({ url: f.url, title: f.title, description: f.description, image_url: f.image_url, site_name: f.site_name });
const baitHits = () => [...loop3.hits, ...loop1.hits, ...(loop6?.hits ?? [])];

/** Waits for the link_preview of message `target` on each device; returns its seq (the same everywhere). */
async function expectPreview(devices: Device[], conv: string, target: number, fields: Record<string, unknown>): Promise<number> {
  const seqs = new Set<number>();
  for (const d of devices) {
    const f = await d.sock.next(deliverKind(conv, 'link_preview', target), 8000);
    expect({ device: d.deviceId, ...f }).toMatchObject({ device: d.deviceId, type: 'DELIVER', conv_id: conv, kind: 'link_preview', target_seq: target, ...fields });
    expect(f.seq).toBeGreaterThan(target);
    seqs.add(f.seq);
  }
  expect(seqs.size).toBe(1);
  return [...seqs][0];
}

/** Asserts no link_preview of any of `targets` reached `devices` or the log. */
async function expectNoPreview(devices: Device[], conv: string, targets: number[]): Promise<void> {
  for (const d of devices) {
    const stray = d.sock.frames.filter((f) => f.type === 'DELIVER' && f.kind === 'link_preview' && targets.includes(f.target_seq));
    expect({ device: d.deviceId, stray }).toEqual({ device: d.deviceId, stray: [] });
  }
  const logged = (await events(server, alice, conv)).filter((e) => e.kind === 'link_preview' && targets.includes(e.target_seq));
  expect(logged).toEqual([]);
}

test('a page with OpenGraph tags gives DELIVER kind link_preview on all four devices, image_url made absolute; history folds it in; it is not unread', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'og');
  const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);
  const url = `${pages.origin}/og/first`;
  const m = await sendOk(a1.sock, conv, `have a look: ${url} (nice)`);
  await expectDelivered([a2, b1, b2], conv, m, { kind: 'message' });

  const expected = {
    url,
    title: 'Open Graph title',
    description: 'A page about previews',
    image_url: `${pages.origin}/img/preview.png`,
    site_name: 'Preview Site',
  };
  // Generated by the server, so the sending session gets it too.
  const p = await expectPreview([a1, a2, b1, b2], conv, m, expected);
  expect(pages.hits.filter((h) => h === '/og/first')).toHaveLength(1);

  expect((await historyRow(server, bob, conv, m)).link_preview).toEqual(expected);
  expect(previewOf((await events(server, bob, conv)).find((e) => e.seq === p) as Frame)).toEqual(expected);
  expect(await inboxRow(server, bob, conv)).toMatchObject({ unread: 1 });
  const plain = await sendOk(a1.sock, conv, 'no links here');
  expect((await historyRow(server, bob, conv, plain)).link_preview).toBeNull();
  closeAll([a1, a2, b1, b2]);
});

test('Twitter card tags fill a preview without OpenGraph; a bare <title> gives a title only', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'cards');
  const a = await connectDevice(server, alice, 'tw-a');
  const b = await connectDevice(server, bob, 'tw-b');
  const card = await sendOk(a.sock, conv, `card ${pages.origin}/twitter/x`);
  const bare = await sendOk(a.sock, conv, `${pages.origin}/title/x`);
  await expectPreview([b], conv, card, {
    url: `${pages.origin}/twitter/x`,
    title: 'Card title',
    description: 'Card description',
    image_url: `${pages.origin}/card.png`,
    site_name: null,
  });
  await expectPreview([b], conv, bare, { url: `${pages.origin}/title/x`, title: 'Only a title', description: null, image_url: null, site_name: null });
  expect((await historyRow(server, alice, conv, bare)).link_preview).toEqual({
    url: `${pages.origin}/title/x`,
    title: 'Only a title',
    description: null,
    image_url: null,
    site_name: null,
  });
  closeAll([a, b]);
});

test('only the first URL of a body is fetched', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'two links');
  const a = await connectDevice(server, alice, 'fl-a');
  const b = await connectDevice(server, bob, 'fl-b');
  const first = `${pages.origin}/title/first-of-two`;
  const m = await sendOk(a.sock, conv, `two links: ${first} and ${pages.origin}/og/second-of-two`);
  await expectPreview([b], conv, m, { url: first, title: 'Only a title' });
  await sleep(300);
  expect(pages.hits).toContain('/title/first-of-two');
  expect(pages.hits).not.toContain('/og/second-of-two');
  expect((await events(server, alice, conv)).filter((e) => e.kind === 'link_preview')).toHaveLength(1);
  closeAll([a, b]);
});

test('redirects inside the allowlist are followed up to LINK_PREVIEW_MAX_REDIRECTS; a longer chain gives nothing', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'redirects');
  const a = await connectDevice(server, alice, 'rd-a');
  const b = await connectDevice(server, bob, 'rd-b');
  const short = `${pages.origin}/hop/2/ok`;
  const ok = await sendOk(a.sock, conv, `short chain ${short}`);
  await expectPreview([b], conv, ok, { url: short, title: 'Open Graph title', image_url: `${pages.origin}/img/preview.png` });
  expect(pages.hits.filter((h) => h.endsWith('/ok'))).toEqual(['/hop/2/ok', '/hop/1/ok', '/hop/0/ok']);

  const long = await sendOk(a.sock, conv, `long chain ${pages.origin}/hop/6/long`);
  const control = await sendOk(a.sock, conv, `${pages.origin}/title/after-long`);
  await expectPreview([b], conv, control, { title: 'Only a title' });
  await sleep(500);
  const longHits = pages.hits.filter((h) => h.endsWith('/long'));
  expect(longHits[0]).toBe('/hop/6/long');
  expect(longHits.length).toBeLessThanOrEqual(4); // the first request and at most 3 redirects
  expect(longHits).not.toContain('/hop/0/long');
  await expectNoPreview([b], conv, [long]);
  closeAll([a, b]);
});

test('non-HTML, hanging and endless responses give no preview; the fetcher gives up by itself (byte cap, timeout)', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'bad pages');
  const a = await connectDevice(server, alice, 'bp-a');
  const b = await connectDevice(server, bob, 'bp-b');
  const json = await sendOk(a.sock, conv, `${pages.origin}/json/x`);
  const png = await sendOk(a.sock, conv, `${pages.origin}/png/x`);
  const hang = await sendOk(a.sock, conv, `${pages.origin}/hang/x`);
  await sendOk(a.sock, conv, `${pages.origin}/endless/x`);

  // The endless body is cut at LINK_PREVIEW_MAX_BYTES, long before the timeout could end it.
  const endlessClosed = await pollUntil(async () => pages.closedAfter.get('/endless/x'), (v) => v !== undefined, 6000);
  expect(endlessClosed).toBeDefined();
  expect(endlessClosed).toBeLessThan(TIMEOUT_MS / 2);
  // At most the cap was read; socket buffers on both ends hold a few MiB more at most.
  expect(streamed.get('/endless/x')).toBeLessThan(MAX_BYTES + 16 * 1024 * 1024);
  // The page that never answers is dropped at the timeout.
  const hangClosed = await pollUntil(async () => pages.closedAfter.get('/hang/x'), (v) => v !== undefined, TIMEOUT_MS + 4000);
  expect(hangClosed).toBeDefined();
  expect(hangClosed).toBeLessThan(TIMEOUT_MS + 2500);

  // The non-HTML pages were asked (so "no preview" is the HTML-only rule, not a failed fetch).
  expect(pages.hits).toEqual(expect.arrayContaining(['/json/x', '/png/x', '/hang/x', '/endless/x']));
  await sleep(300);
  await expectNoPreview([a, b], conv, [json, png, hang]);
  // The server still works: a good page after them is previewed.
  const good = await sendOk(a.sock, conv, `${pages.origin}/title/after-bad`);
  await expectPreview([b], conv, good, { title: 'Only a title' });
  closeAll([a, b]);
}, 30_000);

test('SSRF: loopback, private, shared, link-local (metadata), multicast and unspecified addresses are never fetched, directly or through a redirect', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'ssrf');
  const { a1, a2, b1, b2 } = await fourDevices(server, alice, bob);
  const targets: [string, string][] = [
    ['loopback 127.0.0.3', `${loop3.origin}/ssrf/direct`],
    ['loopback 127.0.0.1', `${loop1.origin}/ssrf/direct`],
    ['localhost', `http://localhost:${loop1.port}/ssrf/localhost`],
    ['unspecified 0.0.0.0', `http://0.0.0.0:${loop1.port}/ssrf/unspecified`],
    ['hexadecimal IPv4', `http://0x7f000003:${loop3.port}/ssrf/hex`],
    ['decimal IPv4', `http://2130706435:${loop3.port}/ssrf/decimal`],
    ['IPv4-mapped IPv6', `http://[::ffff:127.0.0.3]:${loop3.port}/ssrf/mapped`],
    ['private 10/8', 'http://10.255.255.1/ssrf'],
    ['private 172.16/12', 'http://172.31.255.254/ssrf'],
    ['private 192.168/16', 'http://192.168.255.254/ssrf'],
    ['shared 100.64/10', 'http://100.64.0.1/ssrf'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data'],
    ['multicast', 'http://224.0.0.1/ssrf'],
    ['redirect to 127.0.0.3', `${pages.origin}/to-private/x`],
    ['redirect to localhost', `${pages.origin}/to-localhost/x`],
    ['redirect to the metadata address', `${pages.origin}/to-metadata/x`],
  ];
  if (loop6) targets.push(['IPv6 loopback', `http://[::1]:${loop6.port}/ssrf/v6`]);
  const seqs: number[] = [];
  for (const [what, url] of targets) seqs.push(await sendOk(a1.sock, conv, `${what}: ${url}`));

  // A good page after them, then long enough for any fetch to have timed out.
  const control = await sendOk(a1.sock, conv, `${pages.origin}/title/after-ssrf`);
  await expectPreview([a1, a2, b1, b2], conv, control, { title: 'Only a title' });
  await sleep(TIMEOUT_MS + 500);

  expect(baitHits()).toEqual([]);
  // The allowlisted first hops were fetched: the refusal happened at the redirect.
  expect(pages.hits).toEqual(expect.arrayContaining(['/to-private/x', '/to-localhost/x', '/to-metadata/x']));
  await expectNoPreview([a1, a2, b1, b2], conv, seqs);
  closeAll([a1, a2, b1, b2]);
}, 40_000);

test('an image URL at a private, loopback or metadata address, or with credentials, is dropped from the preview; the rest of it stays', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'images');
  const a = await connectDevice(server, alice, 'im-a');
  const b = await connectDevice(server, bob, 'im-b');
  const images: [string, string, boolean][] = [
    ['metadata', 'http://169.254.169.254/latest/meta-data/', false],
    ['private', 'http://10.0.0.1/cover.png', false],
    ['loopback, not allowlisted', `${loop1.origin}/ssrf/image.png`, false],
    ['localhost', `http://localhost:${loop1.port}/ssrf/image.png`, false],
    ['IPv6 loopback', 'http://[::1]/cover.png', false],
    ['credentials', 'http://user:secret@93.184.216.34/cover.png', false],
    ['public', 'http://93.184.216.34/cover.png', true],
    ['allowlisted', `${pages.origin}/img/ok.png`, true],
  ];
  for (const [name, image, kept] of images) {
    const url = `${pages.origin}/image-at/${encodeURIComponent(name)}?${encodeURIComponent(image)}`;
    const m = await sendOk(a.sock, conv, `see ${url}`);
    await expectPreview([a, b], conv, m, { url, title: `Image ${name}`, image_url: kept ? image : null });
    expect({ name, stored: (await historyRow(server, bob, conv, m)).link_preview?.image_url }).toEqual({ name, stored: kept ? image : null });
  }
  expect(baitHits()).toEqual([]);
  closeAll([a, b]);
});

test('a device offline during the fetch replays the message and its link_preview in seq order', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'preview replay');
  const a = await connectDevice(server, alice, 'pr-a');
  const b1 = await connectDevice(server, bob, 'pr-b1');
  const b2 = await connectDevice(server, bob, 'pr-b2');
  b2.sock.close();
  await b2.sock.closed;
  const url = `${pages.origin}/og/replay`;
  const m = await sendOk(a.sock, conv, url);
  const p = await expectPreview([b1], conv, m, { url });
  const after = await sendOk(a.sock, conv, 'after the preview');

  const back = await connectDevice(server, bob, 'pr-b2', { convs: { [conv]: 1 } });
  const missed = missedOf(back.connack, conv);
  expect(missed.map((e) => [e.seq, e.kind, e.target_seq ?? null])).toEqual([
    [m, 'message', null],
    [p, 'link_preview', m],
    [after, 'message', null],
  ]);
  expect(previewOf(missed[1])).toEqual({
    url,
    title: 'Open Graph title',
    description: 'A page about previews',
    image_url: `${pages.origin}/img/preview.png`,
    site_name: 'Preview Site',
  });
  closeAll([a, b1, back]);
});

test('unsending a message removes its link preview from history and from storage', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob], 'preview unsend');
  const a = await connectDevice(server, alice, 'pu-a');
  const b = await connectDevice(server, bob, 'pu-b');
  const token = cmid('pv').replace(/[^a-z0-9-]/gi, '');
  const m = await sendOk(a.sock, conv, `${pages.origin}/unique/${token}`);
  await expectPreview([b], conv, m, { title: `Title ${token}`, description: `Description ${token}` });
  expect(storageContains(server, `Title ${token}`)).toBe(true);

  acked(await unsend(a.sock, conv, m));
  expect(await historyRow(server, bob, conv, m)).toMatchObject({ deleted: true, body: '', link_preview: null });
  expect(storageContains(server, `Title ${token}`)).toBe(false);
  expect(storageContains(server, `Description ${token}`)).toBe(false);
  closeAll([a, b]);
});

describe('with LINK_PREVIEWS=off', () => {
  let off: TestServer;
  let p: TestUser;
  let q: TestUser;
  beforeAll(async () => {
    off = await startTestServer({ LINK_PREVIEWS: 'off', LINK_PREVIEW_ALLOW: '127.0.0.2/32' });
    p = await registerUserPatiently(off.url);
    q = await registerUserPatiently(off.url);
  });
  afterAll(() => stopTestServer(off));

  test('nothing is fetched and no link_preview is emitted', async () => {
    const conv = await createConversation(off.url, p, 'group', [q], 'off');
    const pd = await connectDevice(off, p, 'off-p');
    const qd = await connectDevice(off, q, 'off-q');
    const m = await sendOk(pd.sock, conv, `${pages.origin}/og/when-off`);
    await expectDelivered([qd], conv, m, { kind: 'message' });
    await sleep(1000);
    const later = await sendOk(pd.sock, conv, 'later');
    await expectDelivered([qd], conv, later, { kind: 'message' });
    expect(pages.hits).not.toContain('/og/when-off');
    expect(qd.sock.frames.filter((f) => f.kind === 'link_preview')).toEqual([]);
    expect((await events(off, p, conv)).filter((e) => e.kind === 'link_preview')).toEqual([]);
    expect((await historyRow(off, q, conv, m)).link_preview).toBeNull();
    closeAll([pd, qd]);
  });
});

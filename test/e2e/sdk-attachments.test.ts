/**
 * The SDK's attachments against the real server (BLOB=local): a camera JPEG uploaded with
 * progress, sent, seen by the other member with placeholder and thumbnail and then its
 * display size once `attachment_ready` is folded in; cached download URLs whose bytes are
 * images; refusals as ApiErrors with the server's code. Node has no XMLHttpRequest, so the
 * PUT here is the streamed-fetch path; the XHR path is in test/client/upload.test.ts.
 */
import sharp from 'sharp';
import WebSocket from 'ws';
import { ApiError, ChatClient, foldAttachmentReady, type Attachment, type ConvEvent, type FetchLike } from '../../src/client';
import { exeHead, cameraJpeg } from '../media/fixtures';
import { createConversation, registerUser, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import { until } from './sdk-net';

jest.setTimeout(60_000);

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let conv: string;
let photo: Buffer;
const clients: ChatClient[] = [];
/** Every URL the SDK fetched over the REST fetch, in order. */
const fetched: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  [alice, bob] = await Promise.all([registerUser(server.url), registerUser(server.url)]);
  conv = await createConversation(server.url, alice, 'direct', [bob]);
  photo = await cameraJpeg();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await stopTestServer(server);
});

function client(user: TestUser, deviceId: string): ChatClient {
  const countingFetch: FetchLike = async (url, init) => {
    fetched.push(url);
    return fetch(url, init);
  };
  const c = new ChatClient({ baseUrl: server.url, token: user.token, deviceId, WebSocketImpl: WebSocket as never, fetch: countingFetch });
  clients.push(c);
  return c;
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('a photo through the SDK', () => {
  let a: ChatClient;
  let b: ChatClient;
  let uploaded: Attachment;
  let received: ConvEvent;
  const events: ConvEvent[] = [];

  beforeAll(async () => {
    a = client(alice, 'sdk-att-a');
    b = client(bob, 'sdk-att-b');
    b.on('event', (e) => {
      if (e.conv_id === conv) events.push(e);
    });
    a.connect();
    b.connect();
    await Promise.all([a.once('synced'), b.once('synced')]);
  });

  test('uploadAttachment hashes, PUTs with progress up to the total, and resolves with the completed attachment', async () => {
    const progress: [number, number][] = [];
    uploaded = await a.uploadAttachment(photo, { name: 'IMG_0042.jpg', type: 'image/jpeg', onProgress: (sent, total) => progress.push([sent, total]) });
    expect(uploaded).toMatchObject({ kind: 'image', content_type: 'image/jpeg', size: photo.length, name: 'IMG_0042.jpg', width: 3000, height: 4000, display: null });
    expect(uploaded.id).toMatch(/^a_/);
    expect(uploaded.placeholder).toBeTruthy();
    expect(uploaded.thumbnail).toMatchObject({ width: 240, height: 320, content_type: 'image/webp' });
    // Several steps (64 KiB chunks of a multi-MB photo), never backwards, ending at the total.
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.every(([, total]) => total === photo.length)).toBe(true);
    expect(progress.map(([sent]) => sent)).toEqual([...progress.map(([sent]) => sent)].sort((x, y) => x - y));
    expect(new Set(progress.map(([sent]) => sent)).size).toBe(progress.length);
    expect(progress[progress.length - 1]).toEqual([photo.length, photo.length]);
  });

  test('the other member gets the message with placeholder and thumbnail, then its display size by attachment_ready', async () => {
    const ack = await a.send(conv, '', { attachments: [uploaded.id] });
    await until(() => events.some((e) => e.kind === 'message' && e.seq === ack.seq));
    received = events.find((e) => e.seq === ack.seq)!;
    expect(received.attachments).toHaveLength(1);
    const shown = received.attachments![0];
    expect(shown).toMatchObject({ id: uploaded.id, kind: 'image', width: 3000, height: 4000, display: null });
    expect(shown.placeholder).toBe(uploaded.placeholder);
    expect(shown.thumbnail).toEqual(uploaded.thumbnail);

    // Told the same way as for link_preview: an `event` naming the message.
    await until(() => events.some((e) => e.kind === 'attachment_ready' && e.target_seq === ack.seq), 20_000);
    const ready = events.find((e) => e.kind === 'attachment_ready')!;
    const folded = foldAttachmentReady({ ...received, seq: received.seq }, ready);
    expect(folded).not.toBe(received);
    expect(folded.attachments![0].display).toMatchObject({ width: 1200, height: 1600, content_type: 'image/jpeg' });
    expect(folded.attachments![0].placeholder).toBe(shown.placeholder);
    expect(received.attachments![0].display).toBeNull(); // folding copies; the event stays as delivered
    expect(foldAttachmentReady(folded, ready)).toEqual(folded);
    // Another message, or another conversation's same seq, is left alone.
    expect(foldAttachmentReady({ ...received, seq: received.seq + 1 }, ready).attachments![0].display).toBeNull();
    expect(foldAttachmentReady({ ...received, conv_id: 'c_other' }, ready).attachments![0].display).toBeNull();

    // History shows what folding gave.
    const history = await b.rest.getMessages(conv);
    expect(history.find((m) => m.seq === ack.seq)!.attachments).toEqual(folded.attachments);
  });

  test('attachmentUrl gives URLs whose bytes are the renditions, cached per rendition', async () => {
    const urlCalls = () => fetched.filter((u) => u.includes(`/attachments/${uploaded.id}/url`)).length;
    const before = urlCalls();
    const [thumb, again] = await Promise.all([b.attachmentUrl(uploaded.id, 'thumbnail'), b.attachmentUrl(uploaded.id, 'thumbnail')]);
    expect(again).toBe(thumb); // one request for both
    expect(await b.attachmentUrl(uploaded.id, 'thumbnail')).toBe(thumb);
    expect(urlCalls()).toBe(before + 1);
    expect(thumb.expires_at).toBeGreaterThan(Date.now() + 60_000);
    expect(thumb.content_type).toBe('image/webp');
    const thumbMeta = await sharp(await download(thumb.url)).metadata();
    expect(thumbMeta).toMatchObject({ format: 'webp', width: 240, height: 320 });

    const display = await b.attachmentUrl(uploaded.id, 'display');
    expect(urlCalls()).toBe(before + 2);
    expect(display.url).not.toBe(thumb.url);
    const displayMeta = await sharp(await download(display.url)).metadata();
    expect(displayMeta).toMatchObject({ format: 'jpeg', width: 1200, height: 1600 });
  });

  test('a URL refused is not cached, and the error is an ApiError with the server\'s code', async () => {
    const stranger = client(await registerUser(server.url), 'sdk-att-c');
    const before = fetched.length;
    const err = await stranger.attachmentUrl(uploaded.id, 'thumbnail').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: 'not_found' });
    await expect(stranger.attachmentUrl(uploaded.id, 'thumbnail')).rejects.toMatchObject({ code: 'not_found' });
    expect(fetched.length).toBe(before + 2); // asked again, not answered from the cache
  });
});

describe('uploads the server refuses', () => {
  let a: ChatClient;
  beforeAll(() => {
    a = client(alice, 'sdk-att-a2'); // REST only: uploads need no connection
  });

  test('a type not allowed: ApiError bad_request from the slot, nothing PUT', async () => {
    const progress: number[] = [];
    const err = await a.uploadAttachment(exeHead(), { name: 'setup.exe', type: 'application/x-msdownload', onProgress: (sent) => progress.push(sent) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'bad_request' });
    expect(progress).toEqual([]);
  });

  test('bytes not of the declared type: ApiError bad_request from completion', async () => {
    const exe = Buffer.concat([exeHead(), Buffer.alloc(4096, 1)]);
    const err = await a.uploadAttachment(exe, { name: 'cat.jpg', type: 'image/jpeg' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'bad_request' });
    expect((err as ApiError).message).toMatch(/type mismatch/);
  });

  test('a Blob uploads like bytes: a PDF comes back as a file and downloads as uploaded', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
    const att = await a.uploadAttachment(new Blob([pdf], { type: 'application/pdf' }), { name: 'report.pdf', type: 'application/pdf' });
    expect(att).toMatchObject({ kind: 'file', content_type: 'application/pdf', size: pdf.length, thumbnail: null, display: null });
    const url = await a.attachmentUrl(att.id);
    expect((await download(url.url)).equals(pdf)).toBe(true);
  });
});

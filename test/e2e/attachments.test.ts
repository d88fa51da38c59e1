/**
 * Attachments end to end on the embedded engines (BLOB=local): a camera JPEG goes through
 * slot, PUT, complete and SEND, reaches the other member with its placeholder and
 * thumbnail, then its display size by attachment_ready; renditions carry no EXIF; every
 * bad input the issue lists is refused clearly and leaves nothing stored; unsend and the
 * collector remove what nothing references.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { http, registerUser, createConversation, startTestServer, stopTestServer, sleep, pollUntil, type TestServer, type TestUser, type Frame } from './harness';
import { connectDevice, closeAll, cmid, send, unsend, type Device } from './rich-helpers';
import { cameraJpeg, exeHead, pixelBombPng } from '../media/fixtures';

jest.setTimeout(60_000);

let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let eve: TestUser;
let conv: string;
let photo: Buffer;
const devices: Device[] = [];

beforeAll(async () => {
  // The collector runs often; unsent uploads live the default day (one test starts a server of its own for that).
  server = await startTestServer({ MAX_ATTACHMENTS: '3', ATTACH_GC_INTERVAL_MS: '200' });
  [alice, bob, eve] = await Promise.all([registerUser(server.url), registerUser(server.url), registerUser(server.url)]);
  conv = await createConversation(server.url, alice, 'direct', [bob]);
  photo = await cameraJpeg();
});
afterAll(async () => {
  closeAll(devices);
  await stopTestServer(server);
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Slot {
  attachment_id: string;
  upload_url: string;
  upload_headers: Record<string, string>;
}

async function slot(user: TestUser, name: string, type: string, bytes: Buffer, over: Record<string, unknown> = {}) {
  return http<Slot & { error?: { code: string; message: string } }>(server.url, 'POST', '/api/v1/attachments', { name, content_type: type, size: bytes.length, sha256: sha(bytes), ...over }, user.token);
}

async function put(s: Slot, bytes: Buffer): Promise<number> {
  const res = await fetch(s.upload_url, { method: 'PUT', headers: s.upload_headers, body: new Uint8Array(bytes) });
  await res.arrayBuffer();
  return res.status;
}

const complete = (user: TestUser, id: string) => http(server.url, 'POST', `/api/v1/attachments/${id}/complete`, undefined, user.token);

/** Slot, PUT and complete; returns the completion's answer. */
async function upload(user: TestUser, name: string, type: string, bytes: Buffer, declared: Buffer = bytes) {
  const s = await slot(user, name, type, declared);
  expect(s.status).toBe(201);
  expect(await put(s.body, bytes)).toBe(200);
  return { id: s.body.attachment_id, res: await complete(user, s.body.attachment_id) };
}

/** Object files of the local blob engine whose key starts with `prefix` (`/` is `~` on disk). */
function objects(prefix: string): string[] {
  const dir = join(server.dataDir, 'blobs', 'objects');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(prefix.split('/').join('~'))) : [];
}

/** After a refusal: no upload object and no record (GET answers 404) remain. */
async function nothingStored(user: TestUser, id: string): Promise<void> {
  expect(objects(`uploads/${id}`)).toEqual([]);
  expect((await http(server.url, 'GET', `/api/v1/attachments/${id}`, undefined, user.token)).status).toBe(404);
}

async function fetchBytes(url: string): Promise<{ status: number; type: string | null; bytes: Buffer; disposition: string | null }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition'), bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('a photo from upload to the other member\'s screen', () => {
  let id: string;
  let seq: number;
  let bobDevice: Device;

  test('complete answers the image with its oriented size, placeholder and thumbnail', async () => {
    const up = await upload(alice, 'IMG_0042.jpg', 'image/jpeg', photo);
    id = up.id;
    expect(up.res.status).toBe(200);
    expect(up.res.body).toMatchObject({ id, kind: 'image', content_type: 'image/jpeg', size: photo.length, name: 'IMG_0042.jpg', width: 3000, height: 4000, display: null });
    expect(up.res.body.thumbnail).toMatchObject({ width: 240, height: 320, content_type: 'image/webp' });
    expect(typeof up.res.body.placeholder).toBe('string');
    expect(Buffer.from(up.res.body.placeholder as string, 'base64').length).toBeLessThanOrEqual(40);
    // The upload object is gone; the content is stored under its hash.
    expect(objects(`uploads/${id}`)).toEqual([]);
    expect(objects(`blobs/${sha(photo)}`)).toHaveLength(1);
    // Completing again answers the same attachment.
    expect((await complete(alice, id)).body).toEqual(up.res.body);
  });

  test('SEND carries it to the recipient with placeholder and thumbnail, then attachment_ready brings the display size', async () => {
    bobDevice = await connectDevice(server, bob, 'bob-phone');
    devices.push(bobDevice);
    const aliceDevice = await connectDevice(server, alice, 'alice-phone');
    devices.push(aliceDevice);
    const ack = await send(aliceDevice.sock, conv, '', { attachments: [id] });
    expect(ack.type).toBe('ACK');
    seq = ack.seq;
    const msg = await bobDevice.sock.next((f: Frame) => f.type === 'DELIVER' && f.seq === seq);
    expect(msg.attachments).toHaveLength(1);
    expect(msg.attachments[0]).toMatchObject({ id, kind: 'image', width: 3000, height: 4000 });
    expect(msg.attachments[0].placeholder).toBeTruthy();
    expect(msg.attachments[0].thumbnail).not.toBeNull();
    const ready = await bobDevice.sock.next((f: Frame) => f.type === 'DELIVER' && f.kind === 'attachment_ready', 15_000);
    expect(ready).toMatchObject({ target_seq: seq, attachment: { id } });
    expect(ready.attachment.display).toMatchObject({ width: 1200, height: 1600, content_type: 'image/jpeg' });
    // A retry of the SEND is the same message.
    const again = await send(aliceDevice.sock, conv, '', { attachments: [id] }, ack.client_msg_id);
    expect(again).toMatchObject({ type: 'ACK', seq, duplicate: true });
  });

  test('history folds the display size in', async () => {
    const res = await http(server.url, 'GET', `/api/v1/conversations/${conv}/messages`, undefined, bob.token);
    const row = (res.body.messages as Frame[]).find((m) => m.seq === seq) as Frame;
    expect(row.attachments[0].display).toMatchObject({ width: 1200, height: 1600 });
  });

  test('the recipient downloads both renditions: right size, no EXIF or GPS; anyone else gets 404', async () => {
    for (const rendition of ['thumbnail', 'display'] as const) {
      const res = await http(server.url, 'GET', `/api/v1/attachments/${id}/url?rendition=${rendition}`, undefined, bob.token);
      expect(res.status).toBe(200);
      const got = await fetchBytes(res.body.url as string);
      expect(got.status).toBe(200);
      const meta = await sharp(got.bytes).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      expect(got.bytes.includes('GPS-12')).toBe(false);
      expect(meta.height).toBe(rendition === 'thumbnail' ? 320 : 1600);
    }
    // `original` of an image is its display size: the camera's metadata never leaves.
    const original = await http(server.url, 'GET', `/api/v1/attachments/${id}/url?rendition=original`, undefined, bob.token);
    expect((await fetchBytes(original.body.url as string)).bytes.includes('RelayTestCam')).toBe(false);
    // A non-member: not found, for the record and for a URL.
    expect((await http(server.url, 'GET', `/api/v1/attachments/${id}/url`, undefined, eve.token)).status).toBe(404);
    expect((await http(server.url, 'GET', `/api/v1/attachments/${id}`, undefined, eve.token)).status).toBe(404);
    // redirect=1 answers 302 to the signed URL.
    const redirect = await fetch(`${server.url}/api/v1/attachments/${id}/url?rendition=thumbnail&redirect=1`, { headers: { authorization: `Bearer ${bob.token}` }, redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toMatch(/\/blobs\/renditions\//);
  });

  test('the same bytes uploaded by someone else are stored once, and the hash gives them nothing of alice\'s', async () => {
    const up = await upload(eve, 'copy.jpg', 'image/jpeg', photo);
    expect(up.res.status).toBe(200);
    expect(objects(`blobs/${sha(photo)}`)).toHaveLength(1);
    // eve holds the same content, yet alice's attachment stays hers and bob's.
    expect((await http(server.url, 'GET', `/api/v1/attachments/${id}/url?rendition=thumbnail`, undefined, eve.token)).status).toBe(404);
  });

  test('unsend removes the message\'s attachment; the content stays while eve\'s upload references it', async () => {
    const aliceDevice = devices[1];
    const del = await unsend(aliceDevice.sock, conv, seq);
    expect(del.type).toBe('ACK');
    expect((await http(server.url, 'GET', `/api/v1/attachments/${id}`, undefined, alice.token)).status).toBe(404);
    await sleep(600); // a few collector passes
    expect(objects(`blobs/${sha(photo)}`)).toHaveLength(1);
  });
});

describe('files', () => {
  test('a PDF is a file: no renditions, downloaded as uploaded under its name', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
    const up = await upload(alice, 'report Q3.pdf', 'application/pdf', pdf);
    expect(up.res.body).toMatchObject({ kind: 'file', content_type: 'application/pdf', size: pdf.length, width: null, placeholder: null, thumbnail: null });
    const aliceDevice = await connectDevice(server, alice, 'alice-laptop');
    devices.push(aliceDevice);
    expect((await send(aliceDevice.sock, conv, 'the report', { attachments: [up.id] })).type).toBe('ACK');
    const url = await http(server.url, 'GET', `/api/v1/attachments/${up.id}/url`, undefined, bob.token);
    const got = await fetchBytes(url.body.url as string);
    expect(got.bytes.equals(pdf)).toBe(true);
    expect(got.disposition).toMatch(/^attachment;.*report Q3\.pdf/);
    expect((await http(server.url, 'GET', `/api/v1/attachments/${up.id}/url?rendition=thumbnail`, undefined, bob.token)).status).toBe(400);
  });
});

describe('bad input: a clear error, nothing half-stored', () => {
  const refusedAtCompletion = async (bytes: Buffer, declared: Buffer, type: string, name: string, status: number, message: RegExp) => {
    const { id, res } = await upload(alice, name, type, bytes, declared);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    await nothingStored(alice, id);
  };

  test('wrong hash', async () => {
    const other = Buffer.from(photo);
    other[other.length - 3] ^= 0xff;
    await refusedAtCompletion(other, photo, 'image/jpeg', 'a.jpg', 400, /hash mismatch/);
  });

  test('wrong size', async () => {
    await refusedAtCompletion(photo.subarray(0, photo.length - 10), photo, 'image/jpeg', 'a.jpg', 400, /size mismatch/);
  });

  test('an .exe called .jpg', async () => {
    const exe = Buffer.concat([exeHead(), Buffer.alloc(4096, 1)]);
    await refusedAtCompletion(exe, exe, 'image/jpeg', 'cat.jpg', 400, /type mismatch/);
  });

  test('a truncated JPEG', async () => {
    const half = photo.subarray(0, photo.length >> 1);
    await refusedAtCompletion(half, half, 'image/jpeg', 'half.jpg', 400, /truncated/);
  });

  test('a pixel bomb', async () => {
    const bomb = await pixelBombPng();
    await refusedAtCompletion(bomb, bomb, 'image/png', 'bomb.png', 413, /too many pixels/);
  });

  test('zero bytes', async () => {
    const res = await slot(alice, 'empty.txt', 'text/plain', Buffer.alloc(0));
    expect(res.status).toBe(400);
    expect(res.body.error?.message).toMatch(/size must be a positive integer/);
  });

  test('a type not allowed, or over its size limit, is refused at the slot', async () => {
    expect((await slot(alice, 'x.exe', 'application/x-msdownload', Buffer.from('MZ'))).status).toBe(400);
    expect((await slot(alice, 'huge.jpg', 'image/jpeg', photo, { size: 26 * 1024 * 1024 })).status).toBe(413);
    expect((await slot(alice, 'x.jpg', 'image/jpeg', photo, { sha256: 'zz' })).status).toBe(400);
  });

  test('an expired upload URL is refused, and completing without an upload says so', async () => {
    const short = await startTestServer({ ATTACH_UPLOAD_TTL_SECONDS: '1' });
    try {
      const user = await registerUser(short.url);
      const s = await http<Slot>(short.url, 'POST', '/api/v1/attachments', { name: 'a.jpg', content_type: 'image/jpeg', size: photo.length, sha256: sha(photo) }, user.token);
      await sleep(2100);
      const res = await fetch(s.body.upload_url, { method: 'PUT', headers: s.body.upload_headers, body: new Uint8Array(photo) });
      expect(res.status).toBe(403);
      const done = await http(short.url, 'POST', `/api/v1/attachments/${s.body.attachment_id}/complete`, undefined, user.token);
      expect(done.status).toBe(400);
      expect(done.body.error.message).toMatch(/nothing was uploaded/);
    } finally {
      await stopTestServer(short);
    }
  });

  test('asking for slots in a flood is rate limited per user', async () => {
    const flooder = await registerUser(server.url);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => slot(flooder, `f${i}.txt`, 'text/plain', Buffer.from(`file ${i}`))));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((st) => st === 201).length).toBeGreaterThanOrEqual(30);
    expect(statuses).toContain(429);
    // Another user is not affected.
    expect((await slot(bob, 'b.txt', 'text/plain', Buffer.from('b'))).status).toBe(201);
  });

  test('a PUT URL used again after completion stores only until the URL has expired', async () => {
    // Long enough for the slot, the upload, the completion (image work) and a second PUT on a
    // loaded machine; the URL must still be valid for that second PUT.
    const short = await startTestServer({ ATTACH_UPLOAD_TTL_SECONDS: '8' });
    try {
      const user = await registerUser(short.url);
      const s = await http<Slot>(short.url, 'POST', '/api/v1/attachments', { name: 'a.jpg', content_type: 'image/jpeg', size: photo.length, sha256: sha(photo) }, user.token);
      expect(await put(s.body, photo)).toBe(200);
      expect((await http(short.url, 'POST', `/api/v1/attachments/${s.body.attachment_id}/complete`, undefined, user.token)).status).toBe(200);
      // The URL still works: junk lands under the upload key again.
      expect(await put(s.body, Buffer.from('junk'))).toBe(200);
      const uploads = () => readdirSync(join(short.dataDir, 'blobs', 'objects')).filter((f) => f === `uploads~${s.body.attachment_id}`).length;
      expect(uploads()).toBe(1);
      // Expiry (8 s) plus the clock margin (2 s here): the cleanup job removes it.
      await pollUntil(async () => uploads(), (n) => n === 0, 20_000);
      expect((await http(short.url, 'GET', `/api/v1/attachments/${s.body.attachment_id}`, undefined, user.token)).status).toBe(200);
    } finally {
      await stopTestServer(short);
    }
  });

  test('completing someone else\'s upload: not found, and their upload is untouched', async () => {
    const s = await slot(alice, 'mine.jpg', 'image/jpeg', photo);
    expect(await put(s.body, photo)).toBe(200);
    expect((await complete(eve, s.body.attachment_id)).status).toBe(404);
    expect((await complete(alice, s.body.attachment_id)).status).toBe(200);
  });

  test('sending another user\'s attachment, an unfinished one, one twice, or too many', async () => {
    const aliceDevice = await connectDevice(server, alice, 'alice-tablet');
    devices.push(aliceDevice);
    const bobsConv = await createConversation(server.url, eve, 'direct', [alice]);
    const evesPhoto = (await upload(eve, 'e.jpg', 'image/jpeg', photo)).id;
    const theirs = await send(aliceDevice.sock, bobsConv, '', { attachments: [evesPhoto] });
    expect(theirs).toMatchObject({ type: 'ERROR', code: 'bad_request' });
    expect(theirs.message).toMatch(/unknown attachment/);
    const unfinished = (await slot(alice, 'u.jpg', 'image/jpeg', photo)).body.attachment_id;
    expect((await send(aliceDevice.sock, conv, '', { attachments: [unfinished] })).message).toMatch(/not completed/);
    const mine = (await upload(alice, 'm.jpg', 'image/jpeg', photo)).id;
    expect((await send(aliceDevice.sock, conv, '', { attachments: [mine, mine] })).message).toMatch(/named twice/);
    expect((await send(aliceDevice.sock, conv, 'first', { attachments: [mine] })).type).toBe('ACK');
    expect((await send(aliceDevice.sock, conv, 'second', { attachments: [mine] })).message).toMatch(/already sent/);
    const four = await send(aliceDevice.sock, conv, '', { attachments: ['a_1', 'a_2', 'a_3', 'a_4'] });
    expect(four).toMatchObject({ type: 'ERROR', code: 'bad_request' });
  });
});

describe('collection', () => {
  test('an upload never sent is collected after ATTACH_UNSENT_TTL_MS, and its content with it; a SEND refuses it before', async () => {
    const short = await startTestServer({ ATTACH_GC_INTERVAL_MS: '200', ATTACH_UNSENT_TTL_MS: '3000' });
    try {
      const user = await registerUser(short.url);
      const friend = await registerUser(short.url);
      const dm = await createConversation(short.url, user, 'direct', [friend]);
      const lonely = Buffer.from('just some notes, never sent\n');
      const s = await http<Slot>(short.url, 'POST', '/api/v1/attachments', { name: 'notes.txt', content_type: 'text/plain', size: lonely.length, sha256: sha(lonely) }, user.token);
      expect(await put(s.body, lonely)).toBe(200);
      const id = s.body.attachment_id;
      expect((await http(short.url, 'POST', `/api/v1/attachments/${id}/complete`, undefined, user.token)).status).toBe(200);
      const stored = () => readdirSync(join(short.dataDir, 'blobs', 'objects')).filter((f) => f.startsWith(`blobs~${sha(lonely)}`)).length;
      expect(stored()).toBe(1);
      // Past half the TTL a SEND refuses it: it must never race the collector.
      await sleep(1600);
      const late = await http(short.url, 'POST', `/api/v1/conversations/${dm}/messages`, { client_msg_id: cmid('late'), body: '', attachments: [id] }, user.token);
      expect(late.status).toBe(400);
      expect(late.body.error.message).toMatch(/expired unsent/);
      await pollUntil(async () => (await http(short.url, 'GET', `/api/v1/attachments/${id}`, undefined, user.token)).status, (status) => status === 404, 5000);
      await pollUntil(async () => stored(), (n) => n === 0, 3000);
    } finally {
      await stopTestServer(short);
    }
  });

  test('unsent content nothing references any more is deleted with its renditions', async () => {
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } }).png().toBuffer();
    const up = await upload(alice, 'tiny.png', 'image/png', png);
    const device = await connectDevice(server, alice, 'alice-watch');
    devices.push(device);
    const ack = await send(device.sock, conv, '', { attachments: [up.id] });
    await pollUntil(async () => objects(`renditions/${sha(png)}/display`).length, (n) => n === 1, 10_000);
    expect((await unsend(device.sock, conv, ack.seq, cmid('del'))).type).toBe('ACK');
    await pollUntil(async () => objects(`blobs/${sha(png)}`).length + objects(`renditions/${sha(png)}`).length, (n) => n === 0, 3000);
  });

  test('content a dead collector left claimed is collected by a later pass, and can be uploaded again', async () => {
    const notes = Buffer.from('notes whose collector died mid-deletion\n');
    // A collector claimed the blob long ago (past any lease) and died before dropBlob.
    const db = new Database(join(server.dataDir, 'chat.db'));
    try {
      db.pragma('busy_timeout = 5000');
      db.prepare('INSERT INTO blobs (sha256, refs, unreferenced_since, claimed, claimed_at) VALUES (?, 0, 1, 1, 2)').run(sha(notes));
    } finally {
      db.close();
    }
    // The upload waits for the claim to go: a later collector pass takes it over and drops it.
    const up = await upload(bob, 'notes.txt', 'text/plain', notes);
    expect(up.res.status).toBe(200);
    expect(objects(`blobs/${sha(notes)}`)).toHaveLength(1);
    expect((await http(server.url, 'GET', `/api/v1/attachments/${up.id}`, undefined, bob.token)).status).toBe(200);
  });
});

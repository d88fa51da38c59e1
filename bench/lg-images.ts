/**
 * S9's image clients, a child process of their own (forked by scenarios/s9-images.ts, never
 * inside the server): first the floor (image-floor.ts) on photos it makes itself, while
 * nothing else of the bench runs; then pairs of devices over WebSocket, the senders
 * uploading camera photos to their recipients in rounds (all at once, then the next round
 * when every one is on screen), as docs/protocol.md
 * "Attachments" describes a client: slot, PUT, complete, SEND {attachments}. The recipient
 * puts each image on its screen: the DELIVER's placeholder, the thumbnail's bytes (fetched
 * through its signed URL as soon as the DELIVER names it), and the display size once
 * attachment_ready announces it (also fetched). Every time is measured from the moment the
 * sender asks for /complete, on the CLOCK_MONOTONIC that all the bench's processes share.
 * Frames here are few (one message and one attachment_ready per image), so they are parsed.
 */
import { createHash, randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { newSortableId } from '../src/protocol/ids';
import { nowMs, sleepUntil } from './clock';
import { Histogram, type HistogramData } from './histogram';
import { measureFloor, type FloorResult } from './image-floor';
import { cameraPhoto, withTag } from './photo';

/** One sender and its recipient, both members of `conv` only. */
export interface ImagePair {
  sender: string;
  recipient: string;
  conv: string;
}

export interface ImagePlan {
  /** Monotonic ms: every sender starts the first round's upload then. */
  startAt: number;
  /** No round starts after this once `minRounds` were done. */
  stopAt: number;
  minRounds: number;
  /** No round starts after this, whatever minRounds says (a stuck server). */
  deadline: number;
  /** An upload not on screen this long after /complete was asked is charged at this time. */
  timeoutMs: number;
}

export interface ImageRunResult {
  started: number;
  /** Uploads with placeholder, thumbnail bytes, display DELIVER and display bytes all seen. */
  done: number;
  /** reason -> count (HTTP status of a step, ERROR code, timeout). */
  failures: Record<string, number>;
  /** µs after /complete was asked: its answer, the DELIVER with the placeholder, ... */
  complete: HistogramData;
  placeholder: HistogramData;
  thumbnail: HistogramData;
  display: HistogramData;
  displayBytes: HistogramData;
  /** Per round: the first /complete asked to the last display's bytes fetched (monotonic ms). */
  rounds: { from: number; to: number }[];
  /** message DELIVERs whose attachment already had a thumbnail / a display size. */
  thumbnailInMessage: number;
  displayInMessage: number;
  /** Smallest upload, bytes. */
  minBytes: number;
  /** This process's CPU over the run (client-side hashing, HTTP, JSON), µs. */
  cpuUs: number;
}

export type ToImages =
  | { op: 'prepare'; photos: number; floorReps: number }
  | { op: 'connect'; http: string; wsUrl: string; secret: string; pairs: ImagePair[] }
  | { op: 'run'; plan: ImagePlan }
  | { op: 'close' };

export type FromImages =
  | { op: 'prepared'; photoBytes: number; floor: FloorResult }
  | { op: 'connected' }
  | { op: 'ran'; result: ImageRunResult }
  | { op: 'closed' }
  | { op: 'error'; message: string };

interface Upload {
  id: string;
  t0: number;
  completedAt?: number;
  placeholderAt?: number;
  thumbnailAt?: number;
  displayAt?: number;
  displayBytesAt?: number;
  failed?: string;
  finish: () => void;
}

interface Device {
  user: string;
  token: string;
  ws: WebSocket;
}

const nonce = randomBytes(4).toString('hex');
let photos: Buffer[] = [];
let http = '';
let pairs: { sender: Device; recipient: Device; conv: string }[] = [];
/** Uploads by attachment id, for the recipients' frames. */
const uploads = new Map<string, Upload>();
let counters = { thumbnailInMessage: 0, displayInMessage: 0 };

function reply(msg: FromImages): void {
  process.send?.(msg);
}

function openDevice(wsUrl: string, secret: string, user: string, conv: string, onFrame: (d: Device, f: Frame, at: number) => void): Promise<Device> {
  const token = jwt.sign({}, secret, { algorithm: 'HS256', subject: user, expiresIn: 6 * 3600 });
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    const device: Device = { user, token, ws };
    let open = false;
    ws.once('open', () => ws.send(JSON.stringify({ type: 'CONNECT', token, device_id: `d_img_${user}`, sync: { convs: { [conv]: Number.MAX_SAFE_INTEGER } } })));
    ws.on('message', (data: Buffer) => {
      const at = nowMs();
      const f = JSON.parse(data.toString()) as Frame;
      if (open) return onFrame(device, f, at);
      if (f.type === 'CONNACK') {
        open = true;
        resolve(device);
      } else if (f.type === 'ERROR') reject(new Error(`CONNECT refused: ${f.code}`));
    });
    ws.once('error', reject);
    ws.once('close', (code) => {
      if (!open) reject(new Error(`closed ${code} before CONNACK`));
    });
  });
}

interface Attachment {
  id: string;
  placeholder: string | null;
  thumbnail: object | null;
  display: object | null;
}

interface Frame {
  type: string;
  kind?: string;
  code?: string;
  attachments?: Attachment[];
  attachment?: Attachment;
}

function fail(u: Upload, reason: string): void {
  u.failed ??= reason;
  u.finish();
}

function settle(u: Upload): void {
  if (u.thumbnailAt !== undefined && u.displayBytesAt !== undefined) u.finish();
}

/** GET the rendition's signed URL, then its bytes; resolves when the last byte is in. */
async function fetchRendition(token: string, id: string, which: 'thumbnail' | 'display'): Promise<number> {
  const res = await fetch(`${http}/api/v1/attachments/${id}/url?rendition=${which}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`url ${which} ${res.status}`);
  const { url } = (await res.json()) as { url: string };
  const bytes = await fetch(url);
  await bytes.arrayBuffer();
  if (!bytes.ok) throw new Error(`get ${which} ${bytes.status}`);
  return nowMs();
}

function showDisplay(recipient: Device, u: Upload, at: number): void {
  if (u.displayAt !== undefined) return;
  u.displayAt = at;
  fetchRendition(recipient.token, u.id, 'display').then(
    (t) => {
      u.displayBytesAt = t;
      settle(u);
    },
    (err: Error) => fail(u, err.message),
  );
}

/** The recipient's screen. */
function onRecipientFrame(recipient: Device, f: Frame, at: number): void {
  if (f.type !== 'DELIVER') return;
  if (f.kind === 'message') {
    for (const a of f.attachments ?? []) {
      const u = uploads.get(a.id);
      if (!u || u.placeholderAt !== undefined) continue;
      if (a.placeholder) u.placeholderAt = at;
      if (a.thumbnail) {
        counters.thumbnailInMessage++;
        fetchRendition(recipient.token, u.id, 'thumbnail').then(
          (t) => {
            u.thumbnailAt = t;
            settle(u);
          },
          (err: Error) => fail(u, err.message),
        );
      }
      if (a.display) {
        counters.displayInMessage++;
        showDisplay(recipient, u, at);
      }
    }
  } else if (f.kind === 'attachment_ready' && f.attachment) {
    const u = uploads.get(f.attachment.id);
    if (u && f.attachment.display) showDisplay(recipient, u, at);
  }
}

/** The sender's side: only an ERROR matters (it answers the one SEND in flight). */
const senderUpload = new Map<Device, Upload>();
function onSenderFrame(sender: Device, f: Frame): void {
  if (f.type !== 'ERROR') return;
  const u = senderUpload.get(sender);
  if (u) fail(u, `ERROR ${f.code}`);
}

async function post<T>(path: string, token: string, body?: unknown): Promise<T> {
  const res = await fetch(`${http}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as T & { error?: { code: string } };
  if (!res.ok) throw new Error(`POST ${path.replace(/a_[0-9a-f]+/, ':id')} ${res.status} ${json.error?.code ?? ''}`.trim());
  return json;
}

async function uploadOnce(sender: Device, conv: string, bytes: Buffer, plan: ImagePlan, all: Upload[]): Promise<void> {
  // The client's own hashing and its upload come before the measured span.
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const slot = await post<{ attachment_id: string; upload_url: string; upload_headers: Record<string, string> }>('/api/v1/attachments', sender.token, {
    name: 'IMG_0001.jpg',
    content_type: 'image/jpeg',
    size: bytes.length,
    sha256,
  });
  const put = await fetch(slot.upload_url, { method: 'PUT', headers: slot.upload_headers, body: new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length) });
  await put.arrayBuffer();
  if (!put.ok) throw new Error(`PUT ${put.status}`);
  let finish = (): void => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const u: Upload = { id: slot.attachment_id, t0: nowMs(), finish };
  all.push(u);
  uploads.set(u.id, u);
  senderUpload.set(sender, u);
  const timer = setTimeout(() => fail(u, 'timeout'), plan.timeoutMs);
  try {
    await post(`/api/v1/attachments/${u.id}/complete`, sender.token);
    u.completedAt = nowMs();
    sender.ws.send(JSON.stringify({ type: 'SEND', client_msg_id: newSortableId('m'), conv_id: conv, body: '', attachments: [u.id] }));
  } catch (err) {
    fail(u, (err as Error).message);
  }
  await finished;
  clearTimeout(timer);
  senderUpload.delete(sender);
}

async function run(plan: ImagePlan): Promise<ImageRunResult> {
  const all: Upload[] = [];
  const failures: Record<string, number> = {};
  const count = (reason: string): void => {
    failures[reason] = (failures[reason] ?? 0) + 1;
  };
  let minBytes = Infinity;
  counters = { thumbnailInMessage: 0, displayInMessage: 0 };
  await sleepUntil(plan.startAt);
  const cpu0 = process.cpuUsage();
  const rounds: { from: number; to: number }[] = [];
  // Rounds: every sender uploads one photo at once; the next round starts when the whole
  // round is on the recipients' screens (or failed).
  for (let n = 0; (n < plan.minRounds || nowMs() < plan.stopAt) && nowMs() < plan.deadline; n++) {
    const first = all.length;
    await Promise.all(
      pairs.map(async ({ sender, conv }, i) => {
        // Distinct bytes for every upload: the photos are few, the tags unique.
        const bytes = withTag(photos[(i + n) % photos.length], `s9 ${nonce} sender ${i} round ${n}`);
        minBytes = Math.min(minBytes, bytes.length);
        try {
          await uploadOnce(sender, conv, bytes, plan, all);
        } catch (err) {
          count((err as Error).message);
        }
      }),
    );
    const round = all.slice(first);
    const ends = round.flatMap((u) => (u.displayBytesAt === undefined ? [] : [u.displayBytesAt]));
    if (round.length > 0 && ends.length > 0) rounds.push({ from: Math.min(...round.map((u) => u.t0)), to: Math.max(...ends) });
  }
  const cpu = process.cpuUsage(cpu0);
  const h = { complete: new Histogram(), placeholder: new Histogram(), thumbnail: new Histogram(), display: new Histogram(), displayBytes: new Histogram() };
  // A stage never seen is charged at the timeout: a lower bound of its true latency.
  const since = (u: Upload, at: number | undefined): number => ((at ?? u.t0 + plan.timeoutMs) - u.t0) * 1000;
  let done = 0;
  for (const u of all) {
    if (u.failed) count(u.failed);
    else done++;
    h.complete.record(since(u, u.completedAt));
    h.placeholder.record(since(u, u.placeholderAt));
    h.thumbnail.record(since(u, u.thumbnailAt));
    h.display.record(since(u, u.displayAt));
    h.displayBytes.record(since(u, u.displayBytesAt));
  }
  uploads.clear();
  return {
    started: all.length,
    done,
    failures,
    complete: h.complete.toJSON(),
    placeholder: h.placeholder.toJSON(),
    thumbnail: h.thumbnail.toJSON(),
    display: h.display.toJSON(),
    displayBytes: h.displayBytes.toJSON(),
    rounds,
    ...counters,
    minBytes: minBytes === Infinity ? 0 : minBytes,
    cpuUs: cpu.user + cpu.system,
  };
}

async function handle(msg: ToImages): Promise<void> {
  switch (msg.op) {
    case 'prepare': {
      // One after the other: the floor must find the machine's cores idle.
      photos = [];
      for (let i = 0; i < msg.photos; i++) photos.push(await cameraPhoto(i));
      const floor = await measureFloor(photos, msg.floorReps);
      reply({ op: 'prepared', photoBytes: photos[0].length, floor });
      return;
    }
    case 'connect': {
      http = msg.http;
      pairs = await Promise.all(
        msg.pairs.map(async (p) => ({
          conv: p.conv,
          sender: await openDevice(msg.wsUrl, msg.secret, p.sender, p.conv, (d, f) => onSenderFrame(d, f)),
          recipient: await openDevice(msg.wsUrl, msg.secret, p.recipient, p.conv, onRecipientFrame),
        })),
      );
      reply({ op: 'connected' });
      return;
    }
    case 'run':
      reply({ op: 'ran', result: await run(msg.plan) });
      return;
    case 'close':
      for (const p of pairs) {
        p.sender.ws.terminate();
        p.recipient.ws.terminate();
      }
      pairs = [];
      reply({ op: 'closed' });
      return;
  }
}

process.on('message', (msg: ToImages) => {
  handle(msg).catch((err: unknown) => reply({ op: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
process.on('disconnect', () => process.exit(0));

/**
 * A lived-in account for the accessibility check and the README screenshots: five people,
 * three direct chats and a group, with replies, reactions, a photo, read receipts, an
 * unread chat and a muted one, all made over REST (fast, and the same every run). Ann is the one who signs in.
 */
import { createHash, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { http, type TestUser } from '../e2e/harness';
import { password } from './helpers';

export interface Scene {
  ann: TestUser;
  bob: TestUser;
  cat: TestUser;
  dave: TestUser;
  eve: TestUser;
  /** The title of the group, the newest conversation in Ann's list. */
  group: string;
}

async function person(base: string, username: string, display_name: string): Promise<TestUser> {
  const res = await http(base, 'POST', '/api/v1/auth/register', { username, password, display_name });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return { user_id: res.body.user_id, username: res.body.username, token: res.body.token };
}

async function conversation(base: string, owner: TestUser, members: TestUser[], title?: string): Promise<string> {
  const body = { type: title ? 'group' : 'direct', member_ids: members.map((m) => m.user_id), title };
  const res = await http(base, 'POST', '/api/v1/conversations', body, owner.token);
  if (res.status !== 201 && res.status !== 200) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.conv_id;
}

async function say(base: string, from: TestUser, conv: string, body: string, replyTo?: number): Promise<number> {
  const res = await http(base, 'POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: randomUUID(), body, reply_to: replyTo }, from.token);
  if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.seq;
}

async function react(base: string, from: TestUser, conv: string, seq: number, emoji: string): Promise<void> {
  const res = await http(base, 'POST', `/api/v1/conversations/${conv}/messages/${seq}/reactions`, { client_msg_id: randomUUID(), emoji }, from.token);
  if (res.status !== 201) throw new Error(`react: ${res.status} ${JSON.stringify(res.body)}`);
}

async function read(base: string, who: TestUser, conv: string, seq: number): Promise<void> {
  const res = await http(base, 'POST', `/api/v1/conversations/${conv}/read`, { seq }, who.token);
  if (res.status !== 200) throw new Error(`read: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A mountain view drawn as SVG and encoded as JPEG: a real photo's shapes, made on the spot. */
async function mountainPhoto(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#6fa8dc"/><stop offset="1" stop-color="#fce5cd"/></linearGradient></defs>
    <rect width="800" height="600" fill="url(#sky)"/>
    <circle cx="620" cy="150" r="60" fill="#fff2cc"/>
    <path d="M0 430 L180 220 L300 340 L430 160 L600 380 L700 290 L800 360 V600 H0 Z" fill="#5b6e8c"/>
    <path d="M400 196 L430 160 L462 205 L445 198 L430 212 L414 200 Z" fill="#ffffff"/>
    <path d="M0 520 Q200 450 420 510 T800 500 V600 H0 Z" fill="#3d7a4f"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
}

/** Uploads `bytes` as an attachment of `from` (slot, upload, complete) and returns its id. */
async function upload(base: string, from: TestUser, name: string, contentType: string, bytes: Buffer): Promise<string> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const slot = await http(base, 'POST', '/api/v1/attachments', { name, content_type: contentType, size: bytes.length, sha256 }, from.token);
  if (slot.status !== 201) throw new Error(`attachment slot: ${slot.status} ${JSON.stringify(slot.body)}`);
  const url = new URL(slot.body.upload_url, base).toString();
  const put = await fetch(url, { method: 'PUT', headers: slot.body.upload_headers, body: new Uint8Array(bytes) });
  if (!put.ok) throw new Error(`upload: ${put.status}`);
  const done = await http(base, 'POST', `/api/v1/attachments/${slot.body.attachment_id}/complete`, undefined, from.token);
  if (done.status !== 200) throw new Error(`complete: ${done.status} ${JSON.stringify(done.body)}`);
  return slot.body.attachment_id;
}

/** Builds the scene on the server at `base` (fixed usernames: one scene per server). */
export async function buildScene(base: string): Promise<Scene> {
  const ann = await person(base, 'ann', 'Ann Lee');
  const bob = await person(base, 'bob', 'Bob Stone');
  const cat = await person(base, 'cat', 'Cat Diaz');
  const dave = await person(base, 'dave', 'Dave Kim');
  const eve = await person(base, 'eve', 'Eve Park');

  const withEve = await conversation(base, eve, [ann]);
  const thanks = await say(base, eve, withEve, 'Thanks for the recipe! 🍝');
  await read(base, ann, withEve, thanks);
  await say(base, eve, withEve, 'Book club moved to Thursday 📚');
  const mute = await http(base, 'PUT', `/api/v1/conversations/${withEve}/mute`, { until: -1 }, ann.token);
  if (mute.status !== 200) throw new Error(`mute: ${mute.status} ${JSON.stringify(mute.body)}`);

  const withDave = await conversation(base, dave, [ann]);
  await say(base, dave, withDave, 'Are you coming to the gig tonight? 🎸');

  const withBob = await conversation(base, bob, [ann]);
  await say(base, bob, withBob, 'Hey Ann! Are we still on for Saturday?');
  const market = await say(base, ann, withBob, 'Yes! 10am at the market 🍓');
  const coffee = await say(base, bob, withBob, "Perfect, I'll bring coffee ☕", market);
  await react(base, ann, withBob, coffee, '❤️');
  const bye = await say(base, ann, withBob, 'See you there 👋');
  await read(base, bob, withBob, bye);

  const group = 'Weekend hike';
  const hike = await conversation(base, dave, [ann, bob, cat], group);
  await say(base, dave, hike, 'Trail for Sunday: the ridge loop, 14 km, back by 4.');
  await say(base, cat, hike, 'Count me in!');
  const driving = await say(base, bob, hike, "Same. Who's driving?");
  const seats = await say(base, dave, hike, 'I can take three 🚗', driving);
  await react(base, ann, hike, seats, '👍');
  await react(base, cat, hike, seats, '👍');
  const rest = await say(base, ann, hike, "I'll take the rest, leaving at 8.", seats);
  await react(base, bob, hike, rest, '❤️');
  const photo = await upload(base, cat, 'ridge.jpg', 'image/jpeg', await mountainPhoto());
  const view = await http(base, 'POST', `/api/v1/conversations/${hike}/messages`, { client_msg_id: randomUUID(), body: 'The view from the top last year 🏔️', attachments: [photo] }, cat.token);
  if (view.status !== 201) throw new Error(`send photo: ${view.status} ${JSON.stringify(view.body)}`);
  const sun = await say(base, cat, hike, 'See you all there ☀️');
  await read(base, ann, hike, sun);
  for (const who of [bob, cat, dave]) await read(base, who, hike, sun);

  return { ann, bob, cat, dave, eve, group };
}

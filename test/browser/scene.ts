/**
 * A lived-in account for the accessibility check and the README screenshots: five people,
 * three direct chats and a group, with replies, reactions, read receipts, an unread chat
 * and a muted one, all made over REST (fast, and the same every run). Ann is the one who signs in.
 */
import { randomUUID } from 'node:crypto';
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
  const sun = await say(base, cat, hike, 'See you all there ☀️');
  await read(base, ann, hike, sun);
  for (const who of [bob, cat, dave]) await read(base, who, hike, sun);

  return { ann, bob, cat, dave, eve, group };
}

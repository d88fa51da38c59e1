/**
 * Push end to end on the embedded engines, through the real WebPushProvider (web-push,
 * VAPID, aes128gcm) to a local HTTPS push service that decrypts every payload with the
 * subscription's keys: a device without a live session is pushed, a device with one is
 * not; a burst is one notification; a read on another device retracts it; mutes and the
 * previews setting are honoured; a gone subscription is removed; bad registrations are
 * refused (malformed, http, private addresses, FCM on a server without it).
 */
import { createConversation, http, pollUntil, registerUser, sleep, startTestServer, stopTestServer, type TestServer, type TestUser } from './harness';
import { closeAll, connectDevice, send, sendOk, type Device } from './rich-helpers';
import { LocalPushService } from '../push/local-service';

jest.setTimeout(60_000);

let server: TestServer;
let push: LocalPushService;
const sockets: Device[] = [];
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  push = await LocalPushService.start();
  server = await startTestServer({ PUSH_ALLOW: '127.0.0.1/32', PUSH_CA_FILE: push.caFile, PUSH_TIMEOUT_MS: '3000' });
  [alice, bob] = await Promise.all([registerUser(server.url), registerUser(server.url)]);
});

afterAll(async () => {
  closeAll(sockets);
  await stopTestServer(server);
  await push.close();
});

const subscription = (device: string, answer = 201) => push.subscription(device, answer);
const register = (user: TestUser, device: string, body: unknown) => http(server.url, 'PUT', `/api/v1/push/devices/${device}`, body, user.token);
const of = (device: string) => push.of(device);

test('the VAPID key is served, the same across calls', async () => {
  const a = await http(server.url, 'GET', '/api/v1/push/vapid-key', undefined, bob.token);
  expect(a.status).toBe(200);
  expect(Buffer.from(a.body.public_key as string, 'base64url')).toHaveLength(65);
  expect((await http(server.url, 'GET', '/api/v1/push/vapid-key', undefined, alice.token)).body).toEqual(a.body);
});

test('an offline device is pushed once for a burst; a device with a live session is not; the sender never is', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  expect((await register(bob, 'bob-phone', { platform: 'web', webpush: subscription('bob-phone') })).status).toBe(201);
  expect((await register(bob, 'bob-laptop', { platform: 'web', webpush: subscription('bob-laptop') })).status).toBe(201);
  expect((await register(alice, 'alice-phone', { platform: 'web', webpush: subscription('alice-phone') })).status).toBe(201);
  const laptop = await connectDevice(server, bob, 'bob-laptop');
  const sender = await connectDevice(server, alice, 'alice-web');
  sockets.push(laptop, sender);
  for (const body of ['hi', 'are you there?', 'lunch?']) await send(sender.sock, conv, body);
  await pollUntil(async () => of('bob-phone').length, (n) => n >= 1, 5000);
  await sleep(600); // any second notification would be here by now
  expect(of('bob-phone')).toHaveLength(1);
  expect(of('bob-phone')[0].payload).toMatchObject({ kind: 'message', conv_id: conv, title: alice.username, body: '3 messages', badge: 1, tag: conv });
  expect(of('bob-phone')[0].headers.urgency).toBe('high');
  expect(of('bob-laptop')).toHaveLength(0);
  expect(of('alice-phone')).toHaveLength(0);

  // Bob reads on the laptop: the phone's notification is retracted, badge 0.
  laptop.sock.send({ type: 'READ', conv_id: conv, seq: 4 });
  await pollUntil(async () => of('bob-phone').length, (n) => n >= 2, 5000);
  expect(of('bob-phone')[1].payload).toMatchObject({ kind: 'retract', conv_id: conv, badge: 0, tag: conv });
});

test('group bursts say the group and sender; previews off hides them; a muted conversation is silent unless mentioned', async () => {
  const carol = await registerUser(server.url);
  const group = await createConversation(server.url, alice, 'group', [bob, carol], 'Lunch crew');
  expect((await register(carol, 'carol-phone', { platform: 'web', webpush: subscription('carol-phone') })).status).toBe(201);
  const sender = sockets[1];
  await send(sender.sock, group, 'see you');
  await pollUntil(async () => of('carol-phone').length, (n) => n >= 1, 5000);
  expect(of('carol-phone')[0].payload).toMatchObject({ title: 'Lunch crew', body: `${alice.username}: see you` });

  await http(server.url, 'PATCH', '/api/v1/me/settings', { push_previews: false }, carol.token);
  await sleep(300);
  await send(sender.sock, group, 'secret plans');
  await pollUntil(async () => of('carol-phone').length, (n) => n >= 2, 5000);
  expect(of('carol-phone')[1].payload).toMatchObject({ title: 'New message', body: '' });
  expect(JSON.stringify(of('carol-phone')[1].payload)).not.toContain('secret');

  await http(server.url, 'PUT', `/api/v1/conversations/${group}/mute`, { until: -1 }, carol.token);
  await send(sender.sock, group, 'while muted');
  await sleep(800);
  expect(of('carol-phone')).toHaveLength(2);
  await send(sender.sock, group, 'hey @carol', { mentions: [carol.user_id] });
  await pollUntil(async () => of('carol-phone').length, (n) => n >= 3, 5000);
});

test('a reaction pushes the message\'s author only; a message unsent inside the window pushes nothing', async () => {
  const erin = await registerUser(server.url);
  const conv = await createConversation(server.url, erin, 'direct', [alice]);
  expect((await register(erin, 'erin-phone', { platform: 'web', webpush: subscription('erin-phone') })).status).toBe(201);
  const erinWeb = await connectDevice(server, erin, 'erin-web');
  sockets.push(erinWeb);
  const mine = await send(erinWeb.sock, conv, 'my photo');
  erinWeb.sock.close(); // erin goes offline
  await sleep(200);
  const aliceWeb = sockets[1];
  aliceWeb.sock.send({ type: 'REACT', client_msg_id: `r-${mine.seq}`, conv_id: conv, target_seq: mine.seq, emoji: '👍' });
  await pollUntil(async () => of('erin-phone').length, (n) => n >= 1, 5000);
  expect(of('erin-phone')[0].payload).toMatchObject({ title: alice.username, body: 'Reacted 👍 to your message' });
  // Unsent before the window closed: the burst reads the log and finds nothing to say.
  const oops = await send(aliceWeb.sock, conv, 'wrong chat');
  aliceWeb.sock.send({ type: 'DELETE', client_msg_id: `d-${oops.seq}`, conv_id: conv, target_seq: oops.seq });
  await sleep(800);
  expect(of('erin-phone')).toHaveLength(1);
});

test('a user with no device costs no push window per message, and is pushed as soon as they register one', async () => {
  const frank = await registerUser(server.url);
  const conv = await createConversation(server.url, alice, 'direct', [frank]);
  const sender = await connectDevice(server, alice, 'alice-to-frank');
  sockets.push(sender);
  // Frank has no device: the first window's job finds none, and is remembered.
  await send(sender.sock, conv, 'first');
  const windows = async () => Number(/chat_push_windows_total (\d+)/.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 'NaN');
  await pollUntil(windows, (n) => n >= 1, 5000);
  await sleep(400); // the window's job has run
  const before = await windows();
  for (const body of ['second', 'third']) {
    await send(sender.sock, conv, body);
    await sleep(250); // past the 200 ms window: each would open a new one
  }
  expect(await windows()).toBe(before);
  // He installs the app (registers a phone, not connected): the very next message pushes it.
  expect((await register(frank, 'frank-phone', { platform: 'web', webpush: subscription('frank-phone') })).status).toBe(201);
  await send(sender.sock, conv, 'now you get this');
  await pollUntil(async () => of('frank-phone').length, (n) => n >= 1, 5000);
  expect(of('frank-phone')[0].payload).toMatchObject({ kind: 'message', conv_id: conv, body: 'now you get this' });
});

test('a subscription the push service says is gone is removed', async () => {
  const dave = await registerUser(server.url);
  const conv = await createConversation(server.url, alice, 'direct', [dave]);
  expect((await register(dave, 'dave-phone', { platform: 'web', webpush: subscription('dave-phone', 410) })).status).toBe(201);
  await send(sockets[1].sock, conv, 'ping');
  await pollUntil(async () => ((await http(server.url, 'GET', '/api/v1/push/devices', undefined, dave.token)).body.devices as unknown[]).length, (n) => n === 0, 5000);
});

test('a device that registered again since it was pushed (as apps do on every start) still gets the retraction', async () => {
  const conv = await createConversation(server.url, alice, 'group', [bob]);
  const sub = subscription('bob-restarts');
  expect((await register(bob, 'bob-restarts', { platform: 'web', webpush: sub })).status).toBe(201);
  const sender = await connectDevice(server, alice, 'alice-restarts');
  sockets.push(sender);
  const seq = await sendOk(sender.sock, conv, 'ping');
  await pollUntil(async () => of('bob-restarts').length, (n) => n >= 1, 5000);
  expect((await register(bob, 'bob-restarts', { platform: 'web', webpush: sub })).status).toBe(200);
  const reader = await connectDevice(server, bob, 'bob-reads-elsewhere');
  sockets.push(reader);
  reader.sock.send({ type: 'READ', conv_id: conv, seq });
  await pollUntil(async () => of('bob-restarts').length, (n) => n >= 2, 5000);
  expect(of('bob-restarts')[1].payload).toMatchObject({ kind: 'retract', conv_id: conv });
});

test('429 with Retry-After: the next attempt waits as long as asked (not the 1 s backoff), then one push arrives', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  expect((await register(bob, 'bob-busy', { platform: 'web', webpush: subscription('bob-busy') })).status).toBe(201);
  push.script('bob-busy', { status: 429, headers: { 'retry-after': '3' } });
  const sender = await connectDevice(server, alice, 'alice-busy');
  sockets.push(sender);
  await send(sender.sock, conv, 'when you can');
  await pollUntil(async () => of('bob-busy').length, (n) => n >= 1, 10_000);
  const tries = push.attemptsOf('bob-busy');
  expect(tries.map((t) => t.answer)).toEqual([{ status: 429, headers: { 'retry-after': '3' } }, 201]);
  expect(tries[1].at - tries[0].at).toBeGreaterThanOrEqual(2900);
  await sleep(500);
  expect(of('bob-busy')).toHaveLength(1);
  expect((await http(server.url, 'GET', '/api/v1/push/dead-letters', undefined, bob.token)).body.dead_letters).toEqual([]);
});

test('a push service that hangs, then errs, then accepts: each attempt times out or fails, and the burst arrives once', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  expect((await register(bob, 'bob-flaky', { platform: 'web', webpush: subscription('bob-flaky') })).status).toBe(201);
  push.script('bob-flaky', 'hang', 503);
  const sender = await connectDevice(server, alice, 'alice-flaky');
  sockets.push(sender);
  await send(sender.sock, conv, 'are you there');
  await pollUntil(async () => of('bob-flaky').length, (n) => n >= 1, 15_000);
  expect(push.attemptsOf('bob-flaky').map((t) => t.answer)).toEqual(['hang', 503, 201]);
  await sleep(500);
  expect(of('bob-flaky')).toHaveLength(1);
});

test('a Retry-After of more than an hour: the push is given up at once with a dead letter saying so', async () => {
  const conv = await createConversation(server.url, alice, 'direct', [bob]);
  expect((await register(bob, 'bob-away', { platform: 'web', webpush: subscription('bob-away') })).status).toBe(201);
  push.script('bob-away', { status: 503, headers: { 'retry-after': '7200' } });
  const sender = await connectDevice(server, alice, 'alice-away');
  sockets.push(sender);
  await send(sender.sock, conv, 'later then');
  const letters = await pollUntil(
    async () => (await http(server.url, 'GET', '/api/v1/push/dead-letters', undefined, bob.token)).body.dead_letters as { device_id: string; reason: string; attempts: number }[],
    (l) => l.some((d) => d.device_id === 'bob-away'),
    5000,
  );
  expect(letters.find((d) => d.device_id === 'bob-away')).toMatchObject({ reason: 'push service asked to wait 7200 s', attempts: 1 });
  expect(push.attemptsOf('bob-away')).toHaveLength(1);
});

test("another user's device id names nothing: it can be neither removed nor taken over, and pushes still go to its owner", async () => {
  const devices = async (user: TestUser) => (await http(server.url, 'GET', '/api/v1/push/devices', undefined, user.token)).body.devices as { device_id: string; created_at: number; updated_at: number }[];
  expect((await register(alice, 'shared-id', { platform: 'web', webpush: subscription('alice-shared') })).status).toBe(201);
  const before = (await devices(alice)).find((d) => d.device_id === 'shared-id');
  expect((await http(server.url, 'DELETE', '/api/v1/push/devices/shared-id', undefined, bob.token)).status).toBe(404);
  // Bob registering the same id makes a registration of his own (201, not a replacement).
  expect((await register(bob, 'shared-id', { platform: 'web', webpush: subscription('bob-shared') })).status).toBe(201);
  expect((await devices(alice)).find((d) => d.device_id === 'shared-id')).toEqual(before);
  const conv = await createConversation(server.url, bob, 'direct', [alice]);
  const sender = await connectDevice(server, bob, 'bob-shared-sender');
  sockets.push(sender);
  await send(sender.sock, conv, 'whose phone is this');
  await pollUntil(async () => of('alice-shared').length, (n) => n >= 1, 5000);
  expect(of('alice-shared')[0].payload).toMatchObject({ conv_id: conv, body: 'whose phone is this' });
  expect(of('bob-shared')).toHaveLength(0);
});

test('bad registrations: malformed subscription and token, http, private addresses, neither or both targets', async () => {
  const good = subscription('x');
  const cases: [unknown, RegExp][] = [
    [{ platform: 'web', webpush: { endpoint: 'not a url', keys: good.keys } }, /webpush/],
    [{ platform: 'web', webpush: { endpoint: good.endpoint, keys: { p256dh: 'short', auth: good.keys.auth } } }, /p256dh/],
    [{ platform: 'web', webpush: { ...good, endpoint: good.endpoint.replace('https', 'http') } }, /https/],
    [{ platform: 'web', webpush: { ...good, endpoint: 'https://10.1.2.3/push/x' } }, /refused/],
    [{ platform: 'web', webpush: { ...good, endpoint: 'https://169.254.169.254/latest' } }, /refused/],
    [{ platform: 'android', fcm_token: '' }, /fcm_token/],
    // A well-formed token, but this server has no FCM service account.
    [{ platform: 'android', fcm_token: 'abc:def' }, /^FCM is not configured on this server$/],
    [{ platform: 'web' }, /exactly one/],
    [{ platform: 'web', webpush: good, fcm_token: 'abc' }, /exactly one/],
    [{ platform: 'pager', webpush: good }, /platform/],
  ];
  for (const [body, message] of cases) {
    const res = await register(bob, 'bad-device', body);
    expect([res.status, res.body.error?.message]).toEqual([400, expect.stringMatching(message)]);
  }
  expect(((await http(server.url, 'GET', '/api/v1/push/devices', undefined, bob.token)).body.devices as { device_id: string }[]).map((d) => d.device_id)).not.toContain('bad-device');
  expect((await http(server.url, 'DELETE', '/api/v1/push/devices/nope', undefined, bob.token)).status).toBe(404);
  expect((await http(server.url, 'GET', '/api/v1/push/devices', undefined, undefined)).status).toBe(401);
});

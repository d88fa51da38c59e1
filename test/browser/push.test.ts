/**
 * Web Push in the browser, end to end except for the push service in the middle. The
 * server pushes through its real Web Push provider to a local HTTPS push service that
 * decrypts the payload (as test/e2e/push.test.ts); Chromium's own subscription would point
 * at Google's service, so the browser's device is registered with a subscription of the
 * local one instead, and the captured payload is handed to the page's service worker with
 * CDP (`ServiceWorker.deliverPushMessage`), as the browser would on a real push. Checked:
 * nothing is asked on load and the "Turn on notifications" control is there; /sw.js is
 * served as JavaScript under a CSP that allows it; a message shows one notification with
 * the title, body and conversation tag; a read on another device retracts it; a click the
 * worker forwards opens the chat; reading a chat in the browser closes its notification
 * there; "Turn on" refused, or failing to subscribe, says so.
 */
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { createConversation, http, pollUntil, registerUser, sendRest, type TestUser } from '../e2e/harness';
import { connectDevice, type Device } from '../e2e/rich-helpers';
import { LocalPushService } from '../push/local-service';
import { browserDescribe, eventually, signUp, sleep, uniqueName, useBrowserEnv, visible } from './helpers';

jest.setTimeout(90_000);


interface Shown {
  title: string;
  body: string;
  tag: string;
  data: unknown;
}

browserDescribe('web client: push notifications through the service worker', () => {
  const push = LocalPushService.create();
  const env = useBrowserEnv({ PUSH_ALLOW: '127.0.0.1/32', PUSH_CA_FILE: push.caFile });
  /** Decrypted payloads of the browser's device, in arrival order. */
  const pushed = () => push.of('browser').map((p) => p.payload);
  const sockets: Device[] = [];

  beforeAll(async () => {
    await push.listen();
  });

  afterAll(async () => {
    for (const d of sockets) d.sock.close();
    await push.close();
  });

  let ctx: BrowserContext;
  let bob: TestUser;
  let deviceId: string;
  let alice: TestUser;
  let conv: string;

  test('nothing is asked on load; the settings offer "Turn on notifications"; /sw.js is served and allowed', async () => {
    const page = await env.page();
    ctx = page.context();
    await signUp(page, uniqueName('bob'), 'Bob Stone');
    expect(await page.evaluate(() => Notification.permission)).toBe('default');
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(0);
    await page.getByTestId('settings-button').click();
    const toggle = page.getByTestId('push-toggle');
    await visible(toggle);
    expect(await toggle.textContent()).toBe('Turn on notifications');
    expect(await page.evaluate(() => Notification.permission)).toBe('default');

    const res = await page.request.get(env.server.url + '/sw.js');
    expect(res.status()).toBe(200);
    expect(res.headers()['content-type']).toMatch(/javascript/);
    const csp = (await page.request.get(env.server.url + '/')).headers()['content-security-policy'];
    expect(csp).toContain("worker-src 'self'");

    // What "Turn on" does up to the subscription (which Playwright's incognito contexts cannot
    // make, and which would point at Google's push service): the worker installs and
    // activates under the page's CSP.
    const scope = await page.evaluate(async () => {
      await navigator.serviceWorker.register('/sw.js');
      return (await navigator.serviceWorker.ready).scope;
    });
    expect(scope).toBe(env.server.url + '/');

    const saved = await page.evaluate(() => ({ session: localStorage.getItem('relay.session'), device: localStorage.getItem('relay.device_id') }));
    const session = JSON.parse(saved.session!) as { token: string; user_id: string; username: string };
    deviceId = JSON.parse(saved.device!) as string;
    bob = { token: session.token, user_id: session.user_id, username: session.username } as TestUser;
    // The app's session goes away, so this device is one the server pushes to.
    await page.close();
  });

  test('a message shows one notification for the conversation; a read elsewhere retracts it', async () => {
    alice = await registerUser(env.server.url);
    conv = await createConversation(env.server.url, alice, 'direct', [bob]);
    const sub = push.subscription('browser');
    const reg = await http(env.server.url, 'PUT', `/api/v1/push/devices/${encodeURIComponent(deviceId)}`, { platform: 'web', webpush: sub }, bob.token);
    expect(reg.status).toBe(201);

    // A page in the worker's scope that does not run the app (no session), to drive CDP and read notifications.
    await ctx.grantPermissions(['notifications'], { origin: env.server.url });
    const page = await ctx.newPage();
    await page.goto(env.server.url + '/healthz');
    const { cdp, registrationId } = await workerOf(page);
    const deliver = (payload: unknown) => cdp.send('ServiceWorker.deliverPushMessage', { origin: env.server.url, registrationId, data: JSON.stringify(payload) });

    await sleep(300); // the app's socket closed with its page: let the server drop the session
    const sent = await sendRest(env.server.url, alice, conv, 'are you there?', `push-${Date.now()}`);
    expect(sent.status).toBe(201);
    await pollUntil(async () => pushed().length, (n) => n >= 1, 5000);
    expect(pushed()[0]).toMatchObject({ kind: 'message', conv_id: conv, title: alice.username, body: 'are you there?', badge: 1, tag: conv });

    await deliver(pushed()[0]);
    const shown = await eventually(async () => {
      const list = await notifications(page);
      expect(list).toHaveLength(1);
      return list[0];
    });
    expect(shown).toEqual({ title: pushed()[0].title, body: 'are you there?', tag: conv, data: { conv_id: conv, seq: sent.body.seq } });

    // Bob reads on another device: the server retracts, and the worker closes the notification.
    const other = await connectDevice(env.server, bob, 'bob-other-device');
    sockets.push(other);
    other.sock.send({ type: 'READ', conv_id: conv, seq: sent.body.seq });
    await pollUntil(async () => pushed().length, (n) => n >= 2, 5000);
    expect(pushed()[1]).toMatchObject({ kind: 'retract', conv_id: conv, badge: 0, tag: conv });
    await deliver(pushed()[1]);
    await eventually(async () => expect(await notifications(page)).toEqual([]));
  });

  test('a notification click the worker forwards opens the chat in the open tab', async () => {
    const page = await ctx.newPage();
    await page.goto(env.server.url + '/');
    await visible(page.getByTestId('conv-list'));
    // What sw.ts posts from `notificationclick` (CDP cannot click a notification).
    await page.evaluate((convId) => navigator.serviceWorker.dispatchEvent(new MessageEvent('message', { data: { type: 'open-chat', conv_id: convId } })), conv);
    await visible(page.getByTestId('chat-view'));
    expect(await page.evaluate(() => location.hash)).toBe(`#/c/${encodeURIComponent(conv)}`);
  });

  test('reading the conversation in this browser closes its notification here (no push needed)', async () => {
    for (const p of ctx.pages()) await p.close(); // no app page: bob's browser device is offline again
    const helper = await ctx.newPage();
    await helper.goto(env.server.url + '/healthz');
    const { cdp, registrationId } = await workerOf(helper);
    await sleep(300);
    const before = pushed().length;
    const sent = await sendRest(env.server.url, alice, conv, 'one more thing', `push-${Date.now()}`);
    expect(sent.status).toBe(201);
    await pollUntil(async () => pushed().length, (n) => n > before, 5000);
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: env.server.url, registrationId, data: JSON.stringify(pushed()[before]) });
    await eventually(async () => expect((await notifications(helper)).map((n) => n.body)).toEqual(['one more thing']));

    const app = await ctx.newPage();
    await app.goto(`${env.server.url}/#/c/${encodeURIComponent(conv)}`);
    await visible(app.getByTestId('chat-view'));
    await eventually(async () => expect(await notifications(helper)).toEqual([]));
  });

  test('"Turn on" refused by the browser, or with a push service out of reach, says so and stays off', async () => {
    const page = await env.page();
    await signUp(page, uniqueName('cat'));
    await page.getByTestId('settings-button').click();
    // Headless Chromium answers the permission request itself, with a refusal.
    await page.getByTestId('push-toggle').click();
    await visible(page.getByTestId('push-blocked'));
    expect(await page.getByTestId('push-setting').getAttribute('data-status')).toBe('denied');
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length)).toBe(0);

    // Granted, but Playwright's contexts are incognito, where Chromium has no Push API (and a
    // subscription would need Google's push service): the failure is shown, nothing registered.
    await page.context().grantPermissions(['notifications'], { origin: env.server.url });
    // Closed and opened again: the row reads the permission again.
    await page.getByTestId('settings-close').click();
    await page.getByTestId('settings-button').click();
    await page.getByTestId('push-toggle').click();
    await eventually(async () => expect(await page.getByTestId('push-error').textContent()).toContain('Could not turn notifications on'), 30_000);
    expect(await page.getByTestId('push-toggle').textContent()).toBe('Turn on notifications');
    const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('relay.session')!) as { token: string }).token);
    expect((await http(env.server.url, 'GET', '/api/v1/push/devices', undefined, token)).body.devices).toEqual([]);
  });
});

/** The page's service worker registration, as CDP names it. */
async function workerOf(page: Page): Promise<{ cdp: CDPSession; registrationId: string }> {
  const cdp = await page.context().newCDPSession(page);
  const ids: string[] = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: { registrationId: string; isDeleted: boolean }[] }) => {
    for (const r of e.registrations) if (!r.isDeleted) ids.push(r.registrationId);
  });
  await cdp.send('ServiceWorker.enable');
  await eventually(() => expect(ids.length).toBeGreaterThan(0));
  return { cdp, registrationId: ids[0] };
}

async function notifications(page: Page): Promise<Shown[]> {
  return page.evaluate(async () =>
    (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data as unknown })),
  );
}

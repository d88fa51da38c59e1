/**
 * What a newcomer meets around people: finding them as they type (recent contacts first,
 * never those who chose not to be found), groups picked as chips, list previews that name
 * the sender, avatar colours every viewer shares, presence from last seen ("Active 5m
 * ago", nobody online while this client is offline), and the Settings view.
 */
import type { Page } from 'playwright-core';
import { http } from '../e2e/harness';
import {
  browserDescribe,
  convItem,
  createGroup,
  eventually,
  hasAttr,
  hasText,
  hidden,
  openConversation,
  password,
  screenshot,
  send,
  signIn,
  sleep,
  uniqueName,
  useBrowserEnv,
  visible,
} from './helpers';

jest.setTimeout(120_000);

interface Person {
  user_id: string;
  username: string;
  token: string;
}

browserDescribe('web client: people, settings and presence', () => {
  const env = useBrowserEnv();
  const tag = uniqueName('pp');
  let ann: Person;
  let bob: Person;
  let dave: Person;
  let shy: Person;
  let annPage: Page;
  let bobPage: Page;
  let davePage: Page;

  const register = async (name: string, displayName: string): Promise<Person> => {
    const res = await http(env.server.url, 'POST', '/api/v1/auth/register', { username: `${name}${tag}`, password, display_name: displayName });
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { user_id: res.body.user_id, username: res.body.username, token: res.body.token };
  };
  /**
   * A page whose WebSockets the test can cut: Chromium's offline mode refuses new
   * connections but leaves open sockets alone, so the test closes them itself.
   */
  const cuttablePage = async (): Promise<Page> => {
    const page = await (await env.context()).newPage();
    await page.addInitScript(() => {
      const Native = window.WebSocket;
      const sockets: WebSocket[] = [];
      (window as unknown as { testSockets: WebSocket[] }).testSockets = sockets;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          sockets.push(this);
        }
      };
    });
    await page.goto(env.server.url + '/');
    return page;
  };
  const result = (page: Page, username: string) => page.locator(`[data-testid="person-result"][data-username="${username}"]`);

  beforeAll(async () => {
    ann = await register('ann', 'Ann Lee');
    bob = await register('bob', 'Bob Stone');
    dave = await register('dave', 'Dave Miller');
    shy = await register('shy', 'Shy Person');
    expect((await http(env.server.url, 'PATCH', '/api/v1/me/settings', { discoverable: false }, shy.token)).status).toBe(200);
    annPage = await env.page();
    await signIn(annPage, ann.username);
  });

  test('New chat finds people as you type, recent contacts first, never those who chose not to be found', async () => {
    await annPage.getByTestId('new-chat').click();
    const box = annPage.getByTestId('new-direct-username');
    await box.fill('BO');
    await visible(result(annPage, bob.username));
    await hasAttr(result(annPage, bob.username), 'data-recent', 'false');
    // A word of the display name finds him too.
    await box.fill('sto');
    await visible(result(annPage, bob.username));
    await box.fill('shy');
    await visible(annPage.getByTestId('people-none'));
    expect(await result(annPage, shy.username).count()).toBe(0);
    await box.fill(`nobody${tag}`);
    await annPage.getByTestId('new-chat-submit').click();
    await hasText(annPage.getByTestId('new-chat-error'), 'No one has the username');
    await box.fill('bob');
    await visible(result(annPage, bob.username));
    await screenshot(annPage, 'new-chat-search');
    await result(annPage, bob.username).click();
    await hasText(annPage.getByTestId('chat-title'), 'Bob Stone');
    await send(annPage, 'Hi Bob');

    // Now Bob is a recent contact: one letter finds him, from the inbox, without the server.
    await annPage.getByTestId('new-chat').click();
    await box.fill('b');
    await hasAttr(result(annPage, bob.username), 'data-recent', 'true');
    await box.fill('bo');
    await hidden(annPage.getByTestId('people-loading'));
    expect(await result(annPage, bob.username).count()).toBe(1);
    // Someone not discoverable is still reached by their exact username.
    await box.fill(shy.username);
    await annPage.getByTestId('new-chat-submit').click();
    await hasText(annPage.getByTestId('chat-title'), 'Shy Person');
    // Enter opens the chat with the only person the list shows, whatever part of a name was typed.
    await annPage.getByTestId('new-chat').click();
    await box.fill('mille');
    await visible(result(annPage, dave.username));
    await hidden(annPage.getByTestId('people-loading'));
    await box.press('Enter');
    await hasText(annPage.getByTestId('chat-title'), 'Dave Miller');
  });

  test('group members are picked from the same search as removable chips', async () => {
    await annPage.getByTestId('new-chat').click();
    await annPage.getByTestId('new-group-tab').click();
    await annPage.getByTestId('new-group-title').fill('Trip');
    const search = annPage.getByTestId('new-group-search');
    await search.fill('da');
    await result(annPage, dave.username).click();
    await search.fill('bo');
    await result(annPage, bob.username).click();
    await eventually(async () => expect(await annPage.getByTestId('member-chip').allTextContents()).toEqual(['Dave Miller✕', 'Bob Stone✕']));
    // A picked person is not offered again.
    await search.fill('bo');
    await visible(annPage.getByTestId('people-results'));
    await hidden(annPage.getByTestId('people-loading'));
    expect(await result(annPage, bob.username).count()).toBe(0);
    await annPage.getByRole('button', { name: 'Remove Dave Miller' }).click();
    await eventually(async () => expect(await annPage.getByTestId('member-chip').count()).toBe(1));
    // Enter takes the first match.
    await search.fill('dav');
    await visible(result(annPage, dave.username));
    await search.press('Enter');
    await eventually(async () => expect(await annPage.getByTestId('member-chip').count()).toBe(2));
    await screenshot(annPage, 'new-group-chips');
    await annPage.getByTestId('new-chat-submit').click();
    await hasText(annPage.getByTestId('chat-title'), 'Trip');
    await hasText(annPage.getByTestId('chat-presence'), '3 members');
  });

  test('list previews name the sender, and the row shows the message time', async () => {
    davePage = await env.page();
    await signIn(davePage, dave.username);
    await openConversation(davePage, 'Trip');
    await send(davePage, 'Nice 👍');
    const trip = convItem(annPage, 'Trip');
    await hasText(trip.getByTestId('conv-preview'), 'Dave: Nice 👍');
    await openConversation(annPage, 'Trip');
    await send(annPage, 'See you there');
    await hasText(trip.getByTestId('conv-preview'), 'You: See you there');
    // Direct chats: the peer's text alone, this user's with "You:".
    await hasText(convItem(annPage, 'Bob Stone').getByTestId('conv-preview'), 'You: Hi Bob');
    const ts = Number(await trip.getByTestId('conv-time').getAttribute('data-ts'));
    expect(Math.abs(ts - Date.now())).toBeLessThan(60_000);
    await screenshot(annPage, 'conversation-list-previews');
  });

  test("a person's avatar colour is the same for every viewer", async () => {
    bobPage = await cuttablePage();
    await signIn(bobPage, bob.username);
    const own = await bobPage.getByTestId('sidebar').locator('.sidebar-head [data-testid="avatar"]').getAttribute('data-colour');
    const inAnnsList = await convItem(annPage, 'Bob Stone').getByTestId('avatar').getAttribute('data-colour');
    await davePage.getByTestId('new-chat').click();
    await davePage.getByTestId('new-direct-username').fill('bob');
    const inDavesSearch = await result(davePage, bob.username).getByTestId('avatar').getAttribute('data-colour');
    await davePage.getByTestId('new-chat-close').click();
    expect(own).toMatch(/^#[0-9a-f]{6}$/);
    expect(inAnnsList).toBe(own);
    expect(inDavesSearch).toBe(own);
  });

  test('the header says "Active now", then "Active just now"; offline, this client shows nobody as active', async () => {
    await openConversation(bobPage, 'Ann Lee');
    const header = bobPage.getByTestId('chat-presence');
    await hasText(header, 'Active now');
    await annPage.close();
    await hasText(header, 'Active just now', 20_000);
    annPage = await env.page();
    await signIn(annPage, ann.username);
    await hasText(header, 'Active now');
    // This client loses its connection: Ann may have left meanwhile, so it does not claim she is active.
    await bobPage.context().setOffline(true);
    await bobPage.evaluate(() => {
      for (const s of (window as unknown as { testSockets: WebSocket[] }).testSockets) s.close();
    });
    await eventually(async () => expect(await bobPage.getByTestId('status-line').getAttribute('data-status')).not.toBe('ready'), 40_000);
    await eventually(async () => expect(await header.textContent()).not.toContain('Active now'));
    expect(await bobPage.getByTestId('chat-view').getByTestId('presence-dot').count()).toBe(0);
    await bobPage.context().setOffline(false);
    await hasText(header, 'Active now', 30_000);
  });

  test('Settings: display name, privacy switches, and signing out of every device', async () => {
    await bobPage.getByTestId('settings-button').click();
    const view = bobPage.getByTestId('settings-view');
    await visible(view);
    await hasAttr(bobPage.getByTestId('setting-discoverable'), 'data-on', 'true');
    await sleep(300); // the switches' slide (0.15 s) ends before the picture
    await screenshot(bobPage, 'settings');

    await bobPage.getByTestId('settings-display-name').fill('Bobby Stone');
    await bobPage.getByTestId('settings-save-name').click();
    await hasText(bobPage.getByTestId('me-name'), 'Bobby Stone');
    const found = async (q: string) => (await http(env.server.url, 'GET', `/api/v1/users/search?q=${q}`, undefined, ann.token)).body.users.map((u: Person) => u.user_id);
    expect(await found('bobby')).toEqual([bob.user_id]);

    await bobPage.getByTestId('setting-discoverable').locator('input').click();
    await hasAttr(bobPage.getByTestId('setting-discoverable'), 'data-on', 'false');
    expect(await found('bobby')).toEqual([]);
    await bobPage.getByTestId('setting-discoverable').locator('input').click();
    await hasAttr(bobPage.getByTestId('setting-discoverable'), 'data-on', 'true');
    expect(await found('bobby')).toEqual([bob.user_id]);
    await bobPage.getByTestId('setting-show_last_seen').locator('input').click();
    await hasAttr(bobPage.getByTestId('setting-show_last_seen'), 'data-on', 'false');
    expect((await http(env.server.url, 'GET', '/api/v1/me', undefined, bob.token)).body.settings.show_last_seen).toBe(false);
    // Notifications live here too.
    await visible(bobPage.getByTestId('push-setting'));

    // A second device of Bob's, then "sign out of all devices" on the first: both end up at sign-in.
    const other = await env.page();
    await signIn(other, bob.username);
    await bobPage.getByTestId('sign-out-all').click();
    await bobPage.getByTestId('sign-out-all-yes').click();
    await visible(bobPage.getByTestId('auth-form'));
    await visible(other.getByTestId('auth-form'), 15_000);
    expect((await http(env.server.url, 'GET', '/api/v1/me', undefined, bob.token)).status).toBe(401);
  });

  test('Settings: signing out of this device ends its token on the server', async () => {
    const token = await davePage.evaluate(() => (JSON.parse(localStorage.getItem('relay.session') ?? '{}') as { token?: string }).token ?? '');
    expect((await http(env.server.url, 'GET', '/api/v1/me', undefined, token)).status).toBe(200);
    await davePage.getByTestId('settings-button').click();
    await davePage.getByTestId('sign-out').click();
    await visible(davePage.getByTestId('auth-form'));
    expect((await http(env.server.url, 'GET', '/api/v1/me', undefined, token)).status).toBe(401);
    // Other devices of Dave's are untouched: the token he registered with still counts.
    expect((await http(env.server.url, 'GET', '/api/v1/me', undefined, dave.token)).status).toBe(200);
  });

  test('phone size: New chat search and Settings fit the screen', async () => {
    const phone = await env.page({ viewport: { width: 390, height: 844 } });
    await signIn(phone, ann.username);
    await phone.getByTestId('new-chat').click();
    await phone.getByTestId('new-direct-username').fill('da');
    await visible(result(phone, dave.username));
    await screenshot(phone, 'new-chat-search-phone');
    await phone.getByTestId('new-chat-close').click();
    await phone.getByTestId('settings-button').click();
    await hasAttr(phone.getByTestId('setting-discoverable'), 'data-on', 'true');
    await sleep(300);
    const box = await phone.getByTestId('settings-view').boundingBox();
    expect(box !== null && box.width <= 390).toBe(true);
    await screenshot(phone, 'settings-phone');
  });
});

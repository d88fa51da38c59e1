/**
 * Groups, history paging and link previews in the browser. Users are registered over
 * REST (faster) and sign in through the page.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { createConversation, http, registerUser, type TestUser } from '../e2e/harness';
import {
  browserDescribe,
  convItem,
  createGroup,
  eventually,
  hasText,
  message,
  openConversation,
  send,
  signIn,
  startDirect,
  uniqueName,
  useBrowserEnv,
  visible,
} from './helpers';

jest.setTimeout(90_000);

browserDescribe('web client: groups, history paging, link previews', () => {
  const env = useBrowserEnv({ LINK_PREVIEWS: 'on', LINK_PREVIEW_ALLOW: '127.0.0.2/32' });
  let pages: Server;
  let pageUrl: string;
  let ann: TestUser;
  let bob: TestUser;
  let cat: TestUser;
  let annPage: Page;
  let bobPage: Page;

  beforeAll(async () => {
    // An article with OpenGraph tags on 127.0.0.2, the one address the server may fetch.
    pages = createServer((req, res) => {
      if (req.url === '/article') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          '<html><head><title>Fallback</title><meta property="og:title" content="Lighthouses of Brittany">' +
            '<meta property="og:description" content="A walk along the coast, from Brest to Saint-Malo.">' +
            '<meta property="og:site_name" content="Coast Journal"></head><body>article</body></html>',
        );
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.2', resolve));
    pageUrl = `http://127.0.0.2:${(pages.address() as AddressInfo).port}/article`;
    ann = await registerUser(env.server.url, uniqueName('ann'));
    bob = await registerUser(env.server.url, uniqueName('bob'));
    cat = await registerUser(env.server.url, uniqueName('cat'));
    annPage = await env.page();
    await signIn(annPage, ann.username);
    bobPage = await env.page();
    await signIn(bobPage, bob.username);
  });
  afterAll(() => new Promise<void>((resolve) => pages.close(() => resolve())));

  test('a group created with a title and members chats with sender names and receipts', async () => {
    await createGroup(annPage, 'Weekend plans', [bob.username, cat.username]);
    await hasText(annPage.getByTestId('chat-presence'), '3 members');
    await send(annPage, 'Hiking on Saturday?');

    await visible(convItem(bobPage, 'Weekend plans'));
    await hasText(convItem(bobPage, 'Weekend plans').getByTestId('unread-badge'), '1');
    await openConversation(bobPage, 'Weekend plans');
    const msg = message(bobPage, 'Hiking on Saturday?');
    await visible(msg);
    await hasText(msg.locator('.sender'), ann.username);
    await hasText(message(annPage, 'Hiking on Saturday?').getByTestId('seen-by'), `Seen by ${bob.username}`);
    await send(bobPage, 'Count me in');
    await visible(message(annPage, 'Count me in'));
  });

  test('history pages in older messages on demand', async () => {
    const convId = await createConversation(env.server.url, cat, 'direct', [ann]);
    for (let i = 1; i <= 45; i++) {
      const res = await http(env.server.url, 'POST', `/api/v1/conversations/${convId}/messages`, { client_msg_id: `hist-${i}`, body: `history ${i}` }, cat.token);
      expect([200, 201]).toContain(res.status);
    }
    // A new device: nothing cached, history comes over REST a page at a time.
    const fresh = await env.page();
    await signIn(fresh, ann.username);
    await visible(convItem(fresh, cat.username));
    await hasText(convItem(fresh, cat.username).getByTestId('unread-badge'), '45');
    await openConversation(fresh, cat.username);
    await visible(message(fresh, 'history 45'));
    expect(await message(fresh, 'history 1').count()).toBe(0);
    // Scrolling up to the top loads the next page (the "Load older" button does the same).
    await visible(fresh.getByTestId('load-older'));
    await eventually(async () => {
      await fresh.getByTestId('message-list').evaluate((el) => el.scrollTo(0, 0));
      expect(await message(fresh, 'history 1').count()).toBe(1);
    }, 10_000);
    expect(await fresh.getByTestId('message').count()).toBe(45);
    await visible(fresh.getByText('This is the start of the conversation'));
    await fresh.close();
  });

  test('a link gets a preview card on both sides', async () => {
    await startDirect(annPage, bob.username);
    await send(annPage, `Look: ${pageUrl}`);
    await openConversation(bobPage, ann.username);
    for (const page of [annPage, bobPage]) {
      const card = message(page, `Look: ${pageUrl}`).getByTestId('link-preview');
      await visible(card);
      await hasText(card.getByTestId('link-preview-title'), 'Lighthouses of Brittany');
      await hasText(card, 'Coast Journal');
    }
    // After a reload the preview comes folded into history.
    await bobPage.reload();
    await openConversation(bobPage, ann.username);
    await visible(message(bobPage, `Look: ${pageUrl}`).getByTestId('link-preview'));
  });
});

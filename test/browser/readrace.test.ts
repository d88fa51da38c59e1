/**
 * Read state never goes backward: a conversation list fetched before this device's READ
 * was applied (same last_seq, older read marker and unread count) lands after it and must
 * not bring the unread badge back, since nothing would send the READ again.
 */
import type { Page, Route } from 'playwright-core';
import { browserDescribe, convItem, eventually, hasText, hidden, message, send, signUp, sleep, startDirect, uniqueName, useBrowserEnv, visible, waitConnected } from './helpers';

jest.setTimeout(90_000);

browserDescribe('web client: a stale conversation list does not undo a read', () => {
  const env = useBrowserEnv();

  /** The page's `GET /api/v1/conversations` answer, as the server gives it now. */
  async function listNow(page: Page): Promise<string> {
    return page.evaluate(async () => {
      const session = JSON.parse(localStorage.getItem('relay.session') ?? '{}') as { token: string };
      const res = await fetch('/api/v1/conversations?limit=100', { headers: { authorization: `Bearer ${session.token}` } });
      if (!res.ok) throw new Error(`list: HTTP ${res.status}`);
      return res.text();
    });
  }

  test('the list fetched before the READ lands after its READ_SYNC: the chat stays read', async () => {
    const annName = uniqueName('ann');
    const bobName = uniqueName('bob');
    const ann = await env.page();
    await signUp(ann, annName, 'Ann Lee');
    const bob = await env.page();
    await signUp(bob, bobName, 'Bob Stone');
    await startDirect(ann, bobName);
    await send(ann, 'One');
    await send(ann, 'Two');
    await hasText(convItem(bob, 'Ann Lee').getByTestId('unread-badge'), '2');
    const convId = await convItem(bob, 'Ann Lee').getAttribute('data-conv-id');
    expect(convId).toBeTruthy();

    // The list as it is before Bob reads: the unread row a slow listing would still carry.
    const stale = await listNow(bob);
    expect(JSON.parse(stale).conversations.find((r: { conv_id: string }) => r.conv_id === convId).unread).toBe(2);
    // Let the debounced save write the unread row, so the next tab starts from it.
    await sleep(600);

    // Bob comes back in a new tab (same profile) straight into the chat. Its first list
    // answer is that stale one, held until the READ made with the chat open is long
    // applied (READ_SYNC back, badge gone).
    await bob.close();
    const tab = await bob.context().newPage();
    let served!: () => void;
    const staleServed = new Promise<void>((resolve) => (served = resolve));
    let first = true;
    await tab.route(
      (url) => url.pathname === '/api/v1/conversations',
      async (route: Route) => {
        if (!first || route.request().method() !== 'GET') return route.continue();
        first = false;
        await sleep(2500);
        await route.fulfill({ status: 200, contentType: 'application/json', body: stale });
        served();
      },
    );
    await tab.goto(`${env.server.url}/#/c/${encodeURIComponent(convId!)}`);
    await waitConnected(tab);
    await visible(message(tab, 'Two'));
    expect(first).toBe(false);
    await hidden(convItem(tab, 'Ann Lee').getByTestId('unread-badge'));

    await staleServed;
    // Time for the stale rows to be merged and rendered.
    await sleep(800);
    expect(await convItem(tab, 'Ann Lee').getByTestId('unread-badge').count()).toBe(0);
    expect(await tab.title()).not.toMatch(/^\(\d+\)/);
    // And the server agrees: read up to the newest message.
    await eventually(async () => {
      const row = JSON.parse(await listNow(tab)).conversations.find((r: { conv_id: string }) => r.conv_id === convId);
      expect(row.unread).toBe(0);
    });
  });
});

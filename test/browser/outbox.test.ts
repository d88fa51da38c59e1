/**
 * Unsent messages across a reload: a message still waiting for its ACK is kept in the
 * page's localStorage (the SDK's outbox, under its own key), shown pending again after the reload,
 * and sent by the reloaded page, delivered exactly once.
 */
import type { Page, Route } from 'playwright-core';
import {
  browserDescribe,
  convItem,
  eventually,
  message,
  openConversation,
  send,
  signUp,
  sleep,
  startDirect,
  statusOf,
  uniqueName,
  useBrowserEnv,
  visible,
} from './helpers';

jest.setTimeout(90_000);

browserDescribe('web client: unsent messages survive a reload', () => {
  const env = useBrowserEnv();
  let ann: Page;
  let bob: Page;
  const annName = uniqueName('ann');
  const bobName = uniqueName('bob');

  /** Ann's copies of the open conversation's messages with `body`, from the server (REST history). */
  async function historyCount(page: Page, body: string): Promise<number> {
    return page.evaluate(async (text) => {
      const session = JSON.parse(localStorage.getItem('relay.session') ?? '{}') as { token: string };
      const conv = decodeURIComponent(/^#\/c\/(.+)$/.exec(location.hash)?.[1] ?? '');
      const res = await fetch(`/api/v1/conversations/${encodeURIComponent(conv)}/messages?limit=100`, { headers: { authorization: `Bearer ${session.token}` } });
      if (!res.ok) throw new Error(`history: HTTP ${res.status}`);
      const { messages } = (await res.json()) as { messages: { body: string }[] };
      return messages.filter((m) => m.body === text).length;
    }, body);
  }

  test('a message waiting for its ACK is shown pending after a reload, then delivered exactly once', async () => {
    ann = await env.page({ query: '?transport=longpoll' });
    await signUp(ann, annName, 'Ann Lee');
    bob = await env.page();
    await signUp(bob, bobName, 'Bob Stone');
    await startDirect(ann, bobName);
    await send(ann, 'Before the outage');
    await visible(convItem(bob, 'Ann Lee'));
    await openConversation(bob, 'Ann Lee');
    await visible(message(bob, 'Before the outage'));

    // Every POST /lp/:sid/send fails on the network. That also ends Ann's long-poll session
    // (a failed send is not retried by the carrier: 1006, reconnect), and the reconnect's
    // CONNECT travels the same path, so no SEND and no ACK gets through while it is blocked.
    const block = (route: Route) => route.abort();
    await ann.route('**/lp/*/send', block);
    await ann.getByTestId('composer-input').fill('survives reload');
    await ann.getByTestId('composer-input').press('Enter');
    await visible(message(ann, 'survives reload'));
    expect(await statusOf(ann, 'survives reload')).toBe('pending');
    // Long enough for the SDK's reconnects to try (and fail) to resend it.
    await sleep(1500);
    expect(await statusOf(ann, 'survives reload')).toBe('pending');
    expect(await message(bob, 'survives reload').count()).toBe(0);

    // Reload while the path is still blocked, and unblock only once the reloaded page is up.
    // Unblocking first would race the old page's next reconnect, which could deliver the
    // message before the reload (and the test would pass without the persistence): this way
    // only the reloaded page can ever send it, from what it restored out of localStorage.
    await ann.reload();
    // Right after the reload, before any connection: the restored echo, pending as before.
    await visible(message(ann, 'survives reload'), 3000);
    expect(await statusOf(ann, 'survives reload')).toBe('pending');
    await visible(message(ann, 'Before the outage'));
    await ann.unroute('**/lp/*/send', block);

    // The reloaded page resends it: Ann sees it sent, Bob gets it once.
    await eventually(async () => expect(['sent', 'delivered', 'read']).toContain(await statusOf(ann, 'survives reload')), 20_000);
    await visible(message(bob, 'survives reload'), 20_000);
    await sleep(1000);
    expect(await message(bob, 'survives reload').count()).toBe(1);
    expect(await message(ann, 'survives reload').count()).toBe(1);
    expect(await ann.getByTestId('message-failed').count()).toBe(0);
    expect(await historyCount(ann, 'survives reload')).toBe(1);
    expect(await historyCount(bob, 'survives reload')).toBe(1);

    // Once ACKed it leaves the saved outbox (its own key, written on every change): another reload sends nothing again.
    const saved = await ann.evaluate(() => {
      const key = Object.keys(localStorage).find((k) => k.startsWith('relay.outbox.'));
      return key ? (JSON.parse(localStorage.getItem(key) ?? 'null') as unknown[] | null) : null;
    });
    expect(saved).toEqual([]);
  });
});

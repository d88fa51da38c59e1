/**
 * State that outlives a page and spans devices: reload (history and unread badge from
 * localStorage, then catch-up), a second device of the same user, mark as unread and
 * mute (READ_SYNC / MUTE_SYNC), a phone-sized window, and read receipts on a new device.
 */
import type { Page } from 'playwright-core';
import {
  browserDescribe,
  closeChat,
  convItem,
  eventually,
  hasAttr,
  hasText,
  hidden,
  message,
  openConversation,
  screenshot,
  send,
  signIn,
  statusOf,
  signUp,
  startDirect,
  uniqueName,
  useBrowserEnv,
  visible,
  waitConnected,
} from './helpers';

jest.setTimeout(90_000);

browserDescribe('web client: reloads, devices, unread and mute, phone size', () => {
  const env = useBrowserEnv();
  let ann: Page;
  let bob: Page;
  const annName = uniqueName('ann');
  const bobName = uniqueName('bob');

  beforeAll(async () => {
    ann = await env.page();
    await signUp(ann, annName, 'Ann Lee');
    bob = await env.page();
    await signUp(bob, bobName, 'Bob Stone');
    await startDirect(ann, bobName);
    await send(ann, 'First message');
    await visible(convItem(bob, 'Ann Lee'));
  });

  test('a reload keeps history and the unread badge, and catches up on what came meanwhile', async () => {
    await openConversation(bob, 'Ann Lee');
    await visible(message(bob, 'First message'));
    await closeChat(bob);
    await send(ann, 'Second message');
    await send(ann, 'Third message');
    await hasText(convItem(bob, 'Ann Lee').getByTestId('unread-badge'), '2');

    await bob.reload();
    // Straight from localStorage, before the connection is even up.
    await hasText(convItem(bob, 'Ann Lee').getByTestId('unread-badge'), '2', 3000);
    await waitConnected(bob);
    const saved = await bob.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('relay.data.')).length);
    expect(saved).toBe(1);

    // While Bob's page is gone, Ann writes again: the reload catches up from the saved sync state.
    const ctx = bob.context();
    await bob.close();
    await send(ann, 'Sent while you were away');
    bob = await ctx.newPage();
    await bob.goto(env.server.url + '/');
    await hasText(convItem(bob, 'Ann Lee').getByTestId('unread-badge'), '3');
    await hasText(convItem(bob, 'Ann Lee').getByTestId('conv-preview'), 'Sent while you were away');
    await openConversation(bob, 'Ann Lee');
    for (const text of ['First message', 'Second message', 'Third message', 'Sent while you were away']) await visible(message(bob, text));
    await hidden(convItem(bob, 'Ann Lee').getByTestId('unread-badge'));
  });

  test('a second device of the same user sees the same messages and read state', async () => {
    await closeChat(bob);
    const bob2 = await env.page();
    await signIn(bob2, bobName);
    await visible(convItem(bob2, 'Ann Lee'));
    await hidden(convItem(bob2, 'Ann Lee').getByTestId('unread-badge'));

    // A new message reaches both devices, unread on both.
    await send(ann, 'Hello both devices');
    for (const page of [bob, bob2]) await hasText(convItem(page, 'Ann Lee').getByTestId('unread-badge'), '1');
    // Reading on one device clears the badge on the other (READ_SYNC).
    await openConversation(bob, 'Ann Lee');
    await visible(message(bob, 'Hello both devices'));
    await hidden(convItem(bob2, 'Ann Lee').getByTestId('unread-badge'));

    // What one device sends shows on the other as the user's own message, and on Ann's side.
    await send(bob, 'Sent from my laptop');
    await openConversation(bob2, 'Ann Lee');
    await visible(message(bob2, 'Sent from my laptop'));
    await hasAttr(message(bob2, 'Sent from my laptop'), 'data-mine', 'true');
    await visible(message(bob2, 'First message'));
    await visible(message(ann, 'Sent from my laptop'));
    await bob2.close();
  });

  test('mark as unread and mute are reflected in the list and on the other device', async () => {
    const bob2 = await env.page();
    await signIn(bob2, bobName);
    await visible(convItem(bob2, 'Ann Lee'));

    await openConversation(bob, 'Ann Lee');
    await bob.getByTestId('chat-menu').click();
    await bob.getByTestId('mark-unread').click();
    for (const page of [bob, bob2]) {
      const badge = convItem(page, 'Ann Lee').getByTestId('unread-badge');
      await visible(badge);
      await hasAttr(badge, 'data-count', '0');
    }
    // Opening it again reads it: the mark goes away everywhere.
    await openConversation(bob, 'Ann Lee');
    for (const page of [bob, bob2]) await hidden(convItem(page, 'Ann Lee').getByTestId('unread-badge'));

    await bob.getByTestId('chat-menu').click();
    await bob.getByTestId('toggle-mute').click();
    await visible(bob.getByTestId('chat-title').getByTestId('muted-icon'));
    for (const page of [bob, bob2]) await visible(convItem(page, 'Ann Lee').getByTestId('muted-icon'));
    // Muted conversations still count unread, with a grey badge.
    await closeChat(bob);
    await send(ann, 'Ping while muted');
    await hasText(convItem(bob2, 'Ann Lee').getByTestId('unread-badge'), '1');
    await eventually(async () => expect(await convItem(bob2, 'Ann Lee').getByTestId('unread-badge').getAttribute('class')).toContain('muted'));
    await screenshot(bob2, 'conversation-list');

    await openConversation(bob, 'Ann Lee');
    await bob.getByTestId('chat-menu').click();
    await bob.getByTestId('toggle-mute').click();
    for (const page of [bob, bob2]) await hidden(convItem(page, 'Ann Lee').getByTestId('muted-icon'));
    await bob2.close();
  });

  test('a phone-sized window shows the list, then the chat full screen', async () => {
    const phone = await env.page({ viewport: { width: 390, height: 844 } });
    await signIn(phone, bobName);
    await visible(convItem(phone, 'Ann Lee'));
    expect(await phone.getByTestId('chat-view').count()).toBe(0);
    await screenshot(phone, 'phone-list');

    await convItem(phone, 'Ann Lee').click();
    await visible(phone.getByTestId('chat-view'));
    await visible(message(phone, 'Ping while muted'));
    // The list is hidden, the back button shown, and nothing overflows sideways.
    expect(await phone.getByTestId('sidebar').isVisible()).toBe(false);
    await visible(phone.getByTestId('back'));
    const box = await phone.getByTestId('composer-input').boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(390);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await send(phone, 'Typed on my phone');
    await visible(message(ann, 'Typed on my phone'));
    await screenshot(phone, 'phone-chat');

    await phone.getByTestId('back').click();
    await visible(phone.getByTestId('sidebar'));
  });

  test('a new device shows "Seen by" and the read tick it got no RECEIPT for (from conversation details)', async () => {
    await openConversation(ann, 'Bob Stone');
    await send(ann, 'Did you read this one?');
    await openConversation(bob, 'Ann Lee');
    await visible(message(bob, 'Did you read this one?'));
    // Read on the server: Ann's first device saw the RECEIPT live.
    await eventually(async () => expect(await statusOf(ann, 'Did you read this one?')).toBe('read'));

    // A fresh profile (empty localStorage) was not connected when Bob read: only the
    // members' read_seq in GET /conversations/:id can tell it.
    const ann2 = await env.page();
    await signIn(ann2, annName);
    await openConversation(ann2, 'Bob Stone');
    await visible(message(ann2, 'Did you read this one?'));
    await hasText(message(ann2, 'Did you read this one?').getByTestId('seen-by'), 'Seen by Bob Stone');
    await eventually(async () => expect(await statusOf(ann2, 'Did you read this one?')).toBe('read'));
    expect(await ann2.getByTestId('seen-by').count()).toBe(1);
    await screenshot(ann2, 'new-device-seen-by');
    await ann2.close();
  });
});

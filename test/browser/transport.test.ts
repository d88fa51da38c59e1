/**
 * Long-poll in the browser: a page forced onto long-poll (`?transport=longpoll`) chats
 * with one on WebSocket, both ways, and the settings menu switches a page's transport.
 */
import type { Page } from 'playwright-core';
import {
  browserDescribe,
  convItem,
  hasAttr,
  hasText,
  hidden,
  message,
  openConversation,
  screenshot,
  send,
  signUp,
  startDirect,
  uniqueName,
  useBrowserEnv,
  visible,
  waitConnected,
} from './helpers';

jest.setTimeout(90_000);

browserDescribe('web client: long-poll transport', () => {
  const env = useBrowserEnv();
  let ann: Page;
  let bob: Page;
  const annName = uniqueName('ann');
  const bobName = uniqueName('bob');

  test('a page forced onto long-poll chats with a WebSocket page, both ways', async () => {
    // Nothing of Ann's page goes over a WebSocket, from the first connection on.
    const sockets: string[] = [];
    ann = await env.page({ query: '?transport=longpoll', before: (page) => page.on('websocket', (ws) => sockets.push(ws.url())) });
    await signUp(ann, annName, 'Ann Lee');
    bob = await env.page();
    await signUp(bob, bobName, 'Bob Stone');
    await hasAttr(ann.getByTestId('transport'), 'data-transport', 'longpoll');
    await hasAttr(bob.getByTestId('transport'), 'data-transport', 'websocket');

    await startDirect(ann, bobName);
    await send(ann, 'Over long-poll');
    await visible(convItem(bob, 'Ann Lee'));
    await openConversation(bob, 'Ann Lee');
    await visible(message(bob, 'Over long-poll'));

    await send(bob, 'Over WebSocket');
    await visible(message(ann, 'Over WebSocket'));

    // Live extras travel too: typing, and the read receipt for Ann's message.
    await bob.getByTestId('composer-input').fill('typing to a long-poll page');
    await visible(ann.getByTestId('typing-indicator'));
    await bob.getByTestId('composer-input').fill('');
    await hidden(ann.getByTestId('typing-indicator'));
    await hasText(message(ann, 'Over long-poll').getByTestId('seen-by'), 'Seen by Bob Stone');
    await hasAttr(ann.getByTestId('transport'), 'data-transport', 'longpoll');
    expect(sockets).toEqual([]);
    await screenshot(ann, 'longpoll-chat');
  });

  test('the settings menu switches the transport and the chat goes on', async () => {
    await bob.getByTestId('settings-button').click();
    await bob.getByTestId('transport-select').selectOption('longpoll');
    await waitConnected(bob);
    await hasAttr(bob.getByTestId('transport'), 'data-transport', 'longpoll');
    await send(bob, 'Now I am on long-poll too');
    await visible(message(ann, 'Now I am on long-poll too'));
    await send(ann, 'Welcome');
    await visible(message(bob, 'Welcome'));

    // The setting is kept across a reload; ?transport= in the URL would win over it.
    await bob.reload();
    await waitConnected(bob);
    await hasAttr(bob.getByTestId('transport'), 'data-transport', 'longpoll');
    await bob.getByTestId('settings-button').click();
    await bob.getByTestId('transport-select').selectOption('auto');
    await waitConnected(bob);
    await hasAttr(bob.getByTestId('transport'), 'data-transport', 'websocket');
  });
});

/**
 * The user story in a real browser: two people sign up in two browser profiles, find
 * each other by username and chat both ways.
 */
import type { Page } from 'playwright-core';
import {
  BrowserEnv,
  browserDescribe,
  convItem,
  hasAttr,
  hasText,
  message,
  openConversation,
  screenshot,
  send,
  signUp,
  startDirect,
  uniqueName,
  visible,
} from './helpers';

jest.setTimeout(90_000);

browserDescribe('web client: sign up and chat', () => {
  const env = new BrowserEnv();
  let ann: Page;
  let bob: Page;
  const annName = uniqueName('ann');
  const bobName = uniqueName('bob');

  beforeAll(async () => {
    await env.start();
  });
  afterAll(async () => {
    if (env.errors.length) console.log(env.errors.join('\n'));
    await env.stop();
  });

  test('two users sign up in two browsers and chat both ways', async () => {
    ann = await env.page();
    await visible(ann.getByTestId('auth-form'));
    await screenshot(ann, 'sign-in');
    await signUp(ann, annName, 'Ann Lee');
    bob = await env.page();
    await signUp(bob, bobName, 'Bob Stone');

    await startDirect(ann, bobName);
    await hasText(ann.getByTestId('chat-title'), 'Bob Stone');
    await send(ann, 'Hi Bob! 👋');

    // Bob's list gets the conversation live, with an unread badge and the preview.
    const item = convItem(bob, 'Ann Lee');
    await visible(item);
    await hasText(item.getByTestId('unread-badge'), '1');
    await hasText(item.getByTestId('conv-preview'), 'Hi Bob!');
    await openConversation(bob, 'Ann Lee');
    await visible(message(bob, 'Hi Bob! 👋'));
    await hasAttr(message(bob, 'Hi Bob! 👋'), 'data-mine', 'false');

    await send(bob, 'Hey Ann, how are you?');
    await visible(message(ann, 'Hey Ann, how are you?'));
    await send(ann, 'Great, thanks!');
    await visible(message(bob, 'Great, thanks!'));
    // Reading in the open chat clears the badge.
    await convItem(bob, 'Ann Lee').getByTestId('unread-badge').waitFor({ state: 'detached' });
    await screenshot(ann, 'conversation-list-and-chat');
  });
});

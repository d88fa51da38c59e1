/**
 * The user story in a real browser: two people sign up in two browser profiles, find
 * each other by username and chat both ways.
 */
import type { Page } from 'playwright-core';
import {
  browserDescribe,
  closeChat,
  convItem,
  eventually,
  hidden,
  messageActions,
  sleep,
  statusOf,
  hasAttr,
  hasText,
  message,
  openConversation,
  screenshot,
  send,
  signUp,
  startDirect,
  uniqueName,
  useBrowserEnv,
  visible,
} from './helpers';

jest.setTimeout(90_000);

browserDescribe('web client: sign up and chat', () => {
  const env = useBrowserEnv();
  let ann: Page;
  let bob: Page;
  const annName = uniqueName('ann');
  const bobName = uniqueName('bob');

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

  test('typing shows on the other side and expires about 4 s after the last refresh', async () => {
    const typing = bob.getByTestId('typing-indicator');
    await ann.getByTestId('composer-input').fill('I am wri');
    await visible(typing);
    const shownAt = Date.now();
    await hasText(typing, 'Ann Lee is typing');
    await hasText(convItem(bob, 'Ann Lee').getByTestId('conv-preview'), 'typing');
    // No refresh and no "stopped" (the text stays in the box): it lapses on its own.
    await sleep(2500);
    expect(await typing.isVisible()).toBe(true);
    await hidden(typing, 6000);
    const lapsed = Date.now() - shownAt;
    expect(lapsed).toBeGreaterThan(3000);
    expect(lapsed).toBeLessThan(6000);

    // Typing on refreshes it every ~3 s, so it outlives the first 4 s.
    await ann.getByTestId('composer-input').fill('I am writing');
    await visible(typing);
    const start = Date.now();
    for (const text of ['I am writing a', 'I am writing a long', 'I am writing a long one']) {
      await sleep(1600);
      await ann.getByTestId('composer-input').fill(text);
    }
    await sleep(Math.max(0, 5500 - (Date.now() - start)));
    expect(await typing.isVisible()).toBe(true);
    // Sending says "stopped": the indicator goes at once, not 4 s later.
    await ann.getByTestId('composer-input').press('Enter');
    await hidden(typing, 2000);
    await visible(message(bob, 'I am writing a long one'));
  });

  test('delivery ticks and the read receipt ("Seen by") follow the other side', async () => {
    await closeChat(bob);
    await send(ann, 'Are you there?');
    // Bob's browser holds it (DELIVERED) but has not read it.
    await eventually(async () => expect(await statusOf(ann, 'Are you there?')).toBe('delivered'));
    expect(await message(ann, 'Are you there?').getByTestId('seen-by').count()).toBe(0);
    await hasText(convItem(bob, 'Ann Lee').getByTestId('unread-badge'), '1');

    await openConversation(bob, 'Ann Lee');
    const seen = message(ann, 'Are you there?').getByTestId('seen-by');
    await visible(seen);
    await hasText(seen, 'Seen by Bob Stone');
    await eventually(async () => expect(await statusOf(ann, 'Are you there?')).toBe('read'));
    // Only under the last message Bob has read.
    expect(await ann.getByTestId('seen-by').count()).toBe(1);
  });

  test('a reaction, a reply and an edit show on the other side', async () => {
    await send(bob, 'Yes, here!');
    await visible(message(ann, 'Yes, here!'));
    const actions = await messageActions(ann, 'Yes, here!');
    await actions.locator('[data-testid="react-choice"][data-emoji="❤️"]').click();
    await visible(message(bob, 'Yes, here!').locator('[data-testid="reaction"][data-emoji="❤️"]'));
    await visible(message(ann, 'Yes, here!').locator('[data-testid="reaction"][data-emoji="❤️"]'));

    // Bob replies to Ann's question: Ann sees the quote.
    const bobActions = await messageActions(bob, 'Are you there?');
    await bobActions.getByTestId('action-reply').click();
    await visible(bob.getByTestId('reply-bar'));
    await send(bob, 'Sorry, was away');
    const reply = message(ann, 'Sorry, was away');
    await visible(reply);
    await hasText(reply.getByTestId('message-quote'), 'Are you there?');

    // Ann edits her own message: Bob sees the new text marked "edited".
    const own = await messageActions(ann, 'Are you there?');
    await own.getByTestId('action-edit').click();
    await visible(ann.getByTestId('editing-bar'));
    await ann.getByTestId('composer-input').fill('Are you still there?');
    await ann.getByTestId('composer-input').press('Enter');
    const edited = message(bob, 'Are you still there?');
    await visible(edited);
    await visible(edited.getByTestId('message-edited'));
    await hasText(bob.getByTestId('message-quote'), 'Are you still there?');
    await visible(message(ann, 'Are you still there?').getByTestId('message-edited'));

    // Toggling the same emoji removes the reaction on both sides.
    const again = await messageActions(ann, 'Yes, here!');
    await again.locator('[data-testid="react-choice"][data-emoji="👍"]').click();
    await visible(message(bob, 'Yes, here!').locator('[data-testid="reaction"][data-emoji="👍"]'));
    await hidden(message(bob, 'Yes, here!').locator('[data-testid="reaction"][data-emoji="❤️"]'));
    await screenshot(ann, 'chat');
    await screenshot(bob, 'chat-other-side');
  });

  test('an unsent message shows as "message deleted" on both sides', async () => {
    await send(ann, 'oops, wrong chat');
    const seq = await message(bob, 'oops, wrong chat').getAttribute('data-seq');
    expect(seq).toMatch(/^\d+$/);
    const actions = await messageActions(ann, 'oops, wrong chat');
    await actions.getByTestId('action-unsend').click();
    // Unsending reaches everyone: it is asked first.
    await hasText(ann.getByTestId('confirm-dialog'), 'Unsend for everyone?');
    await ann.getByTestId('confirm-ok').click();
    for (const page of [ann, bob]) {
      const tomb = page.locator(`[data-testid="message"][data-seq="${seq}"]`);
      await hasText(tomb.getByTestId('message-body'), 'message deleted');
    }
    expect(await bob.getByText('oops, wrong chat').count()).toBe(0);
  });
});

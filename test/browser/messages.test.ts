/**
 * The message list as Messenger shows it: sender groups with one name and one avatar, day
 * and time headings, the time on hover or tap; message actions on hover, click, long press
 * and keyboard, closed by Escape or a press elsewhere; Unsend asked first; the emoji
 * picker; long messages clipped with "See more". Users are registered over REST.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { pickerEmoji } from '../../src/web/emoji';
import { createConversation, http, registerUser, type TestUser } from '../e2e/harness';
import {
  browserDescribe,
  convItem,
  eventually,
  hasText,
  hidden,
  message,
  messageActions,
  openConversation,
  screenshot,
  send,
  signIn,
  sleep,
  uniqueName,
  useBrowserEnv,
  visible,
} from './helpers';

jest.setTimeout(120_000);

/** A time of day as the browser's locale writes it: "9:05 AM", never "09:05 AM". */
const clock = /^(\d{1,2}[:.]\d{2}(\s?[AP]M)?)$/i;
const noLeadingZeroIn12h = (t: string) => !/[AP]M/i.test(t) || !t.startsWith('0');

browserDescribe('web client: message list and message actions', () => {
  const env = useBrowserEnv();
  let ann: TestUser;
  let bob: TestUser;
  let cat: TestUser;
  let groupId: string;
  let annPage: Page;
  let bobPage: Page;
  const groupTitle = 'Book club';

  const post = async (user: TestUser, convId: string, body: string) => {
    const res = await http(env.server.url, 'POST', `/api/v1/conversations/${convId}/messages`, { client_msg_id: uniqueName('m'), body }, user.token);
    expect([200, 201]).toContain(res.status);
  };

  beforeAll(async () => {
    ann = await registerUser(env.server.url, uniqueName('ann'));
    bob = await registerUser(env.server.url, uniqueName('bob'));
    cat = await registerUser(env.server.url, uniqueName('cat'));
    groupId = await createConversation(env.server.url, ann, 'group', [bob, cat], groupTitle);
    annPage = await env.page();
    await signIn(annPage, ann.username);
    bobPage = await env.page();
    await signIn(bobPage, bob.username);
  });

  test('one sender in a row is one group with one name and one avatar, under a "Today" heading', async () => {
    for (const body of ['Chapter one was slow', 'but it picks up', 'by chapter three']) await post(ann, groupId, body);
    await post(cat, groupId, 'Agreed!');
    await post(ann, groupId, 'Next book?');
    await openConversation(bobPage, groupTitle);
    await visible(message(bobPage, 'Next book?'));

    const positions = await bobPage.getByTestId('message').evaluateAll((els) => els.map((el) => el.getAttribute('data-position')));
    expect(positions).toEqual(['first', 'middle', 'last', 'single', 'single']);
    // The name where a group starts, the avatar where it ends.
    const names = await bobPage.getByTestId('message-sender').allTextContents();
    expect(names).toEqual([ann.username, cat.username, ann.username]);
    expect(await message(bobPage, 'Chapter one was slow').getByTestId('message-sender').count()).toBe(1);
    expect(await message(bobPage, 'by chapter three').getByTestId('message-avatar').count()).toBe(1);
    expect(await message(bobPage, 'but it picks up').getByTestId('message-avatar').count()).toBe(0);
    expect(await bobPage.getByTestId('message-avatar').count()).toBe(3);
    expect(await bobPage.getByTestId('day-separator').allTextContents()).toEqual(['Today']);

    // Own messages carry neither name nor avatar.
    await openConversation(annPage, groupTitle);
    await visible(message(annPage, 'Next book?'));
    expect(await annPage.getByTestId('message-avatar').count()).toBe(1);
    await screenshot(bobPage, 'message-groups');
  });

  test('the time shows on hover, in the locale, with no leading zero on a 12-hour clock', async () => {
    const msg = message(bobPage, 'Agreed!');
    await msg.getByTestId('message-bubble').hover();
    const time = msg.getByTestId('hover-time');
    await visible(time);
    const text = ((await time.textContent()) ?? '').trim();
    expect(text).toMatch(clock);
    expect(noLeadingZeroIn12h(text)).toBe(true);
    // The same clock the page itself formats with its default locale.
    const expected = await bobPage.evaluate(() => new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' }).format(new Date()));
    expect(text.replace(/\d/g, '0')).toBe(expected.replace(/\d/g, '0'));
    await visible(msg.getByTestId('hover-reply'));
    // Leaving the message hides it again; nothing moved while it showed.
    await bobPage.getByTestId('chat-title').hover();
    await hidden(msg.getByTestId('hover-actions'));
  });

  test('yesterday\'s messages sit under a "Yesterday" heading', async () => {
    // The browser's clock a day ahead: the messages sent today are yesterday's to it.
    const ctx = await env.context();
    await ctx.clock.install({ time: Date.now() + 86_400_000 });
    await ctx.clock.resume();
    const page = await ctx.newPage();
    await page.goto(env.server.url + '/');
    await signIn(page, bob.username);
    await openConversation(page, groupTitle);
    await visible(message(page, 'Next book?'));
    expect(await page.getByTestId('day-separator').allTextContents()).toEqual(['Yesterday']);
    await page.close();
  });

  test('actions close on Escape, on a click elsewhere, and when editing starts', async () => {
    await openConversation(annPage, groupTitle);
    let actions = await messageActions(annPage, 'Next book?');
    await annPage.keyboard.press('Escape');
    await hidden(actions);

    actions = await messageActions(annPage, 'Next book?');
    await annPage.getByTestId('chat-title').click();
    await hidden(actions);

    // The hover bar's button opens the same actions.
    await message(annPage, 'Agreed!').getByTestId('message-bubble').hover();
    await message(annPage, 'Agreed!').getByTestId('hover-react').click();
    await visible(message(annPage, 'Agreed!').getByTestId('message-actions'));
    await annPage.keyboard.press('Escape');

    // From the keyboard: Enter on a focused bubble opens them with focus on the first
    // reaction; Escape closes them and puts focus back on the message.
    const focused = () => annPage.evaluate(() => document.activeElement?.getAttribute('data-testid'));
    await message(annPage, 'Next book?').getByTestId('message-bubble').focus();
    await annPage.keyboard.press('Enter');
    actions = message(annPage, 'Next book?').getByTestId('message-actions');
    await visible(actions);
    expect(await focused()).toBe('react-choice');
    await annPage.keyboard.press('Tab');
    expect(await annPage.evaluate(() => document.activeElement?.getAttribute('data-emoji'))).toBe('❤️');
    await annPage.keyboard.press('Escape');
    await hidden(actions);
    expect(await focused()).toBe('message-bubble');
    await annPage.keyboard.press('Enter');
    await visible(actions);
    await actions.getByTestId('action-edit').click();
    await visible(annPage.getByTestId('editing-bar'));
    await hidden(actions);
    await annPage.getByTestId('composer-input').press('Escape');
  });

  test('Unsend asks "Unsend for everyone?" and does nothing when cancelled', async () => {
    await send(annPage, 'Wrong group, sorry');
    await visible(message(bobPage, 'Wrong group, sorry'));
    // Joined to the message above it: the corners between them are tight.
    expect(await message(annPage, 'Wrong group, sorry').getAttribute('data-position')).toBe('last');
    const corner = await message(annPage, 'Next book?')
      .getByTestId('message-bubble')
      .evaluate((el) => getComputedStyle(el).borderBottomRightRadius);
    expect(corner).toBe('4px');
    let actions = await messageActions(annPage, 'Wrong group, sorry');
    await actions.getByTestId('action-unsend').click();
    const dialog = annPage.getByTestId('confirm-dialog');
    await hasText(dialog, 'Unsend for everyone?');
    // Focus starts on the safe choice.
    expect(await annPage.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('confirm-cancel');
    await screenshot(annPage, 'unsend-confirm');
    await annPage.keyboard.press('Escape');
    await hidden(dialog);
    await sleep(300);
    await visible(message(bobPage, 'Wrong group, sorry'));

    actions = await messageActions(annPage, 'Wrong group, sorry');
    await actions.getByTestId('action-unsend').click();
    await annPage.getByTestId('confirm-ok').click();
    await eventually(async () => expect(await bobPage.getByText('Wrong group, sorry').count()).toBe(0));
  });

  test('the emoji picker reacts beyond the quick six, by search or by arrow keys', async () => {
    await send(bobPage, 'I vote for Dune');
    await visible(message(annPage, 'I vote for Dune'));
    let actions = await messageActions(annPage, 'I vote for Dune');
    expect(await actions.getByTestId('react-choice').count()).toBe(6);
    await actions.getByTestId('react-more').click();
    const picker = actions.getByTestId('emoji-picker');
    await visible(picker);
    await screenshot(annPage, 'emoji-picker');
    // Focus is in the search box: typing filters, Enter picks the first match.
    await annPage.keyboard.type('rock');
    await eventually(async () => expect(await picker.getByTestId('emoji-choice').count()).toBe(1));
    await annPage.keyboard.press('Enter');
    await hidden(actions);
    for (const page of [annPage, bobPage]) await visible(message(page, 'I vote for Dune').locator('[data-testid="reaction"][data-emoji="🚀"]'));

    // Arrow keys walk the grid; Escape closes the picker first, the actions stay.
    actions = await messageActions(annPage, 'I vote for Dune');
    await actions.getByTestId('react-more').click();
    await annPage.keyboard.press('Escape');
    await hidden(actions.getByTestId('emoji-picker'));
    await visible(actions);
    await actions.getByTestId('react-more').click();
    await annPage.keyboard.press('ArrowDown');
    await annPage.keyboard.press('ArrowRight');
    await annPage.keyboard.press('ArrowDown');
    // First cell, one right, one row (eight) down.
    const expected = pickerEmoji[9][0];
    const chosen = await annPage.evaluate(() => document.activeElement?.getAttribute('data-emoji'));
    expect(chosen).toBe(expected);
    await annPage.keyboard.press('Enter');
    await visible(message(bobPage, 'I vote for Dune').locator(`[data-testid="reaction"][data-emoji="${expected}"]`));
    await hidden(message(bobPage, 'I vote for Dune').locator('[data-testid="reaction"][data-emoji="🚀"]'));
  });

  test('a very long message is clipped with "See more" that expands it', async () => {
    const long = Array.from({ length: 80 }, (_, i) => `Sentence number ${i + 1} of a very long review.`).join(' ');
    await post(cat, groupId, long);
    const msg = bobPage.getByTestId('message').filter({ hasText: 'Sentence number 1 of' });
    await visible(msg);
    const body = msg.getByTestId('message-body');
    expect(await body.textContent()).not.toContain('Sentence number 80');
    const seeMore = msg.getByTestId('see-more');
    await visible(seeMore);
    await screenshot(bobPage, 'see-more');
    await seeMore.click();
    await hasText(body, 'Sentence number 80 of a very long review.');
    await hidden(seeMore);
    // Expanding is not selecting: the actions stay closed.
    expect(await msg.getByTestId('message-actions').count()).toBe(0);
  });

  describe('on a touch screen', () => {
    let ctx: BrowserContext;
    let phone: Page;

    beforeAll(async () => {
      ctx = await env.browser.newContext({ viewport: { width: 390, height: 780 }, deviceScaleFactor: 1, hasTouch: true, isMobile: true });
      ctx.setDefaultTimeout(10_000);
      phone = await ctx.newPage();
      await phone.goto(env.server.url + '/');
      await signIn(phone, bob.username);
      await visible(convItem(phone, groupTitle));
      await openConversation(phone, groupTitle);
    });
    afterAll(() => ctx.close());

    const press = async (text: string, holdMs: number) => {
      const bubble = message(phone, text).getByTestId('message-bubble');
      await bubble.scrollIntoViewIfNeeded();
      const box = await bubble.boundingBox();
      if (!box) throw new Error('no bubble');
      const cdp = await ctx.newCDPSession(phone);
      const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
      await sleep(holdMs);
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      await cdp.detach();
    };

    test('a tap shows the time; a long press opens the actions', async () => {
      await visible(message(phone, 'Next book?'));
      await press('Next book?', 60);
      const time = message(phone, 'Next book?').getByTestId('message-time');
      await visible(time);
      expect(((await time.textContent()) ?? '').trim()).toMatch(clock);
      expect(await phone.getByTestId('message-actions').count()).toBe(0);

      await press('Next book?', 700);
      const actions = message(phone, 'Next book?').getByTestId('message-actions');
      await visible(actions);
      // The lifted finger's click neither closes them again nor picks the action now under it.
      await sleep(300);
      await visible(actions);
      expect(await message(phone, 'Next book?').getByTestId('reaction').count()).toBe(0);
      await screenshot(phone, 'message-actions-phone');
      await press('Agreed!', 60);
      await hidden(actions);
    });
  });
});

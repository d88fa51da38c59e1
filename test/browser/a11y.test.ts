/**
 * Accessibility: axe-core (run inside the page, from node_modules) finds no serious or
 * critical violation on the main screens in light and dark, and the keyboard reaches
 * and works every control (focus moves into dialogs and back, Escape closes pop-ups).
 */
import { readFileSync } from 'node:fs';
import type { AxeResults, ImpactValue } from 'axe-core';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { browserDescribe, eventually, hasAttr, hidden, screenshot, signIn, useBrowserEnv, visible } from './helpers';
import { buildScene, type Scene } from './scene';

jest.setTimeout(120_000);

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const blocking: ImpactValue[] = ['serious', 'critical'];
const schemes = ['light', 'dark'] as const;

/** Runs axe on the page as it is and returns its serious and critical violations, one readable line per element. */
async function violations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const results = await page.evaluate(() => (window as unknown as { axe: { run: (ctx: Document) => Promise<AxeResults> } }).axe.run(document));
  return results.violations
    .filter((v) => v.impact && blocking.includes(v.impact))
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help}\n    at ${n.target.join(' ')}\n    ${(n.failureSummary ?? '').replace(/\n/g, '\n    ')}`));
}

async function focused(loc: Locator): Promise<void> {
  await eventually(async () => expect(await loc.evaluate((el) => el === document.activeElement)).toBe(true), 3000);
}

/** Checks the screen in both colour schemes (a screenshot of each under test-results/); the failure lists every finding of both. */
async function checkScreen(page: Page, screen: string): Promise<void> {
  const found: string[] = [];
  for (const colorScheme of schemes) {
    await page.emulateMedia({ colorScheme });
    for (const v of await violations(page)) found.push(`[${screen}, ${colorScheme}] ${v}`);
    await screenshot(page, `a11y-${screen.replace(/ /g, '-')}-${colorScheme}`);
  }
  await page.emulateMedia({ colorScheme: null });
  if (found.length) throw new Error(`${found.length} accessibility violation(s):\n${found.join('\n')}`);
}

browserDescribe('web client: accessibility', () => {
  const env = useBrowserEnv();
  let scene: Scene;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    scene = await buildScene(env.server.url);
    // The server's CSP forbids inline scripts, and axe is injected as one.
    context = await env.browser.newContext({ viewport: { width: 1100, height: 760 }, deviceScaleFactor: 1, bypassCSP: true });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    page.on('pageerror', (err) => env.errors.push(`pageerror: ${err.message}`));
    await page.goto(env.server.url + '/');
  });

  afterAll(() => context?.close());

  test('axe finds nothing serious on the sign-in screen (both tabs)', async () => {
    await visible(page.getByTestId('auth-form'));
    await checkScreen(page, 'sign in');
    await page.getByTestId('tab-signup').click();
    await visible(page.getByTestId('auth-display-name'));
    await checkScreen(page, 'create account');
    await page.getByTestId('tab-signin').click();
    await page.getByTestId('auth-username').fill(scene.ann.username);
    await page.getByTestId('auth-password').fill('not the password');
    await page.getByTestId('auth-submit').click();
    await visible(page.getByTestId('auth-error'));
    await checkScreen(page, 'sign-in error');
  });

  test('the sign-in tabs are one tab stop, switched with the arrow keys', async () => {
    await page.getByTestId('tab-signin').focus();
    await page.keyboard.press('ArrowRight');
    await focused(page.getByTestId('tab-signup'));
    await hasAttr(page.getByTestId('tab-signup'), 'aria-selected', 'true');
    await visible(page.getByTestId('auth-display-name'));
    expect(await page.getByTestId('tab-signin').getAttribute('tabindex')).toBe('-1');
    await page.keyboard.press('Home');
    await focused(page.getByTestId('tab-signin'));
    await hasAttr(page.getByTestId('tab-signin'), 'aria-selected', 'true');
    // Tab leaves the pair for the first field.
    await page.keyboard.press('Tab');
    await focused(page.getByTestId('auth-username'));
  });

  test('axe finds nothing serious on the inbox and the settings view', async () => {
    await signIn(page, scene.ann.username);
    await eventually(async () => expect(await page.getByTestId('conv-item').count()).toBe(4));
    await checkScreen(page, 'inbox');
    await page.getByTestId('settings-button').click();
    await visible(page.getByTestId('settings-view'));
    await checkScreen(page, 'settings view');
    await page.keyboard.press('Escape');
    await hidden(page.getByTestId('settings-view'));
  });

  test('conversation rows say in words what their dots, badges and icons show', async () => {
    const bobContext = await env.browser.newContext({ viewport: { width: 800, height: 600 } });
    try {
      const bob = await bobContext.newPage();
      await bob.goto(env.server.url + '/');
      await signIn(bob, scene.bob.username);
      await visible(page.getByTestId('presence-dot'));
      await visible(page.getByRole('button', { name: /^Bob Stone\s*, active now/ }));
      await visible(page.getByRole('button', { name: /^Dave Kim.*1 unread/ }));
      await visible(page.getByRole('button', { name: /^Eve Park\s*Muted.*1 unread/ }));
    } finally {
      await bobContext.close();
    }
  });

  test('axe finds nothing serious in an open chat, its actions and its menu', async () => {
    await page.locator(`[data-testid="conv-item"][data-title="${scene.group}"]`).click();
    await visible(page.getByTestId('reactions'));
    await checkScreen(page, 'group chat');
    await page.getByTestId('message-bubble').last().click();
    await visible(page.getByTestId('message-actions'));
    await checkScreen(page, 'message actions');
    await page.getByTestId('message-bubble').last().click();
    await page.getByTestId('chat-menu').click();
    await visible(page.getByTestId('chat-menu-list'));
    await checkScreen(page, 'chat menu');
    await page.keyboard.press('Escape');
    await hidden(page.getByTestId('chat-menu-list'));
  });

  test('axe finds nothing serious in the New chat dialog (both modes)', async () => {
    await page.getByTestId('new-chat').click();
    await visible(page.getByTestId('new-chat-dialog'));
    await checkScreen(page, 'new chat');
    await page.getByTestId('new-group-tab').click();
    await visible(page.getByTestId('new-group-title'));
    await checkScreen(page, 'new group');
    await page.keyboard.press('Escape');
    await hidden(page.getByTestId('new-chat-dialog'));
  });

  test('Tab alone reaches every control of the list and the open chat', async () => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName ?? '');
      reached.add(id);
    }
    for (const id of ['new-chat', 'settings-button', 'conv-item', 'chat-menu', 'message-bubble', 'reaction', 'message-quote', 'attachment-image', 'attach-button', 'composer-input']) {
      expect([id, reached.has(id)]).toEqual([id, true]);
    }
  });

  test('New chat takes the focus, keeps Tab inside, and gives it back on Escape', async () => {
    const opener = page.getByTestId('new-chat');
    await opener.focus();
    await page.keyboard.press('Enter');
    await visible(page.getByTestId('new-chat-dialog'));
    // Chromium ignores `autofocus` here: the dialog has to move the focus itself.
    await focused(page.getByTestId('new-direct-username'));
    const inside = () => page.evaluate(() => !!document.activeElement?.closest('[data-testid="new-chat-dialog"]'));
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      expect(await inside()).toBe(true);
    }
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Shift+Tab');
      expect(await inside()).toBe(true);
    }
    await page.keyboard.press('Escape');
    await hidden(page.getByTestId('new-chat-dialog'));
    await focused(opener);
  });

  test('Settings and menus open from the keyboard, close on Escape or a click elsewhere, and give the focus back', async () => {
    const button = page.getByTestId('settings-button');
    await button.focus();
    await page.keyboard.press('Enter');
    await visible(page.getByTestId('settings-view'));
    await hasAttr(button, 'aria-haspopup', 'dialog');
    await page.keyboard.press('Escape');
    await hidden(page.getByTestId('settings-view'));
    await focused(button);

    await page.getByTestId('chat-menu').click();
    await visible(page.getByTestId('chat-menu-list'));
    await page.getByTestId('composer-input').click();
    await hidden(page.getByTestId('chat-menu-list'));
  });

  test("a message's actions open with Enter or Space on its bubble, and every action is a labelled button", async () => {
    const bubble = page.getByTestId('message-bubble').last();
    await bubble.focus();
    await page.keyboard.press('Enter');
    await visible(page.getByTestId('message-actions'));
    const names = await page.getByTestId('message-actions').getByRole('button').evaluateAll((els) => els.map((el) => el.getAttribute('aria-label') ?? el.textContent ?? ''));
    expect(names.every((n) => n.trim() !== '')).toBe(true);
    await page.keyboard.press(' ');
    await hidden(page.getByTestId('message-actions'));
  });

  test('the photo viewer takes the focus, passes axe, and gives the focus back to the photo on Escape', async () => {
    const tile = page.getByTestId('attachment-image');
    await tile.focus();
    await page.keyboard.press('Enter');
    await visible(page.getByTestId('viewer'));
    await focused(page.getByTestId('viewer-download'));
    await page.keyboard.press('Tab');
    await focused(page.getByTestId('viewer-close'));
    await page.keyboard.press('Tab');
    await focused(page.getByTestId('viewer-download'));
    await checkScreen(page, 'photo viewer');
    await page.keyboard.press('Escape');
    await hidden(page.getByTestId('viewer'));
    await focused(tile);
    expect(await page.getByTestId('message-actions').count()).toBe(0);
  });

  test('axe finds nothing serious at phone size (list, then chat)', async () => {
    const phone = await env.browser.newContext({ viewport: { width: 390, height: 780 }, deviceScaleFactor: 1, bypassCSP: true });
    try {
      const small = await phone.newPage();
      await small.goto(env.server.url + '/');
      await signIn(small, scene.ann.username);
      await checkScreen(small, 'phone list');
      await small.locator(`[data-testid="conv-item"][data-title="${scene.group}"]`).click();
      await visible(small.getByTestId('back'));
      await checkScreen(small, 'phone chat');
    } finally {
      await phone.close();
    }
  });

  test('the composer is labelled and sends with the keyboard alone', async () => {
    const input = page.getByRole('textbox', { name: 'Message' });
    await input.focus();
    await page.keyboard.type('Typed without a mouse');
    await page.keyboard.press('Enter');
    await visible(page.getByTestId('message-body').getByText('Typed without a mouse', { exact: true }));
  });
});

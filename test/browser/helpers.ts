/**
 * Browser-test helpers: Debian's Chromium driven by playwright-core (never a downloaded
 * browser) against an in-process server that serves the built web client (dist/web).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { startTestServer, stopTestServer, type TestServer } from '../e2e/harness';

export const chromiumPath = '/usr/bin/chromium';
export const screenshotDir = join(__dirname, '../../test-results/screenshots');
export const password = 'correct horse battery';

/**
 * `describe`, or `describe.skip` with a message when there is no Chromium. In CI a
 * missing browser fails loudly instead: a skipped suite would hide it.
 */
export function browserDescribe(name: string, body: () => void): void {
  if (existsSync(chromiumPath)) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      test('Chromium is installed', () => {
        throw new Error(`${chromiumPath} is missing: the browser tests need Debian's chromium (apt-get install chromium)`);
      });
    });
  } else {
    // eslint-disable-next-line no-console
    console.warn(`SKIPPED ${name}: ${chromiumPath} not found (apt-get install chromium to run the browser tests)`);
    describe.skip(name, body);
  }
}

let counter = 0;
/** A username unique in this run. */
export function uniqueName(base: string): string {
  return `${base}${process.pid % 10000}${++counter}${Math.floor(Math.random() * 1000)}`;
}

/** The server and browser of one test file. */
export class BrowserEnv {
  server!: TestServer;
  browser!: Browser;
  private readonly contexts: BrowserContext[] = [];
  /** Uncaught page errors and console errors, for failure messages. */
  readonly errors: string[] = [];

  async start(env: Record<string, string> = {}): Promise<void> {
    if (!existsSync(join(__dirname, '../../dist/web/app.js'))) throw new Error('dist/web is not built: run `npm run build` first');
    this.server = await startTestServer(env);
    this.browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }

  async stop(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser?.close().catch(() => undefined);
    if (this.server) await stopTestServer(this.server);
  }

  /** A new browser profile (its own localStorage: another device). */
  async context(viewport = { width: 1100, height: 760 }): Promise<BrowserContext> {
    const ctx = await this.browser.newContext({ viewport, deviceScaleFactor: 1 });
    ctx.setDefaultTimeout(10_000);
    this.contexts.push(ctx);
    return ctx;
  }

  async page(opts: { viewport?: { width: number; height: number }; query?: string; before?: (page: Page) => void } = {}): Promise<Page> {
    const ctx = await this.context(opts.viewport);
    const page = await ctx.newPage();
    opts.before?.(page);
    page.on('pageerror', (err) => this.errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') this.errors.push(`console: ${msg.text()}`);
    });
    await page.goto(this.server.url + '/' + (opts.query ?? ''));
    return page;
  }
}

/**
 * The file's BrowserEnv, started before its tests (with these server settings) and
 * stopped after them; page errors seen on the way are printed, to explain failures.
 */
export function useBrowserEnv(serverEnv: Record<string, string> = {}): BrowserEnv {
  const env = new BrowserEnv();
  beforeAll(() => env.start(serverEnv));
  afterAll(async () => {
    if (env.errors.length) console.log(env.errors.join('\n'));
    await env.stop();
  });
  return env;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retries `fn` (jest expectations inside) until it passes or `timeoutMs` runs out; rethrows the last failure. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await sleep(100);
  }
}

export async function visible(loc: Locator, timeout = 10_000): Promise<void> {
  await loc.first().waitFor({ state: 'visible', timeout });
}

export async function hidden(loc: Locator, timeout = 10_000): Promise<void> {
  await loc.first().waitFor({ state: 'hidden', timeout });
}

export async function hasAttr(loc: Locator, name: string, value: string, timeout = 10_000): Promise<void> {
  await eventually(async () => expect(await loc.first().getAttribute(name, { timeout: 1000 })).toBe(value), timeout);
}

export async function hasText(loc: Locator, text: string, timeout = 10_000): Promise<void> {
  await eventually(async () => expect(await loc.first().textContent({ timeout: 1000 })).toContain(text), timeout);
}

export async function signUp(page: Page, username: string, displayName?: string): Promise<void> {
  await page.getByTestId('tab-signup').click();
  await page.getByTestId('auth-username').fill(username);
  if (displayName) await page.getByTestId('auth-display-name').fill(displayName);
  await page.getByTestId('auth-password').fill(password);
  await page.getByTestId('auth-submit').click();
  await visible(page.getByTestId('conv-list'));
  await waitConnected(page);
}

export async function signIn(page: Page, username: string): Promise<void> {
  await page.getByTestId('tab-signin').click();
  await page.getByTestId('auth-username').fill(username);
  await page.getByTestId('auth-password').fill(password);
  await page.getByTestId('auth-submit').click();
  await visible(page.getByTestId('conv-list'));
  await waitConnected(page);
}

export async function waitConnected(page: Page): Promise<void> {
  await hasAttr(page.getByTestId('status-line'), 'data-status', 'ready');
}

/** Starts (or finds) the direct chat with `username` and leaves it open. */
export async function startDirect(page: Page, username: string): Promise<void> {
  await page.getByTestId('new-chat').click();
  await page.getByTestId('new-direct-username').fill(username);
  await page.getByTestId('new-chat-submit').click();
  // The new conversation's own chat view, not any: the page may still show the one it had
  // open (CI once typed a message into it while the new one opened). The dialog closes in
  // the handler that sets the hash; the view follows on the hashchange.
  await hidden(page.getByTestId('new-chat-dialog'));
  const hash = await page.evaluate(() => location.hash);
  expect(hash).toMatch(/^#\/c\//);
  await visible(page.locator(`[data-testid="chat-view"][data-conv-id="${decodeURIComponent(hash.slice('#/c/'.length))}"]`));
}

/** Creates a group named `title`, picking each member from the people search by username (chips). */
export async function createGroup(page: Page, title: string, usernames: string[]): Promise<void> {
  await page.getByTestId('new-chat').click();
  await page.getByTestId('new-group-tab').click();
  await page.getByTestId('new-group-title').fill(title);
  for (const [i, name] of usernames.entries()) {
    await page.getByTestId('new-group-search').fill(name);
    await page.locator(`[data-testid="person-result"][data-username="${name}"]`).click();
    await eventually(async () => expect(await page.getByTestId('member-chip').count()).toBe(i + 1));
  }
  await page.getByTestId('new-chat-submit').click();
  await hasText(page.getByTestId('chat-title'), title);
}

/** Opens the conversation whose list title is `title`. */
export async function openConversation(page: Page, title: string): Promise<void> {
  await page.locator(`[data-testid="conv-item"][data-title="${title}"]`).click();
  await hasText(page.getByTestId('chat-title'), title);
}

export function convItem(page: Page, title: string) {
  return page.locator(`[data-testid="conv-item"][data-title="${title}"]`);
}

export async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer-input').fill(text);
  await page.getByTestId('composer-input').press('Enter');
  await eventually(async () => expect(await message(page, text).getByTestId('msg-status').getAttribute('data-status', { timeout: 1000 })).not.toBe('pending'));
}

/** The message bubble whose body is exactly `text`. */
export function message(page: Page, text: string) {
  return page.getByTestId('message').filter({ has: page.getByTestId('message-body').getByText(text, { exact: true }) });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Leaves the open chat (the list stays on screen on wide windows). */
export async function closeChat(page: Page): Promise<void> {
  await page.evaluate(() => {
    location.hash = '#/';
  });
  await page.getByTestId('no-chat').or(page.getByTestId('conv-list')).first().waitFor({ state: 'visible' });
}

/** Clicks a message bubble to bring up its actions (react, reply, edit, unsend). */
export async function messageActions(page: Page, text: string): Promise<Locator> {
  const msg = message(page, text);
  await msg.getByTestId('message-bubble').click();
  const actions = msg.getByTestId('message-actions');
  await visible(actions);
  return actions;
}

export async function statusOf(page: Page, text: string): Promise<string | null> {
  return message(page, text).getByTestId('msg-status').getAttribute('data-status', { timeout: 2000 });
}

export { sleep };

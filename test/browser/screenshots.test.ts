/**
 * Dark mode follows the system setting, and the README's screenshots: desktop (list and
 * chat) and phone (chat), light and dark, of the same lived-in account. They are written
 * to test-results/screenshots/readme/, or over docs/screenshots/ with
 * UPDATE_SCREENSHOTS=1 (`npm run screenshots`), so an ordinary test run leaves the
 * repository as it was.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { browserDescribe, eventually, hidden, screenshotDir, signIn, useBrowserEnv, visible } from './helpers';
import { buildScene, type Scene } from './scene';

jest.setTimeout(120_000);

const outDir = process.env.UPDATE_SCREENSHOTS ? join(__dirname, '../../docs/screenshots') : join(screenshotDir, 'readme');
const sizes = { desktop: { width: 1100, height: 700 }, phone: { width: 390, height: 780 } } as const;
const schemes = ['light', 'dark'] as const;

/** Width and height from a PNG's IHDR chunk. */
function pngSize(path: string): { width: number; height: number } {
  const png = readFileSync(path);
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function background(page: Page, selector: string): Promise<string> {
  return page.locator(selector).first().evaluate((el) => getComputedStyle(el).backgroundColor);
}

browserDescribe('web client: dark mode and the README screenshots', () => {
  const env = useBrowserEnv();
  let scene: Scene;
  const contexts: BrowserContext[] = [];

  /** Ann signed in, in a fixed locale, time zone and viewport, with the group open. */
  async function annInGroup(size: keyof typeof sizes): Promise<Page> {
    const context = await env.browser.newContext({ viewport: sizes[size], deviceScaleFactor: 1, locale: 'en-US', timezoneId: 'UTC' });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => env.errors.push(`pageerror: ${err.message}`));
    await page.goto(env.server.url + '/');
    await signIn(page, scene.ann.username);
    await eventually(async () => expect(await page.getByTestId('conv-item').count()).toBe(4));
    await page.locator(`[data-testid="conv-item"][data-title="${scene.group}"]`).click();
    await visible(page.getByTestId('reactions'));
    return page;
  }

  beforeAll(async () => {
    scene = await buildScene(env.server.url);
    mkdirSync(outDir, { recursive: true });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
  });

  test('the colours follow the system scheme, live, without a reload', async () => {
    const page = await annInGroup('desktop');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await background(page, 'html')).toBe('rgb(255, 255, 255)');
    expect(await background(page, '.msg.theirs .bubble')).toBe('rgb(233, 235, 238)');
    await page.emulateMedia({ colorScheme: 'dark' });
    await eventually(async () => expect(await background(page, 'html')).toBe('rgb(24, 25, 26)'));
    expect(await background(page, '.msg.theirs .bubble')).toBe('rgb(48, 49, 52)');
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).color)).toBe('rgb(228, 230, 235)');
    // Native controls (scrollbars, the select in settings) follow too.
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).colorScheme)).toBe('dark');
    await page.getByTestId('new-chat').click();
    expect(await background(page, '.dialog')).toBe('rgb(36, 37, 38)');
    await page.keyboard.press('Escape');
    await hidden(page.getByTestId('new-chat-dialog'));
  });

  for (const size of ['desktop', 'phone'] as const) {
    test(`${size} screenshots, light and dark`, async () => {
      const page = await annInGroup(size);
      for (const colorScheme of schemes) {
        await page.emulateMedia({ colorScheme });
        // Nothing focused or hovered: the picture shows the page at rest.
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        await page.mouse.move(0, 0);
        const path = join(outDir, `${size}-${colorScheme}.png`);
        await page.screenshot({ path, animations: 'disabled', caret: 'hide' });
        expect(pngSize(path)).toEqual(sizes[size]);
      }
    });
  }
});

/**
 * The web client under its Content-Security-Policy: the header is sent with the page, and
 * signing up, chatting (WebSocket and long-poll) and the avatars' styles work without a
 * single violation.
 */
import type { Page } from 'playwright-core';
import { browserDescribe, convItem, eventually, message, openConversation, send, signUp, startDirect, uniqueName, useBrowserEnv, visible } from './helpers';

jest.setTimeout(90_000);

browserDescribe('web client: Content-Security-Policy', () => {
  const env = useBrowserEnv();

  /** A page that records every CSP violation in `window.__cspViolations`. */
  async function watchedPage(query = ''): Promise<{ page: Page; csp: string | undefined }> {
    const ctx = await env.context();
    await ctx.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const page = await ctx.newPage();
    const res = await page.goto(env.server.url + '/' + query);
    return { page, csp: res?.headers()['content-security-policy'] };
  }

  const violations = (page: Page) => page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);

  test('the policy is sent, and the app runs under it without a violation', async () => {
    const { page: ann, csp } = await watchedPage();
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("base-uri 'none'");
    const { page: bob } = await watchedPage('?transport=longpoll');
    const annName = uniqueName('ann');
    const bobName = uniqueName('bob');
    await signUp(ann, annName, 'Ann Lee');
    await signUp(bob, bobName, 'Bob Stone');
    await startDirect(ann, bobName);
    await send(ann, 'Hello under CSP');
    await visible(convItem(bob, 'Ann Lee'));
    await openConversation(bob, 'Ann Lee');
    await visible(message(bob, 'Hello under CSP'));

    // The avatars' inline sizes and colours (set through the CSSOM) are applied.
    const avatar = ann.locator('.chat-head .avatar');
    expect(await avatar.evaluate((el) => getComputedStyle(el).width)).toBe('38px');
    expect(await avatar.evaluate((el) => getComputedStyle(el).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)');
    expect(await violations(ann)).toEqual([]);
    expect(await violations(bob)).toEqual([]);

    // What the policy is there for: a style attribute written as markup is refused (and seen).
    await ann.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<p id="csp-probe" style="width: 123px">x</p>'));
    await eventually(async () => expect((await violations(ann)).join()).toContain('style-src'));
    expect(await ann.locator('#csp-probe').evaluate((el) => getComputedStyle(el).width)).not.toBe('123px');
  });
});

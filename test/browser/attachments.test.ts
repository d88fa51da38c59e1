/**
 * Attachments in the browser: a real JPEG uploaded from the composer (progress, then
 * sent) shows on the other user's screen as its ThumbHash placeholder, then its
 * thumbnail, and opens in the viewer at its display size; a PDF is a file chip that
 * downloads under its name; bytes that are not what they claim are refused on the chip.
 */
import { readFile } from 'node:fs/promises';
import type { Page, Route } from 'playwright-core';
import sharp from 'sharp';
import { registerUser, type TestUser } from '../e2e/harness';
import { browserDescribe, convItem, eventually, hasAttr, hasText, hidden, openConversation, screenshot, signIn, startDirect, uniqueName, useBrowserEnv, visible } from './helpers';

jest.setTimeout(90_000);

/** A 1200x900 JPEG with shapes and colours (a ThumbHash of a flat image says little). */
async function photo(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="900">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#3a7bd5"/><stop offset="1" stop-color="#f9d976"/></linearGradient></defs>
    <rect width="1200" height="900" fill="url(#sky)"/>
    <circle cx="900" cy="250" r="120" fill="#ffef9f"/>
    <rect y="620" width="1200" height="280" fill="#e2c290"/>
    <path d="M0 600 Q300 540 600 600 T1200 600 V640 H0 Z" fill="#1f6f8b"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

/** A small, valid one-page PDF. */
function pdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((n) => `${String(n).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const naturalWidth = (page: Page, testId: string) => page.getByTestId(testId).first().evaluate((img) => (img as HTMLImageElement).naturalWidth);

browserDescribe('web client: attachments', () => {
  const env = useBrowserEnv();
  let ann: TestUser;
  let bob: TestUser;
  let annPage: Page;
  let bobPage: Page;

  beforeAll(async () => {
    ann = await registerUser(env.server.url, uniqueName('ann'));
    bob = await registerUser(env.server.url, uniqueName('bob'));
    annPage = await env.page();
    await signIn(annPage, ann.username);
    bobPage = await env.page();
    await signIn(bobPage, bob.username);
    await startDirect(annPage, bob.username);
  });

  test("uploads a real JPEG and sees its thumbnail on the other user's screen", async () => {
    // Bob's downloads of the renditions wait until released: his screen shows the placeholder meanwhile.
    const held: Route[] = [];
    let holding = true;
    await bobPage.route('**/blobs/**', (route) => (holding ? held.push(route) : route.continue()));

    await annPage.getByTestId('attach-input').setInputFiles({ name: 'beach.jpg', mimeType: 'image/jpeg', buffer: await photo() });
    const chip = annPage.getByTestId('pending-upload');
    await visible(chip);
    await hasAttr(chip, 'data-name', 'beach.jpg');
    // The upload finishes: its progress bar goes and Send is enabled with no text.
    await hasAttr(chip, 'data-state', 'done');
    expect(await chip.getByTestId('upload-progress').count()).toBe(0);
    expect(await annPage.getByTestId('send-button').isEnabled()).toBe(true);
    await annPage.getByTestId('send-button').click();
    await hidden(chip);

    // Bob's list says what came before he opens it.
    await hasText(convItem(bobPage, ann.username).getByTestId('conv-preview'), '📷 Photo');
    await openConversation(bobPage, ann.username);
    const tile = bobPage.getByTestId('attachment-image');
    await visible(tile);
    // Sized from the image's width and height at once (1200x900 in a 280x320 box), the placeholder shown.
    expect(await tile.evaluate((el) => [el.clientWidth, el.clientHeight])).toEqual([280, 210]);
    await hasAttr(tile, 'data-state', 'placeholder');
    const placeholder = tile.getByTestId('attachment-placeholder');
    expect(await placeholder.getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    await eventually(async () => expect(await naturalWidth(bobPage, 'attachment-placeholder')).toBeGreaterThan(0));
    expect(await placeholder.isVisible()).toBe(true);

    // Then the thumbnail loads over it.
    holding = false;
    await eventually(() => expect(held.length).toBeGreaterThan(0));
    for (const r of held.splice(0)) await r.continue();
    await hasAttr(tile, 'data-state', 'loaded');
    const thumb = tile.getByTestId('attachment-thumbnail');
    expect(await thumb.getAttribute('src')).toContain('/blobs/');
    expect(await naturalWidth(bobPage, 'attachment-thumbnail')).toBeGreaterThan(0);

    // A click opens the viewer at the display size (made a moment after the upload); Esc closes it.
    await tile.click();
    const viewer = bobPage.getByTestId('viewer');
    await visible(viewer);
    await hasAttr(viewer.getByTestId('viewer-image'), 'data-rendition', 'display');
    await eventually(async () => expect(await naturalWidth(bobPage, 'viewer-image')).toBe(1200));
    await screenshot(bobPage, 'attachments-viewer');
    await bobPage.keyboard.press('Escape');
    await hidden(viewer);
    await screenshot(bobPage, 'attachments-photo');
    expect(await bobPage.getByTestId('message-actions').count()).toBe(0);

    // Ann sees her photo too, and her list the same preview.
    await hasAttr(annPage.getByTestId('attachment-image'), 'data-state', 'loaded');
    await hasText(convItem(annPage, bob.username).getByTestId('conv-preview'), '📷 Photo');
    await bobPage.unroute('**/blobs/**');
  });

  test('a PDF is a file chip that downloads; a file that is not what it claims is refused on its chip', async () => {
    const input = annPage.getByTestId('attach-input');
    await input.setInputFiles({ name: 'fake.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('MZ this is not a picture at all') });
    const bad = annPage.locator('[data-testid="pending-upload"][data-name="fake.jpg"]');
    await hasAttr(bad, 'data-state', 'error');
    await screenshot(annPage, 'attachments-refused');
    await hasText(bad.getByTestId('upload-error'), 'mismatch');
    expect(await annPage.getByTestId('send-button').isDisabled()).toBe(true);
    await bad.getByTestId('upload-remove').click();
    await hidden(bad);

    await input.setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: pdf() });
    await hasAttr(annPage.getByTestId('pending-upload'), 'data-state', 'done');
    await annPage.getByTestId('send-button').click();

    await hasText(convItem(bobPage, ann.username).getByTestId('conv-preview'), '📎 report.pdf');
    const chip = bobPage.getByTestId('attachment-file');
    await visible(chip);
    await screenshot(bobPage, 'attachments-file');
    await hasText(chip.getByTestId('attachment-file-name'), 'report.pdf');
    await hasText(chip.getByTestId('attachment-file-size'), `${pdf().length} B`);
    const [download] = await Promise.all([bobPage.waitForEvent('download'), chip.click()]);
    expect(download.suggestedFilename()).toBe('report.pdf');
    expect(await readFile(await download.path())).toEqual(pdf());
  });

  test('images pasted and dropped go out together, as two photos', async () => {
    const png = async (color: string) => (await sharp({ create: { width: 400, height: 300, channels: 3, background: color } }).png().toBuffer()).toString('base64');
    const files = [await png('#e4572e'), await png('#29335c')];
    // A paste in the message box, then a drop on the conversation: the browser's own events, carrying files.
    await annPage.evaluate(([pasted, dropped]) => {
      const file = (b64: string, name: string) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'image/png' });
      const paste = new DataTransfer();
      paste.items.add(file(pasted, 'image.png'));
      document.querySelector('[data-testid="composer-input"]')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }));
      const drop = new DataTransfer();
      drop.items.add(file(dropped, 'dropped.png'));
      const chat = document.querySelector('[data-testid="message-list"]')!;
      chat.dispatchEvent(new DragEvent('dragover', { dataTransfer: drop, bubbles: true, cancelable: true }));
      chat.dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
    }, files);
    const chips = annPage.getByTestId('pending-upload');
    await eventually(async () => expect(await chips.count()).toBe(2));
    for (const name of ['image.png', 'dropped.png']) await hasAttr(annPage.locator(`[data-testid="pending-upload"][data-name="${name}"]`), 'data-state', 'done');
    await hidden(annPage.getByTestId('drop-hint'));
    await annPage.getByTestId('composer-input').press('Enter');
    await hidden(chips);

    await hasText(convItem(bobPage, ann.username).getByTestId('conv-preview'), '📷 2 photos');
    const last = bobPage.getByTestId('message').last();
    await eventually(async () => expect(await last.getByTestId('attachment-image').count()).toBe(2));
    for (const tile of await last.getByTestId('attachment-image').all()) await hasAttr(tile, 'data-state', 'loaded');
  });
});

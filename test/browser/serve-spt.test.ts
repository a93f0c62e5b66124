// The pose editor's SPT panel as a person uses it, in Debian's chromium: with an SPT model the predicted parsing map
// shows with its legend; a painted stroke (mouse, then keyboard) changes the map and its rendering; a garment swap
// gives an image; another family hides the panel; an upload (no parsing map) is refused in the page; phone width fits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium, type Page } from 'playwright-core';
import { createServer } from '../../src/serve/server.js';
import { makeServeFixture } from '../unit/serve/serve-fixture.js';

const CHROMIUM = '/usr/bin/chromium';

interface Stats { parsingShown: number; rendered: number; swapped: number; inFlight: number }
const stats = (page: Page): Promise<Stats> => page.evaluate(() => (window as unknown as { reposerStats: Stats }).reposerStats);
const waitStat = (page: Page, key: keyof Stats, above: number): Promise<unknown> =>
  page.waitForFunction(([k, n]) => (window as unknown as { reposerStats: Record<string, number> }).reposerStats[k as string]! > (n as number), [key, above] as const);

/** What an element shows, as a PNG data URL: a canvas's own pixels, an image's through a canvas (CSP keeps fetch() off blob URLs). */
const pixelsOf = (page: Page, id: string): Promise<string> => page.evaluate((sel) => {
  const el = document.getElementById(sel) as HTMLImageElement | HTMLCanvasElement;
  if (el instanceof HTMLCanvasElement) return el.toDataURL('image/png');
  const canvas = document.createElement('canvas');
  canvas.width = el.naturalWidth;
  canvas.height = el.naturalHeight;
  (canvas.getContext('2d') as CanvasRenderingContext2D).drawImage(el, 0, 0);
  return canvas.toDataURL('image/png');
}, id);

test('the SPT panel in chromium: parsing map and legend, painting and rendering, garment swap, uploads refused, phone', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (scripts/setup.sh installs Debian's chromium)`,
  timeout: 120_000,
}, async () => {
  const fx = await makeServeFixture(1, { spt: true });
  const app = await createServer({ checkpoint: fx.runs, examples: 2 });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (msg) => {
      // The upload below is refused by SPT with 422, which chromium reports as a failed resource: that one is expected.
      if (msg.type() === 'error' && !/status of 422/.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('#model-a').inputValue(), 'spt', 'SPT sorts first and is chosen');
    await waitStat(page, 'parsingShown', 0);
    assert.equal(await page.locator('#spt-section').isVisible(), true);
    const legend = await page.locator('#paint-labels label').allTextContents();
    assert.deepEqual(legend.map((t) => t.trim()), ['0 background', '1 face', '2 hair', '3 upper clothes', '4 pants', '5 skirt', '6 left arm', '7 right arm', '8 left leg', '9 right leg']);
    assert.match(await page.locator('#spt-note').textContent() ?? '', /spt renders through parsing maps/);

    // Render the map as predicted, then paint a stroke of a garment across it and render again. The garment is one
    // the map does not show where the stroke starts (a model trained two steps may predict one label everywhere).
    await page.click('#render');
    await waitStat(page, 'rendered', 0);
    const unedited = await pixelsOf(page, 'render-img');
    const mapBefore = await pixelsOf(page, 'parsing-canvas');
    const paint = await page.evaluate(() => {
      const c = document.getElementById('parsing-canvas') as HTMLCanvasElement;
      const [r, g, b] = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(Math.floor(c.width * 0.2), Math.floor(c.height * 0.7), 1, 1).data;
      const hex = `#${[r, g, b].map((v) => (v as number).toString(16).padStart(2, '0')).join('')}`;
      const chips = [...document.querySelectorAll<HTMLInputElement>('#paint-labels input')].map((i) => ({
        value: i.value, color: getComputedStyle(i.nextElementSibling as Element).backgroundColor,
      }));
      const rgb = `rgb(${r}, ${g}, ${b})`;
      return { under: hex, value: ['3', '5', '4'].find((v) => chips.find((x) => x.value === v)?.color !== rgb) as string };
    });
    await page.check(`#paint-labels input[value="${paint.value}"]`);
    await page.fill('#brush', '24');
    await page.locator('#parsing-canvas').scrollIntoViewIfNeeded();
    const box = await page.locator('#parsing-canvas').boundingBox();
    assert.ok(box, 'the parsing map is drawn');
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height * 0.7);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + box.width * (0.2 + 0.06 * i), box.y + box.height * 0.7);
    await page.mouse.up();
    const painted = await pixelsOf(page, 'parsing-canvas');
    assert.notEqual(painted, mapBefore, 'the stroke shows on the map');
    await page.click('#render');
    await waitStat(page, 'rendered', 1);
    assert.notEqual(await pixelsOf(page, 'render-img'), unedited, 'the repainted map renders another image');

    // Keyboard: focus the map, move the brush, paint with Space; Ctrl+Z takes the dab back.
    await page.check('#paint-labels input[value="0"]');
    await page.focus('#parsing-canvas');
    await page.keyboard.press('Shift+ArrowUp');
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowLeft');
    const dabbed = await page.evaluate(() => {
      const c = document.getElementById('parsing-canvas') as HTMLCanvasElement;
      return c.getAttribute('aria-label');
    });
    assert.match(dabbed ?? '', /brush at x \d+, y \d+; Space paints background/);
    await page.keyboard.press('Control+z');
    await page.locator('#paint-labels input[value="0"]').focus();
    assert.equal(await pixelsOf(page, 'parsing-canvas'), painted, 'undo takes the keyboard dab back');

    // Garment swap: the other example's upper clothes on the source.
    await page.selectOption('#garment', '3');
    await page.click('#swap');
    await waitStat(page, 'swapped', 0);
    assert.equal(await page.locator('#swap-figure').isVisible(), true);
    const size = await page.evaluate(() => {
      const img = document.getElementById('swap-img') as HTMLImageElement;
      return [img.naturalWidth, img.naturalHeight];
    });
    const example = ((await (await fetch(`${base}/api/examples`)).json()) as { width: number; height: number }[])[0]!;
    assert.deepEqual(size, [example.width, example.height]);
    assert.match(await page.locator('#swap-caption').textContent() ?? '', /wearing the upper clothes of example-2\.png/);

    // Another family hides the panel; SPT brings it back.
    await page.selectOption('#model-a', 'tiny-a');
    assert.equal(await page.locator('#spt-section').isVisible(), false);
    const shown = (await stats(page)).parsingShown;
    await page.selectOption('#model-a', 'spt');
    await waitStat(page, 'parsingShown', shown);

    // An upload has no parsing map: SPT's refusal shows in the banner and the panel says what to do.
    mkdirSync(join(fx.root, 'upload'));
    const photo = join(fx.root, 'upload', 'me.png');
    await sharp({ create: { width: 64, height: 128, channels: 3, background: '#8899aa' } }).png().toFile(photo);
    await page.setInputFiles('#upload', photo);
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.locator('#error-text').textContent() ?? '', /has no parsing map .*choose a synthetic example/);
    assert.match(await page.locator('#spt-note').textContent() ?? '', /me\.png has no parsing map .*choose a synthetic example/);
    assert.equal(await page.locator('#render').isDisabled(), true);
    await page.click('#error-close');
    const before = (await stats(page)).parsingShown;
    await page.selectOption('#examples', { index: 0 });
    await waitStat(page, 'parsingShown', before);
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: '/tmp/reposer-serve-spt.png', fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone`);
    assert.equal(await page.locator('#render').isVisible(), true);
    await page.screenshot({ path: '/tmp/reposer-serve-spt-phone.png', fullPage: true });

    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await app.close();
    rmSync(fx.root, { recursive: true, force: true });
  }
});

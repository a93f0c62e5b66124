// The pose editor as a person uses it, in Debian's chromium: load the page, upload a photo, drag a wrist and get a new
// image, with the generation requests bounded while dragging; keyboard moves and undo, the pose library, side-by-side
// models, an error shown in the page, phone width, and an animation downloaded with its frames counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { chromium, type Page, type Route } from 'playwright-core';
import { createServer } from '../../src/serve/server.js';
import { makeServeFixture } from '../unit/serve/serve-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/reposer-serve.png';
// REPOSER_UPDATE_SCREENSHOT=1 also writes the README's picture.
const README_SCREENSHOT = join(import.meta.dirname, '..', '..', '..', 'docs', 'images', 'serve.png');
// Each generation answer is held back this long, so that a drag outruns the server as it would with a big model.
const SERVER_DELAY_MS = 150;
const DRAG_STEPS = 40;

interface Stats { issued: Record<string, number>; generateRequests: number; maxInFlight: number; shown: number; lastLatencyMs: number | null; latencies: { model: string; ms: number }[] }
const stats = (page: Page): Promise<Stats> => page.evaluate(() => (window as unknown as { reposerStats: Stats }).reposerStats);

/** The shown result's pixels, read back through a canvas (the page's CSP keeps fetch() off blob URLs). */
const resultBytes = (page: Page, id: string): Promise<string> => page.evaluate((sel) => {
  const img = document.getElementById(sel) as HTMLImageElement;
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.drawImage(img, 0, 0);
  return canvas.toDataURL('image/png');
}, id);

/** Waits until model A shows the image of the newest pose asked of it, with nothing in flight. */
const settled = (page: Page): Promise<unknown> => page.waitForFunction(() => {
  const st = (window as unknown as { reposerStats: Stats & { inFlight: number } }).reposerStats;
  return st.inFlight === 0 && document.getElementById('result-a')?.dataset.seq === String(st.issued.a);
});

const jointLabel = (page: Page, editor: string, joint: number): Promise<string | null> =>
  page.locator(`#${editor} circle[data-joint="${joint}"]`).getAttribute('aria-label');

test('the pose editor in chromium: upload, drag, bounded requests, keyboard, library, compare, errors, phone, animation', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (scripts/setup.sh installs Debian's chromium)`,
  timeout: 180_000,
}, async (t) => {
  const fx = await makeServeFixture();
  const app = await createServer({ checkpoint: fx.runs, data: fx.data });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const problems: string[] = [];
    page.on('console', (msg) => {
      // The refused upload below answers 415, which chromium reports as a failed resource: that one is expected.
      if (msg.type() === 'error' && !/status of 415/.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    await page.route('**/api/generate', async (route) => {
      await new Promise((r) => setTimeout(r, SERVER_DELAY_MS));
      await route.continue();
    });

    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('#model-a option').count(), 2);
    assert.ok(await page.locator('#examples option').count() >= 1);

    // Upload a dataset image (scaled 4x) under its own name: its pose comes from the annotation.
    const name = readdirSync(join(fx.data, 'test')).sort()[0] as string;
    const photo = join(fx.root, 'upload', name);
    mkdirSync(join(fx.root, 'upload'));
    await sharp(join(fx.data, 'test', name)).resize(64, 128, { kernel: 'nearest' }).toFile(photo);
    // Wait for the upload's own generation to be asked for: the example's first image may still be on its way, and
    // would otherwise pass for the upload's.
    const before = (await stats(page)).issued.a ?? 0;
    await page.setInputFiles('#upload', photo);
    await page.waitForFunction((n) => ((window as unknown as { reposerStats: Stats }).reposerStats.issued.a ?? 0) > n, before);
    await settled(page);
    assert.match(await page.locator('#source-note').textContent() ?? '', /pose from the dataset's annotation/);
    const first = await resultBytes(page, 'result-a');

    // Drag the right wrist; the page must send far fewer requests than pointer moves, one at a time.
    const wrist = page.locator('#target-skeleton circle[data-joint="4"]');
    const box = await wrist.boundingBox();
    assert.ok(box, 'the right wrist is drawn');
    const s0 = await stats(page);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    for (let i = 1; i <= DRAG_STEPS; i++) {
      await page.mouse.move(box.x + box.width / 2 + i * 1.5, box.y + box.height / 2 - i * 4);
      await new Promise((r) => setTimeout(r, 10));
    }
    await page.mouse.up();
    await page.waitForFunction((n) => {
      const st = (window as unknown as { reposerStats: Stats }).reposerStats;
      return st.latencies.length > n;
    }, s0.latencies.length);
    await settled(page);
    const s1 = await stats(page);
    const sent = s1.generateRequests - s0.generateRequests;
    t.diagnostic(`drag of ${DRAG_STEPS} moves: ${sent} generation requests, max ${s1.maxInFlight} in flight, ` +
      `${s1.lastLatencyMs} ms from the end of the drag to the new image (with ${SERVER_DELAY_MS} ms added per answer)`);
    assert.ok(sent >= 1 && sent <= DRAG_STEPS / 4, `${sent} requests for ${DRAG_STEPS} moves`);
    assert.equal(s1.maxInFlight, 1, 'one request in flight at a time');
    const dragged = await resultBytes(page, 'result-a');
    assert.notEqual(dragged, first, 'the new pose gave a new image');
    const label = await jointLabel(page, 'target-skeleton', 4) ?? '';
    assert.equal(await page.locator('#result-a').getAttribute('data-seq'), String(s1.issued.a), 'the image shown is of the newest pose');

    // Keyboard: arrows move the focused joint one pixel (Shift: ten); Ctrl+Z undoes.
    await wrist.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Shift+ArrowDown');
    const moved = await jointLabel(page, 'target-skeleton', 4) ?? '';
    const xy = (l: string): number[] => (/x (-?\d+), y (-?\d+)/.exec(l) ?? []).slice(1).map(Number);
    assert.deepEqual(xy(moved), [xy(label)[0]! + 1, xy(label)[1]! + 10]);
    await page.keyboard.press('Control+z');
    await page.keyboard.press('Control+z');
    assert.deepEqual(xy(await jointLabel(page, 'target-skeleton', 4) ?? ''), xy(label));
    const focusRing = await page.evaluate(() => getComputedStyle(document.activeElement as Element).stroke);
    assert.ok(focusRing && focusRing !== 'none', 'the focused joint shows');

    // The library: a named pose replaces the target; Reset brings back the source pose; Mirror swaps sides.
    await page.selectOption('#library', { label: 'arms up' });
    const up = xy(await jointLabel(page, 'target-skeleton', 4) ?? '');
    const neck = xy(await jointLabel(page, 'target-skeleton', 1) ?? '');
    assert.ok(up[1]! < neck[1]!, 'arms up: the wrist is above the neck');
    await page.click('#mirror');
    const mirrored = xy(await jointLabel(page, 'target-skeleton', 7) ?? '');
    assert.equal(mirrored[0], 64 - 1 - up[0]!, "the right wrist's mirror image is the left wrist");
    await page.click('#reset');
    assert.deepEqual(xy(await jointLabel(page, 'target-skeleton', 4) ?? ''), xy(await jointLabel(page, 'source-skeleton', 4) ?? ''));

    // A slow model (as its answers say) updates at the end of a drag only: one request for the whole gesture.
    const slow = async (route: Route): Promise<void> => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'x-generation-ms': '5000' } });
    };
    await page.route('**/api/generate', slow);
    await page.click('#reset');
    await settled(page);
    const s2 = await stats(page);
    const hip = await page.locator('#target-skeleton circle[data-joint="8"]').boundingBox();
    assert.ok(hip, 'the right hip is drawn');
    await page.mouse.move(hip.x + hip.width / 2, hip.y + hip.height / 2);
    await page.mouse.down();
    for (let i = 1; i <= 20; i++) await page.mouse.move(hip.x + hip.width / 2 - i, hip.y + hip.height / 2);
    await page.mouse.up();
    await settled(page);
    assert.equal((await stats(page)).generateRequests - s2.generateRequests, 1, 'a slow model gets the final pose only');
    await page.unroute('**/api/generate', slow);

    // Side by side: the second model's image appears next to the first.
    await page.selectOption('#model-b', 'tiny-b');
    await page.waitForFunction(() => Boolean((document.getElementById('result-b') as HTMLImageElement).dataset.seq));
    assert.equal(await page.locator('#figure-b').isVisible(), true);
    assert.notEqual(await resultBytes(page, 'result-b'), await resultBytes(page, 'result-a'));

    // An animation from two keyframes with 3 frames between: 5 frames, downloaded.
    await page.click('#add-keyframe');
    await page.selectOption('#library', { label: 't-pose' });
    await page.click('#add-keyframe');
    await page.fill('#between', '3');
    await page.click('#animate');
    await page.waitForSelector('#download[href^="blob:"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const saved = join(fx.root, 'animation.gif');
    await download.saveAs(saved);
    assert.equal(download.suggestedFilename(), 'reposer-tiny-a.gif');
    assert.equal((await sharp(saved, { animated: true }).metadata()).pages, 5);

    // An upload that is not an image: the reason shows in the page.
    const bogus = join(fx.root, 'upload', 'notes.png');
    writeFileSync(bogus, 'not a picture');
    await page.setInputFiles('#upload', bogus);
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.locator('#error-text').textContent() ?? '', /not an image/);
    await page.click('#error-close');

    await page.selectOption('#examples', { index: 0 });
    await page.waitForFunction(() => (document.getElementById('source-note')?.textContent ?? '').includes('example'));
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    if (process.env.REPOSER_UPDATE_SCREENSHOT === '1') copyFileSync(SCREENSHOT, README_SCREENSHOT);

    // Phone width: nothing wider than the screen, the controls still there.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone`);
    assert.equal(await page.locator('#upload').isVisible(), true);
    await page.screenshot({ path: '/tmp/reposer-serve-phone.png', fullPage: true });

    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await app.close();
    rmSync(fx.root, { recursive: true, force: true });
  }
});

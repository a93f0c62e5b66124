// The report as a reader sees it: opened from disk in Debian's chromium, it must render with no console error, no
// request leaving the file, curves that are drawn and sample grids that decode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { writeReport } from '../../src/report/index.js';
import { SAMPLE_SIZE, SAMPLE_STEPS, makeRunDir } from '../unit/report/run-dir-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
// A reviewer looks at this after a run; the report test leaves it behind on purpose.
const SCREENSHOT = '/tmp/reposer-report.png';
// G_L1, G_GAN, G_perceptual, D_PB, D_PP, two learning rates, dataMs, stepMs.
const SERIES = 9;

test('the report renders in chromium: no errors, no requests, curves drawn, images decoded', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (scripts/setup.sh installs Debian's chromium)`,
  timeout: 120_000,
}, async () => {
  const dir = await makeRunDir();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  try {
    const url = pathToFileURL(writeReport(dir)).href;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    const requested: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
    page.on('request', (req) => requested.push(req.url()));
    const response = await page.goto(url, { waitUntil: 'load' });
    assert.ok(response?.ok(), `loading ${url}`);

    const curves = await page.$$eval('path.series', (paths) => paths.map((p) => {
      const box = (p as SVGGraphicsElement).getBBox();
      return { name: p.getAttribute('data-series'), points: Number(p.getAttribute('data-points')), width: box.width, height: box.height };
    }));
    assert.equal(curves.length, SERIES);
    for (const c of curves) assert.ok(c.points > 1 && c.width > 0, `${c.name}: ${c.points} points span ${c.width} px`);
    assert.ok(curves.some((c) => c.height > 0), 'the curves that vary span some height');

    const images = await page.$$eval('#samples img', (imgs) => imgs.map((i) => {
      const img = i as HTMLImageElement;
      return { complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, shownWidth: img.width };
    }));
    assert.equal(images.length, SAMPLE_STEPS.length);
    for (const img of images) {
      assert.ok(img.complete, 'image loaded');
      assert.deepEqual([img.naturalWidth, img.naturalHeight], [SAMPLE_SIZE.width, SAMPLE_SIZE.height], 'image decoded');
      assert.ok(img.shownWidth >= 4 * SAMPLE_SIZE.width, 'small grids are scaled up to be readable');
    }
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    assert.deepEqual(problems, []);
    assert.deepEqual(requested.filter((u) => !u.startsWith('data:')), [url], 'the page is the only thing fetched');
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

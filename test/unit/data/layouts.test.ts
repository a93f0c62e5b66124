// Layout detection and reading on the real material: Market (../shared/data/market as it is), DeepFashion in
// Deformable GAN's 256x256 frame and in PATN's 256x176 frame (temporary copies of real images under real names).
// Then detection's errors on planted splits: a corrupt first image, a malformed synth.json, no way to tell the frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { openDataset, findDatasetFiles } from '../../../src/data/layouts.js';
import { checkDataset } from '../../../src/data/check.js';
import { J, isVisible, jointX } from '../../../src/pose/skeleton.js';
import { NO_SHARED, SHARED } from './shared-data.js';

test('the real Market folder opens as the market layout with the README\'s counts', { skip: NO_SHARED }, async () => {
  const ds = await openDataset(join(SHARED, 'market'), { split: 'test' });
  assert.equal(ds.layout, 'market');
  assert.deepEqual(ds.frame, [128, 64]);
  assert.equal(ds.annotations.size, 19732);
  assert.equal(ds.pairs.length, 12000);
  assert.ok(!ds.pairsGenerated);
  assert.ok(ds.imageDir?.endsWith('images'));
  const train = await openDataset(join(SHARED, 'market'), { split: 'train' });
  assert.equal(train.annotations.size, 12936);
  assert.ok(train.pairsGenerated, 'no train pairs file: pairs are made from the annotations');
  assert.ok(train.pairs.length > 0);
  assert.equal(findDatasetFiles(join(SHARED, 'market'), 'test').pairsFile, join(SHARED, 'market', 'market-pairs-test.csv'));
});

function fashionRows(n: number): string[] {
  const lines = readFileSync(join(SHARED, 'fashion/fasion-annotation-test.csv'), 'utf8').split('\n');
  return lines.slice(0, n + 1);
}

test('DeepFashion: 256x256 (Deformable GAN) and PATN\'s 256x176 with x - 40', { skip: NO_SHARED }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-fashion-'));
  try {
    const rows = fashionRows(4);
    const names = rows.slice(1).map((l) => l.slice(0, l.indexOf(':')));
    // 256x256: SPT's DeepFashion samples under real annotation names.
    const wide = join(dir, 'df256');
    mkdirSync(join(wide, 'test'), { recursive: true });
    names.forEach((n, i) => copyFileSync(join(SHARED, 'spt-samples/images', `${i + 1 > 3 ? 3 : i + 1}_A.jpg`), join(wide, 'test', n)));
    writeFileSync(join(wide, 'fasion-annotation-test.csv'), `${rows.join('\n')}\n`);
    const a = await openDataset(wide, { split: 'test' });
    assert.equal(a.layout, 'deepfashion-256x256');
    assert.deepEqual(a.frame, [256, 256]);
    assert.equal(a.identity, 'deepfashion');
    assert.deepEqual((await checkDataset(wide, { splits: ['test'] })).problems, []);

    // 256x176: PATN's images; the 256x256 CSV needs x - 40.
    const narrow = join(dir, 'df176');
    mkdirSync(join(narrow, 'test'), { recursive: true });
    names.forEach((n, i) => copyFileSync(join(SHARED, `patn-samples/women${i + 1}.jpg`), join(narrow, 'test', n)));
    writeFileSync(join(narrow, 'fasion-annotation-test.csv'), `${rows.join('\n')}\n`);
    const b = await openDataset(narrow, { split: 'test', shiftX: -40 });
    assert.equal(b.layout, 'deepfashion-256x176');
    assert.deepEqual(b.frame, [256, 176]);
    const first = a.annotations.get(names[0]!)!;
    const shifted = b.annotations.get(names[0]!)!;
    assert.equal(jointX(shifted.pose, J.neck), jointX(first.pose, J.neck) - 40);
    for (const r of b.annotations.values()) for (let j = 0; j < 18; j++) if (isVisible(r.pose, j)) assert.ok(jointX(r.pose, j) <= 175);
    // Without the shift, check points at the cause.
    const unshifted = await checkDataset(narrow, { splits: ['test'] });
    assert.ok(unshifted.problems.every((p) => /outside the 256x176 frame.*x - 40/.test(p.message)), unshifted.problems.map((p) => p.message).join('\n'));
    assert.ok(unshifted.problems.length > 0);
    assert.deepEqual((await checkDataset(narrow, { splits: ['test'], shiftX: -40 })).problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A split that auto-detection must read: DIR/train/ with `images` (name -> bytes) and a Market-style annotation CSV. */
function plantDataset(images: Record<string, Buffer>, annotated: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-layout-'));
  mkdirSync(join(dir, 'train'));
  for (const [name, bytes] of Object.entries(images)) writeFileSync(join(dir, 'train', name), bytes);
  const row = (n: string): string => `${n}: [${Array(18).fill(20).join(', ')}]: [${Array(18).fill(10).join(', ')}]`;
  writeFileSync(join(dir, 'market-annotation-train.csv'), `${['name:keypoints_y:keypoints_x', ...annotated.map(row)].join('\n')}\n`);
  return dir;
}

const jpeg = (height: number, width: number): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: { r: 90, g: 40, b: 10 } } }).jpeg().toBuffer();

async function withDataset(images: Record<string, Buffer>, annotated: string[], fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = plantDataset(images, annotated);
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a corrupt first image is an error naming it and the cause, not a guessed Market frame', async () => {
  const good = await jpeg(128, 64);
  await withDataset({ '0001_a.jpg': Buffer.from('this is not a jpeg'), '0001_b.jpg': good }, ['0001_a.jpg', '0001_b.jpg'], async (dir) => {
    await assert.rejects(openDataset(dir), (err: Error) => {
      assert.match(err.message, /cannot read image .*train\/0001_a\.jpg to tell the frame of /);
      assert.match(err.message, /: Input file contains unsupported image format;/, 'the cause, as sharp gives it');
      assert.match(err.message, /pass --layout \(market, deepfashion-256x176, deepfashion-256x256, folder\) or --frame HxW/);
      return true;
    });
    // Either remedy the message names works, without decoding the corrupt file.
    const byLayout = await openDataset(dir, { layout: 'market' });
    assert.deepEqual([byLayout.layout, byLayout.frame], ['market', [128, 64]]);
    const byFrame = await openDataset(dir, { frame: [128, 64] });
    assert.deepEqual([byFrame.layout, byFrame.frame], ['market', [128, 64]]);
    // Layout 'folder' reads its frame from the first image: the same error, pointing at --frame.
    await assert.rejects(openDataset(dir, { layout: 'folder' }), /cannot read image .*0001_a\.jpg to tell the frame of layout 'folder': .*pass --frame HxW/);
  });
});

test('a malformed synth.json is an error naming it and the cause', async () => {
  const good = await jpeg(128, 64);
  await withDataset({ '0001_a.jpg': good }, ['0001_a.jpg'], async (dir) => {
    const manifest = join(dir, 'synth.json');
    writeFileSync(manifest, '{"height": 128, "width": ');
    await assert.rejects(openDataset(dir), (err: Error) => {
      assert.ok(err.message.startsWith(`cannot read ${manifest}, which gives the dataset's frame: `), err.message);
      assert.match(err.message, /: Unexpected end of JSON input;/, 'the cause, as JSON.parse gives it');
      assert.match(err.message, /pass --layout .* or --frame HxW/);
      return true;
    });
    writeFileSync(manifest, JSON.stringify({ generator: 'reposer data synth', size: '128x64' }));
    await assert.rejects(openDataset(dir), new RegExp(`${manifest} gives no frame: expected positive integer "height" and "width".*got height undefined, width undefined.*--frame HxW`));
    writeFileSync(manifest, JSON.stringify({ height: 128, width: 0 }));
    await assert.rejects(openDataset(dir), /gives no frame: .*got height 128, width 0/);
    // Either remedy the message names works without reading it.
    const byLayout = await openDataset(dir, { layout: 'market' });
    assert.deepEqual([byLayout.layout, byLayout.frame], ['market', [128, 64]]);
    const byFrame = await openDataset(dir, { frame: [128, 64] });
    assert.deepEqual([byFrame.layout, byFrame.frame], ['market', [128, 64]]);
  });
});

test('a split with no synth.json and no image is an error saying how to give the frame', async () => {
  await withDataset({}, ['0001_a.jpg'], async (dir) => {
    await assert.rejects(openDataset(dir), new RegExp(`cannot tell the frame of ${dir}: no synth.json and no image in ${join(dir, 'train')}; pass --layout .* or --frame HxW`));
    const given = await openDataset(dir, { frame: [256, 128] });
    assert.deepEqual([given.layout, given.frame], ['folder', [256, 128]]);
    await assert.rejects(openDataset(dir, { layout: 'folder' }), /layout 'folder' takes its frame from the images, but .* has none; pass --frame HxW/);
  });
});

test('detection still finds market, folder and synth.json frames', async () => {
  await withDataset({ '0001_a.jpg': await jpeg(128, 64) }, ['0001_a.jpg'], async (dir) => {
    const ds = await openDataset(dir);
    assert.deepEqual([ds.layout, ds.frame, ds.identity], ['market', [128, 64], 'market']);
  });
  await withDataset({ '0001_a.jpg': await jpeg(96, 48) }, ['0001_a.jpg'], async (dir) => {
    const ds = await openDataset(dir);
    assert.deepEqual([ds.layout, ds.frame], ['folder', [96, 48]]);
    // A synth.json (as 'reposer data synth' writes it) settles the frame before any image is read.
    writeFileSync(join(dir, 'synth.json'), JSON.stringify({ generator: 'reposer data synth', height: 128, width: 64 }));
    writeFileSync(join(dir, 'train', '0000_corrupt.jpg'), 'not a jpeg');
    const synth = await openDataset(dir);
    assert.deepEqual([synth.layout, synth.frame], ['market', [128, 64]]);
  });
});

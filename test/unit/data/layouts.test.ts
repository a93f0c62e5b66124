// Layout detection and reading on the real material: Market (../shared/data/market as it is), DeepFashion in
// Deformable GAN's 256x256 frame and in PATN's 256x176 frame (temporary copies of real images under real names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

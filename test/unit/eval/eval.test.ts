// Fast checks of the evaluation building blocks: window sizes, the protocol table, name parsing, the Inception score's
// bounds and that the metrics leave no live tensors behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import {
  PROTOCOLS, frechetDistance, gaussianStats, getProtocol, inceptionScore, listPredictions, resolveMetrics, ssim, windowTaps,
} from '../../../src/eval/index.js';

test("windowTaps: skimage's Gaussian radius int(3.5 sigma + 0.5), normalised; uniform windows must be odd", () => {
  assert.equal(windowTaps({ kind: 'gaussian', sigma: 1.5 }).length, 11);
  assert.equal(windowTaps({ kind: 'gaussian', sigma: 1.2 }).length, 9);
  const sum = windowTaps({ kind: 'gaussian', sigma: 1.5 }).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-15);
  assert.equal(windowTaps({ kind: 'uniform', size: 51 }).length, 51);
  assert.throws(() => windowTaps({ kind: 'uniform', size: 50 }), /odd positive size, got 50/);
});

test('every protocol names its source, and its defaults are among its metrics', () => {
  for (const p of Object.values(PROTOCOLS)) {
    assert.ok(p.source.includes('/'), `${p.name}: source names the official repository`);
    assert.deepEqual(resolveMetrics(p, undefined), p.defaults);
  }
  assert.throws(() => resolveMetrics(getProtocol('cfld'), ['l1']), /metric 'l1' is not part of the 'cfld' protocol; its metrics are ssim, ssim_256, fid, lpips/);
  assert.throws(() => resolveMetrics(getProtocol('patn'), []), /no metric asked for/);
});

test('listPredictions parses <from>___<to> names and names a file that does not follow them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reposer-eval-names-'));
  try {
    writeFileSync(join(dir, 'a.jpg___b.jpg.png'), '');
    writeFileSync(join(dir, 'notes.txt'), '');
    assert.deepEqual(listPredictions(dir).map((p) => [p.from, p.to]), [['a.jpg', 'b.jpg']]);
    writeFileSync(join(dir, 'c.jpg_d.jpg.png'), '');
    assert.throws(() => listPredictions(dir), /c\.jpg_d\.jpg\.png is not named <from>___<to>\.png/);
    assert.throws(() => listPredictions(join(dir, 'absent')), /cannot be read .*pass the folder the generator wrote/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('inceptionScore: 1 when every image gets the same distribution, the class count when each split is uniform over certain classes', () => {
  torch.scope(() => {
    assert.ok(Math.abs(inceptionScore(torch.zeros([20, 5]), 10).mean - 1) < 1e-12);
    const confident = torch.eye(4, null, 'float64').mul(60).repeat([5, 1]);
    assert.ok(Math.abs(inceptionScore(confident, 5).mean - 4) < 1e-6);
    assert.throws(() => inceptionScore(torch.zeros([3, 5]), 10), /3 images cannot make 10 splits/);
  });
});

test('SSIM of an image with itself is 1; the metrics leave no live tensors', () => {
  const before = torch.memory().numTensors;
  torch.scope(() => {
    const a = torch.rand([2, 3, 32, 24]).mul(255).round();
    const s = ssim(a, a, { window: { kind: 'gaussian', sigma: 1.5 }, sampleCovariance: false, dataRange: 'generated-range' });
    for (const v of s.data()) assert.ok(Math.abs(Number(v) - 1) < 1e-6);
    const stats = gaussianStats(torch.randn([20, 6], 'float64'));
    assert.ok(Math.abs(frechetDistance(stats, stats)) < 1e-9);
  });
  assert.equal(torch.memory().numTensors, before);
});

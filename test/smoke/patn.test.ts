// PATN trains a few steps on tiny synthetic pairs: losses finite, reconstruction falls, no tensor leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { getModel, type PairBatch } from '../../src/models/index.js';
import type { PATNModel } from '../../src/models/patn/model.js';
import type { PATNConfig } from '../../src/models/patn/config.js';

/** A batch whose target is a fixed function of the source, so the generator has something to learn. */
function syntheticBatch(n: number, h: number, w: number): PairBatch {
  return torch.scope(() => {
    const imageA = torch.rand([n, 3, h, w]).mul(2).sub(1);
    const imageB = imageA.flip([3]).mul(0.5);
    const poseMapA = torch.rand([n, 18, h, w]);
    const poseMapB = poseMapA.flip([3]);
    const keypointsA = torch.zeros([n, 18, 2]);
    return { imageA, imageB, poseMapA, poseMapB, keypointsA, keypointsB: keypointsA.clone() };
  });
}

test('PATN (tiny) trains: losses finite, reconstruction falls, no tensor leaks', () => {
  torch.manualSeed(0);
  const family = getModel('patn');
  const cfg = family.defaults('tiny') as PATNConfig;
  const before = torch.memory().numTensors;
  const batch = syntheticBatch(cfg.data.batchSize, 32, 16);
  const model = family.create(cfg) as PATNModel;
  const l1: number[] = [];
  const counts: number[] = [];
  try {
    for (let i = 0; i < 12; i++) {
      const losses = model.trainStep(batch);
      for (const [k, v] of Object.entries(losses)) assert.ok(Number.isFinite(v), `loss ${k} = ${v} at step ${i}`);
      for (const k of ['G_L1', 'G_perceptual', 'G_GAN_PB', 'G_GAN_PP', 'D_PB', 'D_PP']) assert.ok(k in losses, `missing loss ${k}`);
      l1.push(losses.G_L1 as number);
      counts.push(torch.memory().numTensors);
    }
    // The pools fill during the first steps (poolSize 4, batch 2): after that the count must not move.
    assert.deepEqual(new Set(counts.slice(3)).size, 1, `tensor count drifts: ${counts.join(',')}`);
    const first = (l1[0] as number) + (l1[1] as number);
    const last = (l1[10] as number) + (l1[11] as number);
    assert.ok(last < first * 0.9, `reconstruction L1 did not fall: ${l1.map((v) => v.toFixed(3)).join(', ')}`);
    const out = model.generate(batch);
    assert.deepEqual(out.shape, [2, 3, 32, 16]);
    out.dispose();
    model.endEpoch();
    model.endEpoch();
    assert.ok(model.lr < cfg.optim.lr, 'the learning rate did not decay after niter epochs');
  } finally {
    model.dispose();
    torch.dispose(batch);
  }
  assert.equal(torch.memory().numTensors, before, 'tensors leaked after dispose');
});

test('a NaN loss stops training with an error naming the loss', () => {
  const family = getModel('patn');
  const model = family.create(family.defaults('tiny'));
  const batch = syntheticBatch(2, 32, 16);
  const bad = { ...batch, imageB: torch.fullLike(batch.imageB, Number.NaN) };
  try {
    assert.throws(() => model.trainStep(bad), /patn: loss 'G_L1 \(pixel L1\)' is NaN/);
  } finally {
    model.dispose();
    torch.dispose(batch);
    bad.imageB.dispose();
  }
});

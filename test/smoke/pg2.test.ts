// PG2 trains a few steps of each stage on a tiny synthetic batch: losses stay finite, the reconstruction loss
// falls, and no tensor leaks from one step to the next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { Pg2Model, pg2Defaults } from '../../src/models/pg2/index.js';
import { pg2TinyBatch as tinyBatch } from '../helpers/poses.js';


const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test('PG2 tiny: stage 1 (G1) then stage 2 (G2 vs D) train, losses finite and falling, no leaks', () => {
  torch.manualSeed(0);
  const cfg = pg2Defaults('tiny');
  cfg.schedule.stages = [{ name: 'G1', epochs: 10, decayEpochs: 0 }, { name: 'G2', epochs: 10, decayEpochs: 0 }];
  const model = new Pg2Model(cfg);
  const batch = tinyBatch(2, [cfg.image.height, cfg.image.width]);
  try {
    const stage1: number[] = [];
    let live = 0;
    for (let i = 0; i < 10; i++) {
      assert.equal(model.stage, 1);
      const l = model.trainStep(batch);
      for (const v of Object.values(l)) assert.ok(Number.isFinite(v));
      stage1.push(l.G1 as number);
      if (i === 1) live = torch.memory().numTensors;
    }
    assert.equal(torch.memory().numTensors, live, 'stage 1 steps leave no tensors behind');
    assert.ok(mean(stage1.slice(-3)) < stage1[0]! * 0.9, `G1 loss falls: ${stage1.map((v) => v.toFixed(3)).join(' ')}`);

    const l2: number[] = [];
    for (let i = 0; i < 10; i++) {
      assert.equal(model.stage, 2);
      const l = model.trainStep(batch);
      for (const k of ['D', 'G2', 'G2_GAN', 'G2_L1', 'G2_maskL1']) assert.ok(Number.isFinite(l[k]), `${k} = ${l[k]}`);
      l2.push(l.G2_L1 as number);
      if (i === 1) live = torch.memory().numTensors;
    }
    assert.equal(torch.memory().numTensors, live, 'stage 2 steps leave no tensors behind');
    assert.ok(mean(l2.slice(-3)) < l2[0]!, `G2's L1 falls: ${l2.map((v) => v.toFixed(3)).join(' ')}`);
    assert.equal(model.step, 20);

    const out = model.generate(batch);
    assert.deepEqual(out.shape, [2, 3, 64, 32]);
    assert.ok(torch.scope(() => out.abs().max().item()) <= 1);
    out.dispose();
    assert.equal(torch.memory().numTensors, live, 'generate leaves only its result, which was disposed');
  } finally {
    model.dispose();
    torch.dispose(batch);
  }
});

test('PG2 draws the pose mask from keypointsB when the batch has none', () => {
  torch.manualSeed(1);
  const cfg = pg2Defaults('tiny');
  const model = new Pg2Model(cfg);
  const batch = tinyBatch(1, [cfg.image.height, cfg.image.width]);
  batch.maskB?.dispose();
  delete batch.maskB;
  try {
    const l = model.trainStep(batch);
    assert.ok(l.G1_maskL1! > 0 && l.G1_maskL1! < l.G1_L1!, 'the mask selects part of the image');
  } finally {
    model.dispose();
    torch.dispose(batch);
  }
});

// GFLA trains a few steps of each stage on a tiny synthetic batch (the target is the source shifted, so a flow can
// explain it): the flow stage's correctness falls, then the whole model's reconstruction objective falls, every loss
// stays finite and nothing leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { heatmaps } from '../../src/pose/index.js';
import type { PairBatch } from '../../src/models/batch.js';
import { GflaModel, gflaDefaults } from '../../src/models/gfla/index.js';
import { figureKeypoints } from '../helpers/poses.js';

/** A smooth random image and the same image moved 2 rows down and 1 column right, with two poses 3% apart. */
function shiftedPair(n: number, frame: [number, number]): PairBatch {
  const [h, w] = frame;
  return torch.scope(() => {
    const coarse = torch.randn([n, 3, h / 8, w / 8]);
    const source = torch.interpolate(coarse, { size: [h, w], mode: 'bilinear' }).tanh();
    const poses = [0, 0.03].map((offset) => figureKeypoints(n, frame, offset));
    const [keypointsA, keypointsB] = poses as [torch.Tensor, torch.Tensor];
    const poseMapA = heatmaps(keypointsA, frame);
    const poseMapB = heatmaps(keypointsB, frame);
    return { imageA: source, imageB: source.roll([2, 1], [2, 3]), keypointsA, keypointsB, poseMapA, poseMapB };
  });
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test('GFLA tiny: the flow stage lowers the correctness loss, the main stage lowers L1 + content + style, losses finite, no leaks', () => {
  torch.manualSeed(0);
  const cfg = gflaDefaults('tiny');
  cfg.schedule.stages[0] = { name: 'flow', epochs: 6, decayEpochs: 0 };
  cfg.loss.flowStopCorrectness = 0;
  // A larger rate than the official 1e-4, so that a handful of steps shows the trend.
  cfg.optim.lr = 1e-3;
  const model = new GflaModel(cfg);
  const batch = shiftedPair(2, [cfg.image.height, cfg.image.width]);
  try {
    const flow: number[] = [];
    let live = 0;
    for (let i = 0; i < 6; i++) {
      const l = model.trainStep(batch);
      assert.ok(Number.isFinite(l.correctness) && Number.isFinite(l.regularization), JSON.stringify(l));
      flow.push(l.correctness as number);
      if (i === 1) live = torch.memory().numTensors;
    }
    assert.equal(torch.memory().numTensors, live, 'flow steps leave no tensors behind');
    assert.equal(model.currentStage, 'main');
    assert.ok(mean(flow.slice(-3)) < flow[0]!, `correctness falls: ${flow.map((v) => v.toFixed(4)).join(' ')}`);
    const reconstruction: number[] = [];
    for (let i = 0; i < 6; i++) {
      const l = model.trainStep(batch);
      // The first main step creates the whole generator's and the discriminator's Adam state.
      if (i === 0) live = torch.memory().numTensors;
      for (const [k, v] of Object.entries(l)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
      // The weighted terms as logged. Style (x500) dominates the first steps and may buy its fall with some L1, so
      // the three reconstruction terms are judged together.
      reconstruction.push((l.app_gen as number) + (l.content_gen as number) + (l.style_gen as number));
    }
    assert.ok(mean(reconstruction.slice(-3)) < reconstruction[0]!, `app_gen + content_gen + style_gen falls: ${reconstruction.map((v) => v.toFixed(4)).join(' ')}`);
    assert.equal(torch.memory().numTensors, live, 'steps leave no tensors behind');
    const out = model.generate(batch);
    assert.deepEqual(out.shape, [2, 3, 64, 32]);
    out.dispose();
    assert.equal(torch.memory().numTensors, live, 'generate leaves nothing but its result');
  } finally {
    model.dispose();
    torch.dispose(batch);
  }
});

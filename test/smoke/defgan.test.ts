// Deformable GAN trains a few steps of each ablation variant on a tiny synthetic batch: G and D losses stay
// finite, the reconstruction loss (L1, or the nearest-neighbour loss for 'full') falls, and nothing leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { heatmaps } from '../../src/pose/index.js';
import type { PairBatch } from '../../src/models/batch.js';
import { DefGanModel, defganDefaults, type DefGanVariant } from '../../src/models/defgan/index.js';
import { Vgg19Features, randomVgg19StateDict } from '../../src/models/layers/vgg.js';
import { figureKeypoints } from '../helpers/poses.js';


function tinyBatch(n: number, frame: [number, number]): PairBatch {
  const [h, w] = frame;
  return torch.scope(() => {
    const imageA = torch.interpolate(torch.randn([n, 3, h / 8, w / 8]), { size: [h, w], mode: 'bilinear' }).tanh();
    const keypointsA = figureKeypoints(n, frame, 0);
    const keypointsB = figureKeypoints(n, frame, 0.03);
    return {
      imageA, imageB: imageA.roll([1], [2]), keypointsA, keypointsB,
      poseMapA: heatmaps(keypointsA, frame), poseMapB: heatmaps(keypointsB, frame),
    };
  });
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const variant of ['baseline', 'dsc', 'full'] as DefGanVariant[]) {
  test(`Deformable GAN tiny '${variant}': D and G losses finite, reconstruction falls, no leaks`, () => {
    torch.manualSeed(0);
    const cfg = { ...defganDefaults('tiny'), variant };
    let vgg: Vgg19Features | undefined;
    if (variant === 'full') {
      const state = randomVgg19StateDict('relu1_2');
      vgg = new Vgg19Features({ lastLayer: 'relu1_2' }).loadTorchvision(state);
      torch.dispose([...state.values()]);
    }
    const model = new DefGanModel(cfg, { vgg });
    const batch = tinyBatch(2, [cfg.image.height, cfg.image.width]);
    const key = variant === 'full' ? 'G_NN' : 'G_L1';
    try {
      const rec: number[] = [];
      let live = 0;
      for (let i = 0; i < 8; i++) {
        const l = model.trainStep(batch);
        for (const k of ['D', 'G', 'G_GAN', key]) assert.ok(Number.isFinite(l[k]), `${k} = ${l[k]}`);
        rec.push(l[key] as number);
        if (i === 1) live = torch.memory().numTensors;
      }
      assert.equal(torch.memory().numTensors, live, 'steps leave no tensors behind');
      assert.ok(mean(rec.slice(-3)) < rec[0]!, `${key} falls: ${rec.map((v) => v.toFixed(4)).join(' ')}`);
      const out = model.generate(batch);
      const again = model.generate(batch);
      assert.deepEqual(out.shape, [2, 3, 64, 64]);
      assert.ok(torch.scope(() => out.equal(again)), 'generate runs in eval mode: no dropout, deterministic');
      out.dispose();
      again.dispose();
      assert.equal(torch.memory().numTensors, live, 'generate leaves nothing but its result');
    } finally {
      model.dispose();
      torch.dispose(batch);
    }
  });
}

test("the registry builds and trains the tiny preset ('full', random VGG19)", async () => {
  await import('../../src/models/defgan/index.js');
  const { getModel } = await import('../../src/models/registry.js');
  const fam = getModel('defgan');
  const model = fam.create(fam.defaults('tiny'));
  const batch = tinyBatch(2, [64, 64]);
  try {
    const l = model.trainStep(batch);
    assert.ok(Number.isFinite(l.G_NN) && Number.isFinite(l.D));
  } finally {
    model.dispose();
    torch.dispose(batch);
  }
});

test("'full' without VGG weights stops naming the file and the config key", () => {
  const cfg = defganDefaults('tiny');
  cfg.loss.vgg.weights = '/nonexistent/vgg19-dcbb9e9d.pth';
  assert.throws(() => new DefGanModel(cfg), /VGG19 weights not found at '\/nonexistent\/vgg19-dcbb9e9d\.pth'.*loss\.vgg\.weights/s);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import {
  DefGanDiscriminator, DefGanGenerator, buildDefGanNetworks, defganDefaults, deformableSkip, identityAffines, nearestNeighbourLoss,
  translationAffines,
} from '../../../src/models/defgan/index.js';
import { PRESETS } from '../../../src/models/registry.js';
import { partAffines } from '../../../src/pose/index.js';

// Counted from the official Keras code (conditional_gan.py) layer by layer: the 82.08 M, 61.1 M and 2.80 M.
// The 32 (generator) and 6 (D) extra parameters over a count without norms are keras_contrib InstanceNormalization's
// scalar gamma and beta (axis=None) in each normalised block.
const OFFICIAL = { deepfashion: { g: 82_080_611, published: 82.08e6 }, market: { g: 61_109_085, published: 61.1e6 }, d: 2_803_782 };

for (const preset of ['deepfashion', 'market'] as const) {
  test(`Deformable GAN ${preset}: generator and discriminator parameter counts equal the official code's`, () => {
    const { generator: g, discriminator: d } = buildDefGanNetworks(defganDefaults(preset));
    try {
      assert.equal(g.numParameters(), OFFICIAL[preset].g);
      assert.ok(Math.abs(g.numParameters() - OFFICIAL[preset].published) / OFFICIAL[preset].published < 0.005);
      assert.equal(d.numParameters(), OFFICIAL.d);
      assert.ok(Math.abs(d.numParameters() - 2.8e6) / 2.8e6 < 0.005);
    } finally {
      g.dispose();
      d.dispose();
    }
  });
}

test("'dsc' has the same networks as 'full' (they differ in the loss); 'baseline' is one stream", () => {
  const cfg = defganDefaults('tiny');
  const [full, dsc, base] = (['full', 'dsc', 'baseline'] as const).map((variant) => new DefGanGenerator({ ...cfg.generator, variant }));
  try {
    assert.equal(dsc!.numParameters(), full!.numParameters());
    assert.notEqual(full!.encoderPose, null);
    assert.equal(base!.encoderPose, null);
    assert.deepEqual(base!.encoderApp.convIn.weight.shape, [8, 3 + 18 + 18, 3, 3]);
    assert.ok(base!.numParameters() < full!.numParameters());
  } finally {
    for (const g of [full, dsc, base]) g!.dispose();
  }
});

test('a deformable skip with identity affines and full masks reproduces the unwarped features', () => {
  torch.scope(() => {
    const f = torch.randn([2, 5, 8, 6]);
    const masks = torch.ones([2, 10, 16, 12]);
    for (const mode of ['nearest', 'bilinear'] as const) {
      const out = deformableSkip(f, identityAffines(2), masks, mode);
      assert.ok(out.sub(f).abs().max().item() < 1e-6, `${mode}: identity warp changes nothing`);
    }
  });
});

test('a deformable skip with a known translation shifts the features by it (zeros where nothing maps)', () => {
  torch.scope(() => {
    const [h, w] = [8, 6];
    const f = torch.randn([1, 3, h, w]);
    const masks = torch.ones([1, 10, h, w]);
    for (const mode of ['nearest', 'bilinear'] as const) {
      const out = deformableSkip(f, translationAffines(1, h, w, 2, 1), masks, mode);
      const want = torch.pad(f, [1, 0, 2, 0]).narrow(2, 0, h).narrow(3, 0, w);
      assert.ok(out.sub(want).abs().max().item() < 1e-5, `${mode}: down 2, right 1`);
    }
    // The same normalised theta moves a half-size map by half the pixels.
    const half = torch.randn([1, 3, h / 2, w / 2]);
    const out = deformableSkip(half, translationAffines(1, h, w, 2, 2), masks, 'nearest');
    const want = torch.pad(half, [1, 0, 1, 0]).narrow(2, 0, h / 2).narrow(3, 0, w / 2);
    assert.ok(out.sub(want).abs().max().item() < 1e-5, 'resolution-free theta');
  });
});

test('masks select parts and the max aggregates them', () => {
  torch.scope(() => {
    const f = torch.ones([1, 1, 4, 4]);
    const theta = identityAffines(1, 2);
    const masks = torch.zeros([1, 2, 4, 4]);
    masks.narrow(2, 0, 2).select(1, 0).fill_(1); // part 0: top half
    masks.narrow(3, 0, 1).select(1, 1).fill_(1); // part 1: left column
    const out = deformableSkip(f, theta, masks).view([4, 4]).toArray() as number[][];
    assert.deepEqual(out, [[1, 1, 1, 1], [1, 1, 1, 1], [1, 0, 0, 0], [1, 0, 0, 0]]);
  });
});

test("the skip agrees with src/pose's partAffines convention: same pose gives the identity on every present part", () => {
  torch.scope(() => {
    const kp = torch.tensor([
      [20, 16], [28, 16], [28, 10], [40, 8], [52, 8], [28, 22], [40, 24], [52, 24],
      [50, 12], [64, 12], [78, 12], [50, 20], [64, 20], [78, 20], [18, 14], [18, 18], [19, 12], [19, 20],
    ], [1, 18, 2]);
    const parts = partAffines(kp, kp, [96, 32]);
    // Positive features: where parts overlap nothing changes, and elsewhere the zeros of the other parts' masks
    // lose the max (with negative features they would win: max aggregation, as the official layer).
    const f = torch.rand([1, 4, 96, 32]).add(0.1);
    const out = deformableSkip(f, parts.theta, parts.masks, 'bilinear');
    const inside = parts.masks.amax([1], true);
    assert.ok(inside.sum().item() > 100, 'the masks cover the figure');
    assert.ok(out.sub(f.mul(inside)).abs().max().item() < 1e-3, 'inside the masks the features are unchanged');
  });
});

test('the nearest-neighbour loss is zero for identical images and smaller than L1 for a one-pixel shift', () => {
  torch.scope(() => {
    const a = torch.interpolate(torch.randn([2, 3, 8, 6]), { size: [32, 24], mode: 'bilinear' });
    assert.equal(nearestNeighbourLoss(a, a, 3).item(), 0);
    assert.equal(nearestNeighbourLoss(a, a, 5).item(), 0);
    const shifted = a.roll([1], [3]);
    const nn3 = nearestNeighbourLoss(shifted, a, 3).item();
    const l1 = torch.l1Loss(shifted, a).item() * 3; // channel-summed L1 per position, the n = 1 case
    assert.ok(Math.abs(nearestNeighbourLoss(shifted, a, 1).item() - l1) < 1e-5, 'n = 1 is the channel-summed L1');
    assert.ok(nn3 < l1 * 0.2, `NN ${nn3} much smaller than L1 ${l1}: only the wrapped column mismatches`);
    assert.ok(nn3 > 0);
    assert.throws(() => nearestNeighbourLoss(a, a, 2), /must be odd/);
  });
});

test('generator variants and the conditional D run on the tiny config with the right shapes', () => {
  const cfg = defganDefaults('tiny');
  const before = torch.memory().numTensors;
  for (const variant of ['baseline', 'dsc'] as const) {
    const g = new DefGanGenerator({ ...cfg.generator, variant });
    const d = new DefGanDiscriminator(42, cfg.discriminator.dim);
    try {
      torch.scope(() => {
        const x = {
          image: torch.randn([2, 3, 64, 64]), poseA: torch.rand([2, 18, 64, 64]), poseB: torch.rand([2, 18, 64, 64]),
          affines: identityAffines(2), masks: torch.ones([2, 10, 64, 64]),
        };
        const y = g.forward(x);
        assert.deepEqual(y.shape, [2, 3, 64, 64]);
        assert.ok(y.abs().max().item() <= 1, 'tanh output');
        assert.deepEqual(d.forward(x.image, x.poseA, y, x.poseB).shape, [2, 1], '64x64 gives one 70x70-style patch score');
        if (variant === 'dsc') assert.throws(() => g.forward({ ...x, affines: undefined }), /need the part affines/);
      });
    } finally {
      g.dispose();
      d.dispose();
    }
  }
  assert.equal(torch.memory().numTensors, before);
});

test('configs/defgan/<preset>.json resolve to the typed defaults', async () => {
  const { resolveModelConfig } = await import('../../../src/models/registry.js');
  for (const preset of PRESETS) {
    assert.deepEqual(resolveModelConfig({ file: `configs/defgan/${preset}.json` }), defganDefaults(preset), preset);
  }
  const df = defganDefaults('deepfashion');
  const m = defganDefaults('market');
  assert.deepEqual([df.loss.nnSize, m.loss.nnSize, df.loss.l1, df.data.batchSize, m.data.batchSize], [5, 3, 100, 2, 4]);
  assert.deepEqual(m.schedule, { unit: 'iterations', epochSize: 1000, stages: [{ name: 'main', epochs: 90, decayEpochs: 0 }] });
  assert.deepEqual(m.optim, { lr: 2e-4, beta1: 0.5, beta2: 0.999 });
});

test('parameterCounts (for `reposer models`) equals the built model’s modules, without needing VGG19', async () => {
  await import('../../../src/models/defgan/index.js');
  const { countParameters, getModel } = await import('../../../src/models/registry.js');
  const { DefGanModel } = await import('../../../src/models/defgan/index.js');
  const fam = getModel('defgan');
  const cfg = { ...defganDefaults('tiny'), variant: 'dsc' as const };
  const model = new DefGanModel(cfg);
  try {
    const built = Object.fromEntries([...model.modules()].map(([k, m]) => [k, m.numParameters()]));
    assert.deepEqual(countParameters(fam, cfg), built);
    const full = { ...cfg, variant: 'full' as const, loss: { ...cfg.loss, vgg: { weights: '/nonexistent.pth', layers: ['relu1_2'] } } };
    assert.deepEqual(countParameters(fam, full), built, "'full' has dsc's networks and counts without the VGG file");
  } finally {
    model.dispose();
  }
});

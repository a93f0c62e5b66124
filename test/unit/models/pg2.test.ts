import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../../src/torch/index.js';
import { Pg2G1, Pg2G2, buildPg2Networks, pg2Defaults, pg2Stage1Steps } from '../../../src/models/pg2/index.js';
import { poseMaskL1, pg2DiscriminatorLoss } from '../../../src/models/pg2/losses.js';
import { tfSamePadding } from '../../../src/models/pg2/tf-same-conv.js';
import { pg2TinyBatch } from '../../helpers/poses.js';
import { countParameters, getModel, PRESETS } from '../../../src/models/registry.js';
import { diskMaps } from '../../../src/pose/index.js';

// Counted from the official TF code (models.py / models256.py / wgan_gp_128x64.py) layer by layer; see
// docs/models-pg2-defgan.md. The figures are these rounded: 134.8 M, 76.9 M, 10.9 M, 4.3 M.
const OFFICIAL = {
  deepfashion: { g1: 122_103_235, g2: 12_696_067, d: 10_896_257, published: { g: 134.8e6, d: 10.9e6 } },
  market: { g1: 70_795_075, g2: 6_058_883, d: 4_324_737, published: { g: 76.9e6, d: 4.3e6 } },
} as const;

for (const preset of ['deepfashion', 'market'] as const) {
  test(`PG2 ${preset}: parameter counts equal the official code's`, () => {
    const { generator: g, discriminator: d } = buildPg2Networks(pg2Defaults(preset));
    try {
      const want = OFFICIAL[preset];
      assert.equal(g.g1.numParameters(), want.g1, 'G1');
      assert.equal(g.g2.numParameters(), want.g2, 'G2');
      assert.equal(d.numParameters(), want.d, 'D');
      const gm = g.numParameters();
      assert.ok(Math.abs(gm - want.published.g) / want.published.g < 0.005, `G1+G2 ${gm} within 0.5% of ${want.published.g}`);
      // The published D figures have 2-3 significant digits; they agree to the digits given.
      assert.equal((d.numParameters() / 1e6).toFixed(1), (want.published.d / 1e6).toFixed(1));
    } finally {
      g.dispose();
      d.dispose();
    }
  });
}

test("PATN's 437.09 M for PG2 is our DeepFashion G1 + G2 + D times 3 (weights plus Adam's two moments)", () => {
  const counts = countParameters(getModel('pg2'), pg2Defaults('deepfashion'));
  assert.equal(((Object.values(counts).reduce((a, b) => a + b, 0) * 3) / 1e6).toFixed(2), '437.09');
});

test('TF SAME padding puts the odd pixel at the bottom/right', () => {
  assert.deepEqual(tfSamePadding(128, 64, 3, 2), [0, 1, 0, 1]);
  assert.deepEqual(tfSamePadding(128, 64, 5, 2), [1, 2, 1, 2]);
  assert.deepEqual(tfSamePadding(9, 9, 3, 2), [1, 1, 1, 1]);
  assert.deepEqual(tfSamePadding(16, 8, 3, 1), [1, 1, 1, 1]);
  assert.deepEqual(tfSamePadding(16, 8, 1, 1), [0, 0, 0, 0]);
});

test('G1, G2 and D shapes on the tiny config; G2 on 128x64 leaves out the full-resolution skip', () => {
  const before = torch.memory().numTensors;
  const { generator: g, discriminator: d } = buildPg2Networks(pg2Defaults('tiny'));
  try {
    torch.scope(() => {
      const x = torch.randn([2, 3, 64, 32]);
      const p = torch.randn([2, 18, 64, 32]);
      const g1 = g.g1.forward(x, p);
      assert.deepEqual(g1.shape, [2, 3, 64, 32]);
      assert.deepEqual(g.g2.forward(g1, x).shape, [2, 3, 64, 32]);
      assert.deepEqual(g.forward(x, p).shape, [2, 3, 64, 32]);
      assert.deepEqual(d.forward(x).shape, [2]);
      assert.throws(() => g.g1.forward(torch.randn([1, 3, 32, 32]), torch.randn([1, 18, 32, 32])), /bottleneck map is 4x4, expected 8x4/);
    });
    // G2's first decoder level sees the deepest map (2n) plus its skip (2n); the last level has no skip.
    assert.deepEqual(g.g2.dec.at(0).conv1.weight.shape, [8, 32, 3, 3]);
    assert.deepEqual(g.g2.dec.at(1).conv1.weight.shape, [8, 8, 3, 3]);
  } finally {
    g.dispose();
    d.dispose();
  }
  assert.equal(torch.memory().numTensors, before);
  const all = new Pg2G2({ inChannels: 6, outChannels: 3, hidden: 8, repeatNum: 2, skips: 'all' });
  try {
    assert.deepEqual(all.dec.at(1).conv1.weight.shape, [8, 16, 3, 3], "'all' concatenates the full-resolution skip too");
  } finally {
    all.dispose();
  }
  const g1 = new Pg2G1({ inChannels: 21, outChannels: 3, hidden: 4, repeatNum: 2, zNum: 5, bottleneck: [2, 1] });
  try {
    assert.deepEqual(g1.fcEnc.weight.shape, [5, 2 * 1 * 8]);
    assert.deepEqual(g1.fcDec.weight.shape, [2 * 1 * 4, 5]);
  } finally {
    g1.dispose();
  }
});

test('pose-mask L1 averages |pred - target| * mask over every element; D loss weighs real 0.5, source 0.25, G2 0.25', () => {
  torch.scope(() => {
    const pred = torch.zeros([1, 3, 2, 2]);
    const target = torch.ones([1, 3, 2, 2]).mul(2);
    const mask = torch.tensor([1, 0, 0, 0], [1, 1, 2, 2]);
    assert.equal(poseMaskL1(pred, target, mask).item(), (3 * 2) / 12);
    const zero = torch.tensor([0, 0]);
    assert.ok(Math.abs(pg2DiscriminatorLoss(zero, zero, zero).item() - Math.log(2)) < 1e-6);
    // softplus(-x) on the real logits, softplus(x) on the fakes.
    const sp = (x: number): number => Math.log1p(Math.exp(x));
    const got = pg2DiscriminatorLoss(torch.tensor([1]), torch.tensor([2]), torch.tensor([-3])).item();
    assert.ok(Math.abs(got - (0.5 * sp(-1) + 0.25 * sp(2) + 0.25 * sp(-3))) < 1e-6, String(got));
  });
});

test("'pg2' is registered with its four presets and refuses mis-sized batches by name", async () => {
  await import('../../../src/models/pg2/index.js');
  const fam = getModel('pg2');
  assert.deepEqual(fam.defaults('market').image, { height: 128, width: 64 });
  const model = fam.create(fam.defaults('tiny'));
  try {
    torch.scope(() => {
      const batch = {
        imageA: torch.zeros([1, 3, 16, 16]), imageB: torch.zeros([1, 3, 16, 16]),
        keypointsA: torch.zeros([1, 18, 2]), keypointsB: torch.zeros([1, 18, 2]),
        poseMapA: torch.zeros([1, 18, 16, 16]), poseMapB: torch.zeros([1, 18, 16, 16]),
      };
      assert.throws(() => model.generate(batch), /batch\.imageA has shape \[1,3,16,16\], expected \(N,3,64,32\)/);
    });
  } finally {
    model.dispose();
  }
});

test('configs/pg2/<preset>.json resolve to the typed defaults (the files are the official settings, in sync)', async () => {
  const { resolveModelConfig } = await import('../../../src/models/registry.js');
  for (const preset of PRESETS) {
    const cfg = resolveModelConfig({ file: `configs/pg2/${preset}.json` });
    assert.deepEqual(cfg, pg2Defaults(preset), preset);
  }
  const m = pg2Defaults('market');
  const df = pg2Defaults('deepfashion');
  assert.deepEqual([m.loss.lambdaL1, df.loss.lambdaL1], [10, 50]);
  const steps = (c: typeof m): number => c.schedule.stages.reduce((a, s) => a + s.epochs, 0);
  assert.deepEqual([m.data.batchSize, df.data.batchSize, steps(m), steps(df), pg2Stage1Steps(m)], [16, 1, 60000, 80000, 22000]);
  assert.deepEqual([m.discriminator.seesG1, df.discriminator.seesG1], [true, false], "Market's D batch holds G1, DeepFashion's does not");
  assert.deepEqual(m.optim, { lr: 2e-5, beta1: 0.5, beta2: 0.999 });
});

test('parameterCounts (for `reposer models`) equals the built model’s modules', () => {
  const fam = getModel('pg2');
  const cfg = fam.defaults('tiny');
  const model = fam.create(cfg);
  try {
    const built = Object.fromEntries([...model.modules()].map(([k, m]) => [k, m.numParameters()]));
    assert.deepEqual(countParameters(fam, cfg), built);
  } finally {
    model.dispose();
  }
});

test('PG2 pose maps are solid disks of radius r around the truncated joint, empty for missing joints', () => {
  torch.scope(() => {
    const kp = torch.full([1, 18, 2], -1);
    kp.select(1, 3).copy_(torch.tensor([5.7, 3.2]));
    const maps = diskMaps(kp, [10, 8], 2);
    assert.deepEqual(maps.shape, [1, 18, 10, 8]);
    assert.equal(maps.select(1, 3).sum().item(), 13, 'the 13 pixels within distance 2');
    assert.equal(maps.select(1, 3).select(1, 5).select(1, 3).item(), 1, 'centred on (5, 3)');
    assert.equal(maps.select(1, 3).select(1, 7).select(1, 3).item(), 1);
    assert.equal(maps.select(1, 3).select(1, 8).select(1, 3).item(), 0);
    assert.equal(maps.sum().item(), 13, 'missing joints draw nothing');
  });
});

test("the training step lives in netG's state dict, so a restored checkpoint resumes in the right stage", async () => {
  const { Pg2Model } = await import('../../../src/models/pg2/index.js');
  const a = new Pg2Model(pg2Defaults('tiny'));
  const b = new Pg2Model(pg2Defaults('tiny'));
  assert.equal(a.stage1Steps, 4);
  try {
    torch.noGrad(() => a.generator.trainSteps.fill_(5));
    assert.equal(a.stage, 2);
    assert.equal(b.stage, 1);
    b.generator.loadStateDict(a.generator.stateDict());
    assert.equal(b.step, 5);
    assert.equal(b.stage, 2);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test("stage 2 runs G2's update, then D's, each on one D batch of [target, source, G1, G2] (Market) or [target, source, G2]", async () => {
  const { Pg2Model } = await import('../../../src/models/pg2/index.js');
  for (const seesG1 of [true, false]) {
    const cfg = pg2Defaults('tiny');
    cfg.discriminator.seesG1 = seesG1;
    cfg.schedule.stages = [{ name: 'G1', epochs: 0, decayEpochs: 0 }, { name: 'G2', epochs: 2, decayEpochs: 0 }];
    const model = new Pg2Model(cfg);
    const batch = pg2TinyBatch(2, [cfg.image.height, cfg.image.width]);
    const seen: number[] = [];
    const forward = model.discriminator.forward.bind(model.discriminator);
    model.discriminator.forward = (x: torch.Tensor): torch.Tensor => {
      seen.push(x.shape[0] as number);
      return forward(x);
    };
    let g2Steps = 0;
    const step = model.optG2.step.bind(model.optG2);
    model.optG2.step = (): void => { g2Steps++; step(); };
    const dStep = model.optD.step.bind(model.optD);
    model.optD.step = (): void => { assert.equal(g2Steps, 1, "G2's update comes first"); dStep(); };
    try {
      const losses = model.trainStep(batch);
      assert.ok('D' in losses && 'G2_GAN' in losses);
      assert.deepEqual(seen, seesG1 ? [8, 8] : [6, 6]);
    } finally {
      model.dispose();
      torch.dispose(batch);
    }
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import { getModel, PRESETS, resolveModelConfig } from '../../../src/models/index.js';
import { patnDefaults, type PATNConfig } from '../../../src/models/patn/config.js';
import { buildDiscriminators, buildGenerator } from '../../../src/models/patn/model.js';
import { makeVgg, VGG_WEIGHTS_KEY } from '../../../src/models/layers/vgg.js';
import { PATBlock, PATNGenerator } from '../../../src/models/patn/generator.js';
import { ImagePool, ganLoss } from '../../../src/models/patn/losses.js';
import { resolveConfig } from '../../../src/models/config.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

// Official figures (running models/networks.py of tengteng95/Pose-Transfer): G 41.36 M (DeepFashion, instance norm,
// conv biases) and 41.37 M (Market, batch norm, no conv biases); D_PB 3.98 M and D_PP 3.93 M (DeepFashion).
function within(actual: number, millions: number, what: string): void {
  const rel = Math.abs(actual / 1e6 - millions) / millions;
  assert.ok(rel <= 0.005, `${what}: ${(actual / 1e6).toFixed(3)} M is not within 0.5% of the official ${millions} M`);
}

test('PATN parameter counts equal the official figures within 0.5%', () => {
  for (const [preset, gM] of [['deepfashion', 41.36], ['market', 41.37]] as const) {
    const cfg = patnDefaults(preset);
    const g = buildGenerator(cfg);
    const ds = buildDiscriminators(cfg);
    try {
      within(g.numParameters(), gM, `${preset} generator`);
      if (preset === 'deepfashion') {
        within((ds.get('shape') as torch.nn.Module).numParameters(), 3.98, 'shape discriminator D_PB');
        within((ds.get('appearance') as torch.nn.Module).numParameters(), 3.93, 'appearance discriminator D_PP');
      }
    } finally {
      g.dispose();
      for (const d of ds.values()) d.dispose();
    }
  }
  // Exact counts worked out by hand from the official layer list (see docs/models.md).
  const g = buildGenerator(patnDefaults('deepfashion'));
  assert.equal(g.numParameters(), 41_358_019);
  g.dispose();
});

test('PATB attention masks lie in [0,1] and the block has the documented shapes', () => {
  torch.manualSeed(1);
  const n0 = torch.memory().numTensors;
  const g = new PATNGenerator({ ngf: 4, nBlocks: 3, nDownsampling: 2, norm: 'batch', dropout: true, imageChannels: 3, poseChannels: 18 });
  torch.scope(() => {
    // Large inputs push the logits far from 0, where a wrong squashing would leave [0,1].
    const img = torch.randn([2, 3, 16, 8]).mul(50);
    const pose = torch.randn([2, 36, 16, 8]).mul(50);
    const { image, attention } = g.forwardWithAttention(img, pose);
    assert.deepEqual(image.shape, [2, 3, 16, 8]);
    assert.equal(attention.length, 3);
    for (const a of attention) {
      assert.deepEqual(a.shape, [2, 16, 4, 2]);
      assert.ok(a.min().item() >= 0 && a.max().item() <= 1, 'attention outside [0,1]');
    }
    assert.ok(image.abs().max().item() <= 1, 'tanh output outside [-1,1]');
    const b = new PATBlock(4, true, 'instance', false);
    const [next, poseNext, att] = b.forward(torch.randn([1, 4, 3, 3]), torch.randn([1, 8, 3, 3]));
    assert.deepEqual([next.shape, poseNext.shape, att.shape], [[1, 4, 3, 3], [1, 8, 3, 3], [1, 4, 3, 3]]);
    b.dispose();
  });
  g.dispose();
  assert.equal(torch.memory().numTensors, n0);
});

test('a zero attention mask leaves the image code unchanged (the gate really gates)', () => {
  const b = new PATBlock(4, false, 'instance', false);
  torch.scope(() => {
    // poseConv2 weight 0, bias -1e4: logits -1e4, sigmoid 0, so next = image exactly.
    torch.noGrad(() => {
      b.poseConv2.weight.zero_();
      b.poseConv2.bias?.fill_(-1e4);
    });
    const x = torch.randn([1, 4, 5, 5]);
    const [next, , att] = b.forward(x, torch.randn([1, 4, 5, 5]));
    assert.equal(att.max().item(), 0);
    assert.ok(next.sub(x).abs().max().item() === 0);
  });
  b.dispose();
});

test('generator rejects inputs of the wrong shape with a message naming them', () => {
  const g = buildGenerator(patnDefaults('tiny'));
  torch.scope(() => {
    assert.throws(() => g.forward(torch.zeros([1, 3, 32, 16]), torch.zeros([1, 18, 32, 16])), /poses must be \(1,36,32,16\)/);
    assert.throws(() => g.forward(torch.zeros([1, 3, 30, 16]), torch.zeros([1, 36, 30, 16])), /divisible by 4/);
  });
  g.dispose();
});

test('GAN losses: LSGAN is MSE to the label, BCE is on logits', () => {
  torch.scope(() => {
    const s = torch.tensor([0, 2], [2]);
    assert.ok(Math.abs(ganLoss('lsgan', s, true).item() - (1 + 1) / 2) < 1e-6);
    assert.ok(Math.abs(ganLoss('lsgan', s, false).item() - (0 + 4) / 2) < 1e-6);
    const bce = (Math.log(2) + Math.log(1 + Math.exp(-2))) / 2;
    assert.ok(Math.abs(ganLoss('bce', s, true).item() - bce) < 1e-6);
  });
});

test('ImagePool returns stored history once full and keeps its size', () => {
  torch.manualSeed(3);
  const pool = new ImagePool(2);
  torch.scope(() => {
    const a = torch.full([2, 1, 1, 1], 1);
    assert.deepEqual(pool.query(a).data(), new Float32Array([1, 1]));
    let sawOld = false;
    for (let i = 0; i < 20; i++) {
      const out = pool.query(torch.full([2, 1, 1, 1], 2 + i)).data();
      if ([...out].some((v) => v < 2 + i)) sawOld = true;
      assert.equal(pool.length, 2);
    }
    assert.ok(sawOld, 'a full pool never returned a stored sample');
  });
  pool.dispose();
});

test('config files configs/patn/*.json resolve to the typed defaults, with the official values', () => {
  for (const preset of PRESETS) {
    const cfg = resolveModelConfig({ file: join(root, 'configs', 'patn', `${preset}.json`) }) as PATNConfig;
    assert.deepEqual(cfg, patnDefaults(preset), preset);
  }
  const df = patnDefaults('deepfashion');
  const mk = patnDefaults('market');
  assert.deepEqual([df.generator.norm, df.loss.gan, df.data.batchSize, df.discriminator.poolSize, df.loss.lambdaL1], ['instance', 'lsgan', 7, 0, 1]);
  assert.deepEqual([mk.generator.norm, mk.loss.gan, mk.data.batchSize, mk.discriminator.poolSize, mk.loss.lambdaL1], ['batch', 'bce', 32, 50, 10]);
  assert.deepEqual([df.data.pose, mk.data.pose], [{ kind: 'peak' }, { kind: 'gaussian', sigma: 6 }], "DeepFashion's official maps are uint8 peaks");
  for (const c of [df, mk]) {
    assert.deepEqual(c.schedule, { unit: 'pairs', epochSize: 4000, stages: [{ name: 'main', epochs: 500, decayEpochs: 200 }] });
    assert.deepEqual([c.optim.lr, c.optim.beta1, c.loss.lambdaGAN, c.generator.nBlocks], [2e-4, 0.5, 5, 9]);
  }
  assert.throws(() => resolveConfig(df, { sets: ['generator.nblocks=3'] }), /unknown key 'generator\.nblocks'/);
  assert.equal(getModel('patn').defaults('market').preset, 'market');
});

test('a missing VGG19 file stops with an error naming the file and the config key', () => {
  const cfg = resolveConfig(patnDefaults('tiny'), { sets: ['loss.vgg.weights=/nonexistent/vgg19.pth'] });
  assert.throws(() => makeVgg(cfg.loss.vgg), (e: Error) => e.message.includes('/nonexistent/vgg19.pth') && e.message.includes(VGG_WEIGHTS_KEY));
  assert.throws(() => getModel('patn').create(cfg), /loss\.vgg\.weights/);
});

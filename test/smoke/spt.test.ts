// SPT trains a few steps of each stage (semantic, appearance, joint) on synthetic pairs with parsing maps, for each
// variant: every loss stays finite, the semantic cross-entropy and the appearance generator's loss fall, and no
// tensor leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { SptModel, sptDefaults, type SptConfig, type SptVariant } from '../../src/models/spt/index.js';
import { sptSynthBatch } from '../helpers/spt-batch.js';

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const STEPS = 4;

function config(variant: SptVariant): SptConfig {
  const cfg = sptDefaults('tiny');
  cfg.variant = variant;
  cfg.schedule.stages = [
    { name: 'semantic', epochs: STEPS, decayEpochs: 0 },
    { name: 'appearance', epochs: STEPS, decayEpochs: 0 },
    { name: 'joint', epochs: 2, decayEpochs: 0 },
  ];
  return cfg;
}

// 'ts-pred' differs from 'e2e' only in the joint stage (G_S frozen), which the contract test steps into.
for (const variant of ['e2e', 'ts-gt'] as SptVariant[]) {
  test(`SPT tiny '${variant}': each stage trains, S_CE and G fall, no leaks`, async () => {
    torch.manualSeed(0);
    const cfg = config(variant);
    const model = new SptModel(cfg);
    const batch = await sptSynthBatch(2, [cfg.image.height, cfg.image.width], 3);
    try {
      const log: { stage: string; l: Record<string, number> }[] = [];
      const live: Record<string, number> = {};
      for (let i = 0; i < 2 * STEPS + 2; i++) {
        const stage = model.stage;
        const l = model.trainStep(batch);
        for (const [k, v] of Object.entries(l)) assert.ok(Number.isFinite(v), `${stage} ${k} = ${v}`);
        log.push({ stage, l });
        // Optimiser state appears on a stage's first step; from the second on, the count must hold.
        if (i === 1 || i === STEPS + 1) live[stage] = torch.memory().numTensors;
        if (i === STEPS - 1 || i === 2 * STEPS - 1) assert.equal(torch.memory().numTensors, live[stage], `${stage} steps leave no tensors behind`);
      }
      assert.deepEqual([...new Set(log.map((e) => e.stage))], ['semantic', 'appearance', 'joint']);
      const ce = log.filter((e) => e.stage === 'semantic').map((e) => e.l.S_CE as number);
      assert.ok(mean(ce.slice(-2)) < (ce[0] as number), `S_CE falls: ${ce.map((v) => v.toFixed(3)).join(' ')}`);
      const g = log.filter((e) => e.stage === 'appearance').map((e) => e.l.G as number);
      assert.ok(mean(g.slice(-2)) < (g[0] as number), `G falls: ${g.map((v) => v.toFixed(3)).join(' ')}`);
      const joint = log.filter((e) => e.stage === 'joint')[0]?.l ?? {};
      assert.equal('S_CE' in joint, variant === 'e2e', 'only e2e trains G_S in the joint stage');
      const before = torch.memory().numTensors;
      const out = model.generate(batch);
      const again = model.generate(batch);
      assert.deepEqual(out.shape, [2, 3, cfg.image.height, cfg.image.width]);
      assert.ok(torch.scope(() => out.equal(again)), 'generate runs in eval mode: deterministic');
      const parsing = model.predictParsing(batch);
      assert.deepEqual(parsing.shape, [2, cfg.image.height, cfg.image.width]);
      torch.dispose([out, again, parsing]);
      assert.equal(torch.memory().numTensors, before, 'generate leaves nothing but its result');
    } finally {
      model.dispose();
      torch.dispose(batch);
    }
  });
}

test('a batch without parsing maps is an error naming the parsing folder', async () => {
  const cfg = config('e2e');
  const model = new SptModel(cfg);
  const batch = await sptSynthBatch(1, [cfg.image.height, cfg.image.width], 4);
  const { parsingA, ...rest } = batch;
  try {
    assert.throws(() => model.trainStep(rest), /no parsingA.*parsing folder/s);
    const gt = new SptModel({ ...cfg, variant: 'ts-gt' });
    try {
      assert.throws(() => gt.generate({ ...batch, parsingB: undefined }), /ts-gt.*no parsingB/s);
    } finally {
      gt.dispose();
    }
  } finally {
    model.dispose();
    torch.dispose([parsingA as torch.Tensor, ...Object.values(rest).filter((v): v is torch.Tensor => v instanceof torch.Tensor)]);
  }
});

test('a missing VGG16 weights file stops naming the file, the URL and the config key', () => {
  const cfg = config('e2e');
  cfg.loss.vgg.weights = '/nonexistent/vgg16-397923af.pth';
  assert.throws(() => new SptModel(cfg), /VGG16 weights not found at '\/nonexistent\/vgg16-397923af\.pth'.*vgg16-397923af\.pth.*loss\.vgg\.weights/s);
});

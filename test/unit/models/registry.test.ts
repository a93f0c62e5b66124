import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../../src/torch/index.js';
import {
  getModel, listModels, registerModel, resolveModelConfig, lossValue, countParameters, PRESETS,
} from '../../../src/models/index.js';
import { listModelsWithCounts } from '../../../src/cli/models.js';

test('families register by name; unknown names and duplicates are errors', () => {
  assert.equal(getModel('patn').name, 'patn');
  assert.ok(listModels().some((f) => f.name === 'patn'));
  assert.throws(() => getModel('nope'), /unknown model 'nope'. Registered models: .*patn/);
  assert.throws(() => registerModel({ ...getModel('patn') }), /already registered/);
});

test('every family gives typed defaults for every preset, naming itself and the preset', () => {
  for (const f of listModels()) {
    for (const p of PRESETS) {
      const cfg = f.defaults(p);
      assert.equal(cfg.model, f.name, `${f.name}/${p} model key`);
      assert.equal(cfg.preset, p, `${f.name}/${p} preset key`);
    }
  }
});

test('resolveModelConfig layers preset defaults, a file and --set; model and preset may come from the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reg-'));
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ model: 'patn', preset: 'market', data: { batchSize: 3 } }));
  const cfg = resolveModelConfig({ file, sets: ['optim.lr=1e-3'] });
  assert.equal(cfg.preset, 'market');
  assert.equal(cfg.data.batchSize, 3);
  assert.equal(cfg.optim.lr, 1e-3);
  assert.deepEqual(cfg.data.pose, { kind: 'gaussian', sigma: 6 }, 'market default kept');
  const viaSet = resolveModelConfig({ model: 'patn', sets: ['preset=tiny'] });
  assert.equal(viaSet.image.height, 32);
  assert.throws(() => resolveModelConfig({ sets: ['optim.lr=1'] }), /no model named/);
  assert.throws(() => resolveModelConfig({ model: 'patn', preset: 'huge' as never }), /unknown preset "huge"/);
  assert.throws(() => resolveModelConfig({ model: 'patn', sets: ['optim.lrG=1'] }), /unknown key 'optim\.lrG'/);
  // A section with a "kind" takes another kind whole; within a kind, keys merge as usual.
  const disks = resolveModelConfig({ model: 'patn', preset: 'market', sets: ['data.pose={"kind":"disks","radius":3}'] });
  assert.deepEqual(disks.data.pose, { kind: 'disks', radius: 3 });
  assert.throws(() => resolveModelConfig({ model: 'patn', preset: 'market', sets: ['data.pose.radius=3'] }), /unknown key 'data\.pose\.radius'/);
  writeFileSync(file, JSON.stringify({ model: 'patn', preset: 'market' }));
  assert.throws(() => resolveModelConfig({ model: 'patn', preset: 'tiny', file }), /preset/);
});

test('lossValue returns finite values and names a NaN or infinite loss', () => {
  torch.scope(() => {
    assert.equal(lossValue('fam', 'L1', torch.tensor([0.5], [])), 0.5);
    assert.throws(() => lossValue('fam', 'G_GAN', torch.tensor([Number.NaN], [])), /fam: loss 'G_GAN' is NaN/);
    assert.throws(() => lossValue('fam', 'D', torch.tensor([Number.POSITIVE_INFINITY], [])), /loss 'D' is Infinity/);
  });
});

test('reposer models lists each family with per-preset parameter counts', () => {
  const listing = listModelsWithCounts();
  const patn = listing.find((m) => m.name === 'patn');
  assert.ok(patn);
  assert.equal(patn.configs.market.netG, 41_365_763);
  assert.equal(patn.configs.deepfashion.netD_PB, 3_975_424);
});

test("every family's parameterCounts (no VGG, no optimisers) equals the modules of the model create() builds", () => {
  for (const family of listModels()) {
    const cfg = family.defaults('tiny');
    const model = family.create(cfg);
    try {
      const built = Object.fromEntries([...model.modules()].map(([k, m]) => [k, m.numParameters()]));
      assert.deepEqual(countParameters(family, cfg), built, family.name);
    } finally {
      model.dispose();
    }
  }
});

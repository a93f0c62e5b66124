// The package as a library user sees it: every family and its typed config through the package's own exports,
// without casts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { torch as torchNs, models as modelsNs } from 'reposer';
import * as torch from 'reposer/torch';
import { patn, pg2, defgan, getModel, loaderOptions, type FamilyConfig } from 'reposer/models';
import { PairLoader } from 'reposer/data';
import { poseMaps } from 'reposer/pose';
import { Rng } from 'reposer/synth';

test('the package exports reach every family with its typed config', () => {
  const p: patn.PATNConfig = patn.patnDefaults('market');
  const g: pg2.Pg2Config = pg2.pg2Defaults('market');
  const d: defgan.DefGanConfig = defgan.defganDefaults('market');
  assert.equal(p.generator.nBlocks, 9);
  assert.equal(g.discriminator.seesG1, true);
  assert.equal(d.loss.nnSize, 3);
  const common: FamilyConfig[] = [p, g, d];
  for (const c of common) assert.ok(getModel(c.model).defaults(c.preset));
  const options = loaderOptions(getModel('pg2'), g, { seed: 1 });
  assert.deepEqual(options.masks, ['pg2']);
  assert.equal(typeof PairLoader, 'function');
  assert.equal(torchNs, torch);
  assert.equal(modelsNs.patn, patn);
  torch.scope(() => {
    const maps = poseMaps(torch.full([1, 18, 2], -1), [4, 4], { kind: 'peak' });
    assert.equal(maps.sum().item(), 0);
  });
  assert.ok(new Rng(1).next() < 1);
});
